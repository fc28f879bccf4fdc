"""Strict decoding: one encoding per packet, finite times, bounded JSON — each refusal a
one-line error of the contract's own type, never another exception."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from anjungan.messages import (
    Ack,
    Feedback,
    FeedbackAck,
    Health,
    HelpAck,
    HelpRequest,
    KioskStatus,
    MessageError,
    PacketStatus,
    StatusQuery,
    StatusReply,
    decode_ack_topic,
)
from anjungan.packet import decode_packet
from anjungan.packet.model import PacketError
from broker.queue import Rejection, open_queue
from broker.queue.model import REJECTIONS_KEPT
from provisioning.bundle import KioskBundle
from tests.broker.kit import make_fleet, packet_bytes
from tests.security.poison import JSON_POISON, captures

MESSAGES = (Ack, PacketStatus, FeedbackAck, StatusQuery, StatusReply, KioskStatus, Health, Feedback,
            HelpRequest, HelpAck)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> KioskBundle:
    _fleet, bundles = make_fleet(tmp_path_factory.mktemp("fleet"), ("kiosk-02",))
    return bundles["kiosk-02"]


def test_every_poison_capture_is_refused_as_a_packet_error(bundle: KioskBundle) -> None:
    reasons = {}
    for name, raw in captures(bundle, 10).items():
        with pytest.raises(PacketError) as err:
            decode_packet(raw)
        assert "\n" not in str(err.value)
        reasons[name] = err.value.reason
    assert reasons["nan_time"] == reasons["inf_time"] == reasons["minus_inf_time"] == "malformed"
    for name in ("trailing_bytes", "duplicate_key", "indefinite_length"):
        assert reasons[name] == "not_canonical", name
    assert reasons["truncated"] == "truncated"
    assert reasons["oversize"] == "too_large"


def test_a_canonical_packet_still_decodes(bundle: KioskBundle) -> None:
    pid, raw = packet_bytes(bundle, 1)
    packet = decode_packet(raw)
    assert packet.packet_id == pid and math.isfinite(packet.header.created_at)


@pytest.mark.parametrize("name", sorted(JSON_POISON))
@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.TYPE)
def test_json_poison_is_a_message_error_for_every_message(message: type, name: str) -> None:
    with pytest.raises(MessageError) as err:
        message.from_json(JSON_POISON[name])
    assert "\n" not in str(err.value) and len(str(err.value)) < 200


@pytest.mark.parametrize("name", sorted(JSON_POISON))
def test_the_kiosk_ack_topic_decoder_refuses_json_poison(name: str) -> None:
    with pytest.raises(MessageError):
        decode_ack_topic(JSON_POISON[name])


def test_nesting_inside_strings_does_not_count() -> None:
    text = "[" * 5000  # brackets inside a string are text, not structure
    msg = Feedback.from_json(Feedback(kiosk_id="kiosk-02", feedback_id="f1", at=1.0, category="x",
                                      text=text[:2000]).to_json())
    assert msg.text == text[:2000]


def test_messages_still_round_trip() -> None:
    h = Health(kiosk_id="kiosk-02", session_id="s", at=1.5, peripherals={"printer": {"ok": True}})
    assert Health.from_json(h.to_json()) == h


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_rejections_past_the_cap_are_counted_not_stored(url: str, tmp_path: Path) -> None:
    q = open_queue(f"sqlite://{tmp_path / 'q.db'}" if url == "sqlite" else url)
    for i in range(5_000):
        q.reject(Rejection(kiosk_id="kiosk-02", packet_id="", reason="malformed", at=float(i)))
    q.reject(Rejection(kiosk_id="kiosk-01", packet_id="p", reason="bad_signature", at=9e3))
    rows = q.rejections(limit=10_000)
    q.close()
    mine = [r for r in rows if r.kiosk_id == "kiosk-02"]
    assert len(mine) == REJECTIONS_KEPT
    assert sum(r.repeats for r in mine) == 5_000
    assert mine[0].at == 4999.0 and mine[0].repeats == 5_000 - REJECTIONS_KEPT + 1
    assert rows[0].kiosk_id == "kiosk-01"  # newest first; another kiosk is never folded in


def test_the_centre_s_databases_are_private(tmp_path: Path) -> None:
    import os
    import stat

    from broker.fleet.store import open_store

    centre = tmp_path / "centre"
    q = open_queue(f"sqlite://{centre / 'queue.db'}")
    q.reject(Rejection(kiosk_id="kiosk-02", packet_id="", reason="malformed", at=1.0))
    s = open_store(f"sqlite://{centre / 'fleet-health.db'}")
    mode = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in centre.iterdir()}
    q.close()
    s.close()
    assert stat.S_IMODE(os.stat(centre).st_mode) == 0o700
    for name in ("queue.db", "queue.db-wal", "fleet-health.db"):
        assert mode[name] == 0o600, (name, oct(mode[name]))
