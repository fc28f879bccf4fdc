"""`broker backup` while packets are ingested and relayed, then `broker restore`: every
packet committed before the backup is in it, and every body it names reads back whole."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from anjungan.messages import SiakState
from anjungan.packet.model import PriorityClass
from broker import backup as bk
from broker.errors import QueueError
from broker.queue import EntryState, Envelope, open_queue
from broker.queue.model import PacketQueue
from broker.queue.sqlite import SqliteQueue
from entrypoints.cli import main

R = PriorityClass.ROUTINE


def envelope(seq: int) -> Envelope:
    return Envelope(packet_id=str(uuid.uuid4()), kiosk_id="kiosk-01", sequence=seq, priority=R,
                    captured_at=0.0, packet=os.urandom(2000 + seq % 7 * 1000))


def drain(queue: PacketQueue) -> dict[str, bytes]:
    """Lease every waiting packet, as the relay would after a restore: id -> body. Past the
    live relay's 60 s leases: a packet it held at the snapshot is pending again by then."""
    leases = queue.lease(owner="t", now=time.time() + 120, lease_s=60, limit=1_000_000)
    return {lease.packet_id: lease.packet for lease in leases}


def test_backup_while_ingesting_and_relaying_then_restore(tmp_path: Path, capsys) -> None:
    url = f"sqlite://{tmp_path / 'live' / 'queue.db'}"
    live = open_queue(url)
    bodies: dict[str, bytes] = {}
    committed: list[str] = []
    stop = threading.Event()

    def ingest() -> None:
        seq = 0
        while not stop.is_set():
            batch = [envelope(seq + i) for i in range(1, 5)]
            seq += 4
            live.enqueue(live.stage(batch), now=time.time())
            bodies.update({e.packet_id: e.packet for e in batch})
            committed.extend(e.packet_id for e in batch)  # after the commit returned

    def relay() -> None:  # SIAK accepts: the row drops its body, the body is shredded
        while not stop.is_set():
            for lease in live.lease(owner="relay", now=time.time(), lease_s=60, limit=3):
                live.accept(lease.packet_id, now=time.time(), siak_state=SiakState.SENT_FOR_ENROLLMENT)
            time.sleep(0.002)

    threads = [threading.Thread(target=ingest), threading.Thread(target=relay)]
    for t in threads:
        t.start()
    try:
        while len(committed) < 200:
            time.sleep(0.01)
        before = list(committed)
        assert main(["broker", "backup", "--db", url, "--out", str(tmp_path / "backup")]) == 0
        assert "backed up" in capsys.readouterr().out
        while len(committed) < len(before) + 100:  # it went on meanwhile
            time.sleep(0.01)
        assert main(["broker", "restore", "--from", str(tmp_path / "backup"), "--db", url, "--replace"]) == 1
        assert "is in use: stop `broker run` first" in capsys.readouterr().err
    finally:
        stop.set()
        for t in threads:
            t.join()
        live.close()
    assert oct((tmp_path / "backup" / "queue.db").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "backup" / "queue.db-bodies").stat().st_mode & 0o777) == "0o700"

    restored_url = f"sqlite://{tmp_path / 'restored' / 'queue.db'}"
    assert main(["broker", "restore", "--from", str(tmp_path / "backup"), "--db", restored_url]) == 0
    assert "restored" in capsys.readouterr().out
    restored = open_queue(restored_url)
    try:
        stored = {e.packet_id: e for e in restored.entries()}
        assert set(before) <= set(stored)  # nothing committed before the backup is missing
        waiting = {pid for pid, e in stored.items() if e.state is EntryState.PENDING}
        leased = drain(restored)
        assert set(leased) == waiting and all(leased[pid] == bodies[pid] for pid in waiting)
        assert restored.entries(state=EntryState.DEAD) == []  # no row lost its body
    finally:
        restored.close()
    assert main(["broker", "restore", "--from", str(tmp_path / "backup"), "--db", restored_url]) == 1
    assert "give --replace" in capsys.readouterr().err


def test_a_body_shredded_after_the_snapshot_takes_a_second_round(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "live" / "queue.db"
    live = open_queue(f"sqlite://{db}")
    assert isinstance(live, SqliteQueue)
    batch = [envelope(i) for i in range(1, 6)]
    live.enqueue(live.stage(batch), now=0.0)
    snapshot, rounds = bk._snapshot, []

    def then_relay(source: Path, target: Path) -> None:
        snapshot(source, target)
        rounds.append(target)
        if len(rounds) == 1:  # SIAK accepts one right after the first snapshot: its body goes
            lease = live.lease(owner="relay", now=1.0, lease_s=60)[0]
            live.accept(lease.packet_id, now=1.0, siak_state=SiakState.SENT_FOR_ENROLLMENT)

    monkeypatch.setattr(bk, "_snapshot", then_relay)
    report = bk.backup(db, tmp_path / "backup")
    live.close()
    assert (report.rounds, report.packets, report.bodies) == (2, 5, 4)
    assert len(list((tmp_path / "backup" / "queue.db-bodies").iterdir())) == 4
    bk.restore(tmp_path / "backup", tmp_path / "restored" / "queue.db")
    restored = open_queue(f"sqlite://{tmp_path / 'restored' / 'queue.db'}")
    try:
        assert len(drain(restored)) == 4 and restored.entries(state=EntryState.DEAD) == []
    finally:
        restored.close()


def test_a_damaged_backup_and_a_postgres_queue_are_refused(tmp_path: Path, capsys) -> None:
    live = open_queue(f"sqlite://{tmp_path / 'queue.db'}")
    live.enqueue(live.stage([envelope(1)]), now=0.0)
    live.close()
    bk.backup(tmp_path / "queue.db", tmp_path / "backup")
    body = next((tmp_path / "backup" / "queue.db-bodies").iterdir())
    body.write_bytes(b"\0" * body.stat().st_size)
    with pytest.raises(QueueError, match="the backup is damaged"):
        bk.restore(tmp_path / "backup", tmp_path / "restored" / "queue.db")
    assert not (tmp_path / "restored").exists()
    with pytest.raises(QueueError, match="is not empty"):
        bk.backup(tmp_path / "queue.db", tmp_path / "backup")
    assert main(["broker", "backup", "--db", "postgresql:///anjungan", "--out", str(tmp_path / "b2")]) == 2
    assert "pg_dump" in capsys.readouterr().err
