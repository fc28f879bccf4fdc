"""The central service's counters: ingest outcomes by reason, set-aside messages, relay
outcomes and SIAK latency, told through `broker.observe` and exposed by `CentreMetrics`."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from anjungan import topics
from anjungan.packet.model import CaptureBody, Demographics, PriorityClass
from broker.fleet.metrics import CentreMetrics
from broker.gateway import Gateway
from broker.ingest import Inbound
from broker.queue import EntryState, Envelope, open_queue
from broker.relay import Relay, RelayConfig
from broker.service import CentralService, ServiceConfig
from broker.siak.access import SiakAccess
from broker.siak.client import SiakClient
from broker.siak.ledger import Ledger
from broker.siak.sim import SiakSimulator, SimConfig, SimServer
from provisioning.bundle import KioskBundle
from provisioning.fleet import load_gateway_key
from tests.broker.kit import RecordingNotifier, make_fleet, packet_bytes
from tests.waiting import wait_until

R = PriorityClass.ROUTINE


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, KioskBundle]]:
    return make_fleet(tmp_path_factory.mktemp("metrics"))


def scrape(metrics: CentreMetrics) -> dict[str, float]:
    registry = CollectorRegistry()
    metrics.register(registry)
    out = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_ingest_outcomes_and_set_aside_messages_are_counted(fleet) -> None:
    root, bundles = fleet
    metrics = CentreMetrics()
    service = CentralService(ServiceConfig(fleet_dir=root, db_url="memory://", mqtt_url="mqtts://127.0.0.1:1",
                                           siak_access=SiakAccess(insecure_http=True),
                                           siak_url="http://127.0.0.1:1"), observer=metrics)
    cap = topics.topic("kiosk-01", "capture")
    _pid, raw = packet_bytes(bundles["kiosk-01"], 1)
    forged = bytearray(packet_bytes(bundles["kiosk-01"], 2)[1])
    forged[-5] ^= 1  # a flipped signature byte
    service._dispatch([Inbound(topic=cap, payload=raw, token=1), Inbound(topic=cap, payload=raw, token=2),
                       Inbound(topic=cap, payload=b"\x01garbage", token=3),
                       Inbound(topic=cap, payload=bytes(forged), token=4),
                       Inbound(topic="some/other/topic", payload=raw, token=5)])
    service._set_aside(Inbound(topic=cap, payload=raw, token=6), RuntimeError("boom"))
    service.queue.close()
    got = scrape(metrics)
    rejected = {k: v for k, v in got.items() if k.startswith('anjungan_ingest_messages_total{outcome="rejected"')}
    assert got['anjungan_ingest_messages_total{outcome="accepted",reason=""}'] == 1
    assert got['anjungan_ingest_messages_total{outcome="duplicate",reason=""}'] == 1
    assert got['anjungan_ingest_messages_total{outcome="skipped",reason=""}'] == 1
    assert sum(rejected.values()) == 2 and len(rejected) == 2, rejected  # undecodable, bad signature: by reason
    assert got['anjungan_ingest_set_aside_total{kind="capture"}'] == 1


def test_relay_outcomes_and_siak_latency_are_counted(fleet) -> None:
    root, bundles = fleet
    bundle = bundles["kiosk-01"]
    metrics = CentreMetrics()
    queue = open_queue("memory://")
    good = [packet_bytes(bundle, seq) for seq in range(1, 4)]
    refused = packet_bytes(bundle, 4, body=CaptureBody(demographics=Demographics(nik="0000")))
    for seq, (pid, raw) in enumerate([*good, refused], 1):
        queue.enqueue([Envelope(packet_id=pid, kiosk_id=bundle.kiosk_id, sequence=seq, priority=R,
                                captured_at=0.0, packet=raw)], now=0.0)
    queue.enqueue([Envelope(packet_id=str(uuid.uuid4()), kiosk_id=bundle.kiosk_id, sequence=5, priority=R,
                            captured_at=0.0, packet=b"not a packet")], now=0.0)
    cfg = RelayConfig(workers=2, rate_rps=400.0, lease_s=5.0, backoff_base_s=0.05, backoff_cap_s=0.1,
                      breaker_threshold=100, idle_s=0.01, status_poll_s=0.0)
    sim_cfg = SimConfig(capacity_rps=500.0, concurrency=8, latency_s=0.005)
    with SimServer(SiakSimulator(sim_cfg, Ledger(bio_after_s=0.0, print_after_s=0.0))) as sim:
        httpx.post(sim.url + "/_sim/faults", json={"down": True})
        relay = Relay(queue, Gateway(load_gateway_key(root)), SiakClient(sim.url, timeout_s=2.0, observer=metrics),
                      RecordingNotifier(), cfg, observer=metrics)
        relay.start()
        try:
            assert wait_until(lambda: scrape(metrics).get('anjungan_relay_packets_total{outcome="retried"}', 0) >= 2)
            httpx.post(sim.url + "/_sim/faults", json={"down": False})
            assert wait_until(lambda: len(queue.entries(state=EntryState.ACCEPTED)) == 3
                              and len(queue.entries(state=EntryState.DEAD)) == 2)
        finally:
            relay.stop()
    got = scrape(metrics)
    assert got['anjungan_relay_packets_total{outcome="sent"}'] == 3
    assert got['anjungan_relay_packets_total{outcome="dead_lettered"}'] == 2  # SIAK's 422 and the unopenable
    assert got['anjungan_siak_call_seconds_count{operation="submit",outcome="ok"}'] == 3
    assert got['anjungan_siak_call_seconds_count{operation="submit",outcome="rejected"}'] == 1
    unavailable = got['anjungan_siak_call_seconds_count{operation="submit",outcome="unavailable"}']
    assert unavailable >= 2 and unavailable == got['anjungan_relay_packets_total{outcome="retried"}']
    assert got['anjungan_siak_call_seconds_bucket{le="+Inf",operation="submit",outcome="ok"}'] == 3
    assert got['anjungan_siak_call_seconds_sum{operation="submit",outcome="ok"}'] > 0
