"""Ingest decisions without a broker: topics, sizes, garbage, verification, replay."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from anjungan import topics
from anjungan.messages import AckOutcome
from broker.ingest import Inbound, Ingest
from broker.queue import Admission, open_queue
from provisioning.bundle import KioskBundle
from provisioning.fleet import load_trust
from tests.broker.kit import make_fleet, packet_bytes


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, KioskBundle]]:
    return make_fleet(tmp_path_factory.mktemp("ingest"))


def cap(kid: str) -> str:
    return topics.topic(kid, "capture")


def test_every_kind_of_input_gets_its_outcome(fleet) -> None:
    root, bundles = fleet
    q = open_queue("memory://")
    trust = load_trust(root)
    ingest = Ingest(q, lambda: trust, clock=time.time)
    pid, raw = packet_bytes(bundles["kiosk-01"], 1)
    batch = [
        Inbound(topic=cap("kiosk-01"), payload=raw, token=1),
        Inbound(topic=cap("kiosk-01"), payload=raw, token=2),  # duplicate in the same batch
        Inbound(topic="some/other/topic", payload=raw, token=3),
        Inbound(topic=topics.topic("kiosk-01", "health"), payload=b"{}", token=4),
        Inbound(topic=cap("kiosk-01"), payload=b"\x01\x02garbage", token=5),
        Inbound(topic=cap("kiosk-01"), payload=b"\0" * (9 * 1024 * 1024), token=6),
        Inbound(topic=cap("kiosk-02"), payload=packet_bytes(bundles["kiosk-01"], 2)[1], token=7),
    ]
    out = {o.token: o for o in ingest.process(batch)}
    assert sorted(out) == [1, 2, 3, 4, 5, 6, 7]  # every message is settled, none crashes
    assert (out[1].admission, out[1].ack.outcome) == (Admission.NEW, AckOutcome.ACCEPTED)  # type: ignore[union-attr]
    assert (out[2].admission, out[2].ack.outcome) == (Admission.DUPLICATE, AckOutcome.DUPLICATE)  # type: ignore[union-attr]
    assert (out[3].ack, out[4].ack, out[5].ack, out[6].ack) == (None, None, None, None)
    assert (out[5].reason, out[6].reason) == ("malformed", "too_large")
    assert out[7].ack is not None and out[7].ack.reason == "topic_mismatch"
    assert [e.packet_id for e in q.entries()] == [pid]
    assert sorted(r.reason for r in q.rejections()) == ["malformed", "too_large", "topic_mismatch"]


def test_stale_resend_of_a_committed_packet_is_still_a_duplicate(fleet) -> None:
    root, bundles = fleet
    q = open_queue("memory://")
    trust = load_trust(root)
    pid, raw = packet_bytes(bundles["kiosk-01"], 1)
    clock = [0.0]
    import time

    clock[0] = time.time()
    ingest = Ingest(q, lambda: trust, clock=lambda: clock[0], window_s=100.0)
    assert ingest.process([Inbound(topic=cap("kiosk-01"), payload=raw)])[0].admission is Admission.NEW
    clock[0] += 1000.0
    again = ingest.process([Inbound(topic=cap("kiosk-01"), payload=raw)])[0]
    assert again.ack is not None and again.ack.outcome is AckOutcome.DUPLICATE
    fresh_pid, fresh = packet_bytes(bundles["kiosk-02"], 1, now=clock[0] - 200.0)  # older than the window
    stale = ingest.process([Inbound(topic=cap("kiosk-02"), payload=fresh)])[0]
    assert stale.ack is not None and (stale.ack.outcome, stale.ack.reason) == (AckOutcome.REJECTED, "stale")
