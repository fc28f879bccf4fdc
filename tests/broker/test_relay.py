"""Relay workers against the real simulator over HTTP, with a real fleet's gateway key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anjungan.messages import PacketStatus, SiakState
from anjungan.packet.model import PriorityClass
from broker.gateway import Gateway
from broker.queue import EntryState, Envelope, open_queue
from broker.queue.model import PacketQueue
from broker.relay import Relay, RelayConfig
from broker.siak.client import SiakClient
from broker.siak.ledger import Ledger
from broker.siak.sim import SiakSimulator, SimConfig, SimServer
from provisioning.bundle import KioskBundle
from provisioning.fleet import load_gateway_key
from tests.broker.kit import RecordingNotifier, make_fleet, packet_bytes
from tests.waiting import wait_until

V, F, R = PriorityClass.VULNERABLE, PriorityClass.FIRST_RECORDING, PriorityClass.ROUTINE
FAST = RelayConfig(workers=4, rate_rps=400.0, lease_s=5.0, backoff_base_s=0.05,
                   backoff_cap_s=0.3, breaker_threshold=3, breaker_cooldown_s=0.3,
                   idle_s=0.01, status_poll_s=0.0)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, KioskBundle]]:
    return make_fleet(tmp_path_factory.mktemp("relay"))


@pytest.fixture
def sim() -> Iterator[SimServer]:
    cfg = SimConfig(capacity_rps=500.0, concurrency=8, latency_s=0.005)
    with SimServer(SiakSimulator(cfg, Ledger(bio_after_s=0.0, print_after_s=0.0))) as server:
        yield server


def fill(queue: PacketQueue, bundle: KioskBundle, n: int, prio: PriorityClass = R,
         start: int = 1, now: float = 0.0) -> list[str]:
    ids = []
    for seq in range(start, start + n):
        pid, raw = packet_bytes(bundle, seq, priority=prio)
        queue.enqueue([Envelope(packet_id=pid, kiosk_id=bundle.kiosk_id, sequence=seq,
                                priority=prio, captured_at=now, packet=raw)], now=now)
        ids.append(pid)
    return ids


def accepted(sim: SimServer) -> dict:
    return httpx.get(sim.url + "/_sim/accepted").json()


def relay_for(fleet: tuple[Path, dict], sim: SimServer, queue: PacketQueue,
              cfg: RelayConfig = FAST) -> tuple[Relay, RecordingNotifier]:
    notifier = RecordingNotifier()
    relay = Relay(queue, Gateway(load_gateway_key(fleet[0])), SiakClient(sim.url, timeout_s=2.0),
                  notifier, cfg)
    return relay, notifier


def test_relays_every_packet_once_and_tells_the_kiosk(fleet, sim) -> None:
    queue = open_queue("memory://")
    ids = fill(queue, fleet[1]["kiosk-01"], 20)
    relay, notifier = relay_for(fleet, sim, queue)
    relay.start()
    try:
        assert wait_until(lambda: len(queue.entries(state=EntryState.ACCEPTED)) == 20)
    finally:
        relay.stop()
    got = accepted(sim)
    assert sorted(a["idempotency_key"] for a in got["accepted"]) == sorted(ids)
    statuses = [m for _k, m in notifier.sent if isinstance(m, PacketStatus)]
    assert sorted(m.packet_id for m in statuses) == sorted(ids)
    assert {m.state for m in statuses} == {SiakState.SENT_FOR_ENROLLMENT}
    assert all(k == "kiosk-01" for k, _m in notifier.sent)


def test_outage_opens_the_breaker_then_everything_drains(fleet, sim) -> None:
    httpx.post(sim.url + "/_sim/faults", json={"down": True})
    queue = open_queue("memory://")
    ids = fill(queue, fleet[1]["kiosk-01"], 15)
    relay, _n = relay_for(fleet, sim, queue)
    relay.start()
    try:
        assert wait_until(lambda: relay.breaker.state.value == "open", timeout=10)
        # open, the relay sends only the breaker's probes (their pacing, one per cool-down, is
        # pinned with an injected clock in test_policy.py): SIAK sees calls, nothing is lost
        before = accepted(sim)["counts"].get("503", 0)
        assert wait_until(lambda: accepted(sim)["counts"].get("503", 0) > before, timeout=10)
        assert len(queue.entries(state=EntryState.PENDING)) == 15
        httpx.post(sim.url + "/_sim/faults", json={"down": False})
        assert wait_until(lambda: len(queue.entries(state=EntryState.ACCEPTED)) == 15)
    finally:
        relay.stop()
    assert sorted(a["idempotency_key"] for a in accepted(sim)["accepted"]) == sorted(ids)


def test_permanent_rejection_goes_to_dead_letters(fleet, sim) -> None:
    queue = open_queue("memory://")
    bundle = fleet[1]["kiosk-01"]
    from anjungan.packet.model import CaptureBody, Demographics

    pid, raw = packet_bytes(bundle, 1, body=CaptureBody(demographics=Demographics(nik="0000")))
    queue.enqueue([Envelope(packet_id=pid, kiosk_id=bundle.kiosk_id, sequence=1, priority=R,
                            captured_at=0.0, packet=raw)], now=0.0)
    queue.enqueue([Envelope(packet_id=str(uuid.uuid4()), kiosk_id=bundle.kiosk_id, sequence=2,
                            priority=R, captured_at=0.0, packet=b"not a packet")], now=0.0)
    relay, _n = relay_for(fleet, sim, queue)
    relay.start()
    try:
        assert wait_until(lambda: len(queue.entries(state=EntryState.DEAD)) == 2)
    finally:
        relay.stop()
    reasons = sorted(e.reason for e in queue.entries(state=EntryState.DEAD))
    assert reasons == ["SIAK 422: NIK must have 16 digits, got 4", "gateway: truncated"]
    assert accepted(sim)["accepted"] == []


def test_flapping_slow_and_rate_limited_siak_still_gets_each_packet_once(fleet, sim) -> None:
    httpx.post(sim.url + "/_sim/faults", json={
        "rate_429": 0.2, "rate_5xx": 0.2, "rate_timeout": 0.1, "timeout_hold_s": 2.5,
        "rate_slow": 0.1, "slow_s": 0.2,
    })
    queue = open_queue("memory://")
    ids = fill(queue, fleet[1]["kiosk-01"], 30)
    cfg = RelayConfig(**{**FAST.__dict__, "lease_s": 4.0})
    relay, _n = relay_for(fleet, sim, queue, cfg)
    relay.siak = SiakClient(sim.url, timeout_s=1.0)
    relay.start()
    try:
        assert wait_until(lambda: len(queue.entries(state=EntryState.ACCEPTED)) == 30, timeout=60)
    finally:
        relay.stop()
    got = accepted(sim)
    keys = [a["idempotency_key"] for a in got["accepted"]]
    assert sorted(keys) == sorted(ids) and len(set(keys)) == len(keys)


def test_higher_classes_first_after_an_outage(fleet, sim) -> None:
    queue = open_queue("memory://")
    b = fleet[1]["kiosk-02"]
    routine = fill(queue, b, 10, R, start=1)
    first = fill(queue, b, 10, F, start=11)
    vulnerable = fill(queue, b, 10, V, start=21)
    cfg = RelayConfig(**{**FAST.__dict__, "workers": 1})
    relay, _n = relay_for(fleet, sim, queue, cfg)
    relay.start()
    try:
        assert wait_until(lambda: len(queue.entries(state=EntryState.ACCEPTED)) == 30)
    finally:
        relay.stop()
    order = [a["idempotency_key"] for a in accepted(sim)["accepted"]]
    cls = {**dict.fromkeys(vulnerable, 0), **dict.fromkeys(first, 1), **dict.fromkeys(routine, 2)}
    assert [cls[k] for k in order] == [0] * 10 + [1] * 10 + [2] * 10


def test_status_poller_follows_enrollment_to_print_ready(fleet, sim) -> None:
    queue = open_queue("memory://")
    ids = fill(queue, fleet[1]["kiosk-01"], 3)
    relay, notifier = relay_for(fleet, sim, queue)
    relay.start()
    try:
        assert wait_until(lambda: len(queue.entries(state=EntryState.ACCEPTED)) == 3)
    finally:
        relay.stop()
    assert relay.poll_status_once() == 3
    assert [e.siak_state for e in queue.entries()] == [SiakState.PRINT_READY] * 3
    ready = [m.packet_id for _k, m in notifier.sent
             if isinstance(m, PacketStatus) and m.state is SiakState.PRINT_READY]
    assert sorted(ready) == sorted(ids)


class _BrokenGateway(Gateway):
    """A gateway with a bug: every packet makes it raise something unforeseen."""

    def submission(self, packet_bytes: bytes):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug")


def test_a_packet_our_own_code_keeps_failing_on_is_parked_not_retried_forever(fleet, sim) -> None:
    queue = open_queue("memory://")
    (pid,) = fill(queue, fleet[1]["kiosk-01"], 1)
    relay = Relay(queue, _BrokenGateway(load_gateway_key(fleet[0])), SiakClient(sim.url, timeout_s=2.0),
                  RecordingNotifier(), FAST)
    relay.start()
    try:
        assert wait_until(lambda: len(queue.entries(state=EntryState.DEAD)) == 1, timeout=30)
    finally:
        relay.stop()
    (dead,) = queue.entries(state=EntryState.DEAD)
    assert (dead.packet_id, dead.reason) == (pid, "relay failure: RuntimeError")
    assert accepted(sim)["accepted"] == []
