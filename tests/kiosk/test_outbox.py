"""The outbox, SQLite and its in-memory twin: durable order, re-send, ack, shred."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from anjungan.messages import AckOutcome
from anjungan.packet import decode_packet, open_body, verify_packet
from anjungan.packet.model import PriorityClass
from kiosk.errors import OutboxError
from kiosk.outbox import MemoryOutbox, Outbox, OutboxEntry, SqliteOutbox
from kiosk.submit import SealingKeys, seal_and_store
from provisioning.fleet import load_gateway_key, load_trust
from tests.kiosk.helpers import ELDER_NIK, NOW, YOUTH_NIK, Driver
from tests.kiosk.test_flow import through_capture, to_consent


def entry(seq: int, prio: int, data: bytes = b"sealed") -> OutboxEntry:
    return OutboxEntry(sequence=seq, packet_id=f"00000000-0000-7000-8000-{seq:012d}",
                       priority=prio, created_at=NOW + seq, data=data)


@pytest.fixture(params=["sqlite", "memory"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    box: Outbox = SqliteOutbox(tmp_path / "outbox.db") if request.param == "sqlite" else MemoryOutbox()
    yield box
    box.close()


def test_sequence_is_monotonic(outbox: Outbox) -> None:
    assert [outbox.reserve_sequence() for _ in range(3)] == [1, 2, 3]


def test_sequence_survives_reopen(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.db")
    box.reserve_sequence(), box.reserve_sequence()
    box.close()
    box = SqliteOutbox(tmp_path / "o.db")
    assert box.reserve_sequence() == 3


def test_due_is_priority_first_then_oldest_and_resends_after_timeout(outbox: Outbox) -> None:
    for seq, prio in [(1, 2), (2, 1), (3, 0), (4, 2), (5, 0)]:
        outbox.store(entry(seq, prio), ticket=f"t{seq}")
    assert [e.sequence for e in outbox.due(NOW, resend_after_s=30)] == [3, 5, 2, 1, 4]
    assert [e.sequence for e in outbox.due(NOW, resend_after_s=30, limit=2)] == [3, 5]
    outbox.mark_sent(entry(3, 0).packet_id, NOW)
    assert [e.sequence for e in outbox.due(NOW + 10, resend_after_s=30)] == [5, 2, 1, 4]
    assert [e.sequence for e in outbox.due(NOW + 30, resend_after_s=30)] == [3, 5, 2, 1, 4]
    outbox.mark_sent(entry(5, 0).packet_id, NOW)
    outbox.mark_all_unsent()  # after a reconnect, everything goes again at once
    assert len(outbox.due(NOW + 1, resend_after_s=30)) == 5
    assert outbox.pending()[0].attempts == 1


def test_ack_shreds_rejected_stays_and_tickets_follow(outbox: Outbox) -> None:
    for seq in (1, 2, 3):
        outbox.store(entry(seq, 1), ticket=f"t{seq}")
    assert outbox.ticket_state("t1") == "PENDING"
    assert outbox.ack(entry(1, 1).packet_id, AckOutcome.ACCEPTED, NOW)
    assert outbox.ack(entry(2, 1).packet_id, AckOutcome.DUPLICATE, NOW)
    assert outbox.ack(entry(3, 1).packet_id, AckOutcome.REJECTED, NOW, "bad_chain")
    assert not outbox.ack(entry(1, 1).packet_id, AckOutcome.ACCEPTED, NOW)  # already gone
    assert (outbox.depth(), outbox.due(NOW, resend_after_s=0)) == (0, [])
    assert [outbox.ticket_state(t) for t in ("t1", "t2", "t3", "nope")] == ["QUEUED", "QUEUED", "REJECTED", None]
    outbox.set_ticket_state(entry(1, 1).packet_id, "PRINT_READY", NOW)
    assert outbox.ticket_state("t1") == "PRINT_READY"


def test_depth_oldest_and_messages(outbox: Outbox) -> None:
    assert (outbox.depth(), outbox.oldest_created_at()) == (0, None)
    outbox.store(entry(2, 1), ticket="a")
    outbox.store(entry(1, 2), ticket="b")
    assert (outbox.depth(), outbox.oldest_created_at()) == (2, NOW + 1)
    m1 = outbox.add_message("feedback", b"{}", NOW)
    m2 = outbox.add_message("feedback", b"[]", NOW)
    assert [m.payload for m in outbox.messages()] == [b"{}", b"[]"]
    outbox.remove_message(m1)
    assert [m.id for m in outbox.messages()] == [m2]


def test_duplicate_store_is_refused(outbox: Outbox) -> None:
    outbox.store(entry(1, 1), ticket="a")
    with pytest.raises(OutboxError):
        outbox.store(entry(1, 1), ticket="a")


def test_shred_leaves_no_sealed_bytes_in_the_files(tmp_path: Path) -> None:
    marker = bytes(range(256)) * 64  # 16 KiB, spans overflow pages
    box = SqliteOutbox(tmp_path / "o.db")
    box.store(entry(1, 1, marker), ticket="a")
    box.store(entry(2, 1, b"other"), ticket="b")
    files = [tmp_path / "o.db", tmp_path / "o.db-wal"]
    assert any(marker[:1000] in f.read_bytes() for f in files if f.exists())
    box.ack(entry(1, 1).packet_id, AckOutcome.ACCEPTED, NOW)
    for f in files:
        if f.exists():
            assert marker[:64] not in f.read_bytes(), f.name
    box.close()


def test_unopenable_outbox_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(OutboxError, match="cannot open outbox"):
        SqliteOutbox(tmp_path / "dir.db")


def test_sealed_packet_in_outbox_verifies_and_opens_at_the_gateway(
    tmp_path: Path, keys: SealingKeys, fleet_dir: Path
) -> None:
    d = Driver()
    to_consent(d, nik=ELDER_NIK)
    through_capture(d)
    box = SqliteOutbox(tmp_path / "o.db")
    receipt = seal_and_store(d.flow.session, keys=keys, outbox=box, now=NOW)
    assert receipt.priority is PriorityClass.VULNERABLE  # age 76
    (stored,) = box.pending()
    raw = sqlite3.connect(tmp_path / "o.db").execute("SELECT data FROM outbox").fetchone()[0]
    assert ELDER_NIK.encode() not in raw  # sealed at rest
    packet = decode_packet(stored.data)
    header = verify_packet(packet, load_trust(fleet_dir), now=NOW)
    assert (header.sequence, header.kiosk_id, header.priority) == (1, "kiosk-01", PriorityClass.VULNERABLE)
    body = open_body(packet, load_gateway_key(fleet_dir))
    assert body.demographics.nik == ELDER_NIK and len(body.biometrics) == 14
    assert box.ticket_state(receipt.ticket) == "PENDING"


def test_first_recording_of_a_17_year_old_is_first_recording_priority(
    keys: SealingKeys,
) -> None:
    d = Driver()
    to_consent(d, nik=YOUTH_NIK)
    through_capture(d)
    receipt = seal_and_store(d.flow.session, keys=keys, outbox=MemoryOutbox(), now=NOW)
    assert receipt.priority is PriorityClass.FIRST_RECORDING


def test_append_is_one_transaction_a_failed_build_takes_nothing(outbox: Outbox) -> None:
    def boom(seq: int) -> tuple[OutboxEntry, str]:
        raise ValueError("sealing failed")

    with pytest.raises(ValueError):
        outbox.append(boom)
    if isinstance(outbox, SqliteOutbox):  # the sequence went back with the rollback
        assert outbox.append(lambda seq: (entry(seq, 1), f"t{seq}")).sequence == 1
    assert outbox.depth() in (0, 1) and outbox.ticket_state("t1") in (None, "PENDING")
