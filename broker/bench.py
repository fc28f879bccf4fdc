"""`anjungan bench ingest` and `anjungan bench drain` (ratios, not absolute times).

ingest: the same realistic packets (synthetic bodies of e-KTP size) go through the same
  private Mosquitto (TLS, client certificates) twice: raw QoS 1 publish -> subscribe, then
  through the central service's verify + durable SQLite commit + application ack, counted
  at the kiosk when the ack arrives. `ratio` = durable / raw packets per second.
drain: a backlog is built while the SIAK simulator is down, then SIAK comes back; the
  relay drains it. `efficiency` = achieved relay rate / the simulator's capacity, from the
  release to the last acceptance; `p95_wait_by_class` = p95 of capture -> SIAK acceptance.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from anjungan import topics
from anjungan.packet.model import PriorityClass
from anjungan.topics import TopicKind
from broker.benchkit import bench_client, bench_fleet, bench_packets
from broker.errors import BrokerError


def register(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("ingest", help="durable ingest vs raw MQTT throughput (ratio)")
    p.add_argument("--packets", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_ingest)
    d = bench_sub.add_parser("drain", help="backlog drain after a SIAK outage (efficiency)")
    d.add_argument("--packets", type=int, default=150)
    d.add_argument("--capacity", type=float, default=20.0, help="simulator requests/s")
    d.add_argument("--concurrency", type=int, default=4, help="simulator concurrency = workers")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=run_drain)


def _publish_and_count(kiosk: mqtt.Client, topic: str, payloads: list[bytes],
                       done: threading.Event) -> float:
    t0 = time.perf_counter()
    for raw in payloads:
        kiosk.publish(topic, raw, qos=1)
    if not done.wait(300):
        raise BrokerError("bench: messages did not all arrive")
    return time.perf_counter() - t0


def measure_ingest(n: int) -> dict[str, Any]:
    from broker.ingest import Ingest
    from broker.mqtt import CentreMqtt, MqttSettings, share_group
    from broker.queue import open_queue
    from broker.trust import TrustSource
    from provisioning.broker_process import BrokerProcess, free_port
    from provisioning.fleet import centre_tls, open_fleet
    from provisioning.mosquitto import write_config

    with tempfile.TemporaryDirectory(prefix="anjungan-bench-") as tmp:
        root = Path(tmp)
        fleet_dir, bundle = bench_fleet(root)
        port = free_port()
        mosq = BrokerProcess(write_config(open_fleet(fleet_dir), root / "mq", port=port,
                                          persistence=False), port).start()
        try:
            packets = bench_packets(bundle, n)
            payloads = [raw for _p, _c, raw in packets]
            tls = centre_tls(fleet_dir)
            kiosk, _ = bench_client("kiosk-bench", port, bundle.ca_file, bundle.cert_file, bundle.key_file)
            capture = topics.topic("kiosk-bench", TopicKind.CAPTURE)

            # raw: publish -> subscribe, QoS 1, same payloads, same broker
            got, raw_done = [0], threading.Event()

            def on_raw(_c: object, _u: object, _m: object) -> None:
                got[0] += 1
                if got[0] >= n:
                    raw_done.set()

            sub, _ = bench_client("anjungan-centre-raw", port, tls.ca_file, tls.cert_file, tls.key_file)
            sub.on_message = on_raw
            sub.subscribe(topics.subscription(TopicKind.CAPTURE), qos=1)
            time.sleep(0.3)
            raw_s = _publish_and_count(kiosk, capture, payloads, raw_done)
            sub.disconnect()
            sub.loop_stop()

            # durable: verify + SQLite commit (WAL, synchronous=FULL) + ack, counted at the kiosk
            queue = open_queue(f"sqlite://{root / 'queue.db'}")
            ingest = Ingest(queue, TrustSource(fleet_dir), clock=time.time)
            group = share_group(open_fleet(fleet_dir).path("gateway.key").read_bytes())
            centre = CentreMqtt(MqttSettings(url=f"mqtts://127.0.0.1:{port}", ca_file=tls.ca_file,
                                             cert_file=tls.cert_file, key_file=tls.key_file,
                                             share_group=group),
                                ingest.process, prepare=ingest.prepare)
            centre.start()
            if not centre.connected.wait(10):
                raise BrokerError("bench: the service could not connect")
            acks, ack_done = [0], threading.Event()

            def on_ack(_c: object, _u: object, _m: object) -> None:
                acks[0] += 1
                if acks[0] >= n:
                    ack_done.set()

            kiosk.on_message = on_ack
            kiosk.subscribe(topics.topic("kiosk-bench", TopicKind.ACK), qos=1)
            time.sleep(0.3)
            durable_s = _publish_and_count(kiosk, capture, payloads, ack_done)
            stored = len(queue.entries())
            centre.stop()
            queue.close()
            kiosk.disconnect()
            kiosk.loop_stop()
        finally:
            mosq.stop()
    size = sum(len(p) for p in payloads) / n
    return {
        "packets": n, "mean_packet_bytes": round(size), "stored": stored,
        "raw_per_s": round(n / raw_s, 1), "durable_per_s": round(n / durable_s, 1),
        "ratio": round(raw_s / durable_s, 3),
    }


def measure_drain(n: int, capacity: float, concurrency: int) -> dict[str, Any]:
    import httpx

    from broker.gateway import Gateway
    from broker.queue import EntryState, Envelope, open_queue
    from broker.relay import Relay, RelayConfig
    from broker.siak.client import SiakClient
    from broker.siak.ledger import Ledger
    from broker.siak.sim import SiakSimulator, SimConfig, SimServer
    from broker.stats import percentile
    from provisioning.fleet import load_gateway_key

    class _Quiet:
        def notify(self, kiosk_id: str, message: object) -> None:
            pass

    with tempfile.TemporaryDirectory(prefix="anjungan-bench-") as tmp:
        root = Path(tmp)
        fleet_dir, bundle = bench_fleet(root)
        sim_cfg = SimConfig(capacity_rps=capacity, concurrency=concurrency, latency_s=0.02, down=True)
        with SimServer(SiakSimulator(sim_cfg, Ledger())) as sim:
            queue = open_queue(f"sqlite://{root / 'queue.db'}")
            cfg = RelayConfig(workers=concurrency, rate_rps=capacity, lease_s=30.0,
                              backoff_base_s=0.1, backoff_cap_s=0.5, breaker_threshold=3,
                              breaker_cooldown_s=0.2, status_poll_s=0.0)
            relay = Relay(queue, Gateway(load_gateway_key(fleet_dir)),
                          SiakClient(sim.url, max_connections=concurrency + 2), _Quiet(), cfg)
            relay.start()
            for pid, prio, raw in bench_packets(bundle, n):  # captured and committed during the outage
                now = time.time()
                queue.enqueue([Envelope(packet_id=pid, kiosk_id="kiosk-bench", sequence=int(
                    len(queue.entries()) + 1), priority=prio, captured_at=now, packet=raw)], now=now)
            time.sleep(1.0)
            released = time.time()
            httpx.post(sim.url + "/_sim/faults", json={"down": False}).raise_for_status()
            deadline = time.monotonic() + 600
            while len(queue.entries(state=EntryState.ACCEPTED)) < n and time.monotonic() < deadline:
                time.sleep(0.1)
            relay.stop()
            done = queue.entries(state=EntryState.ACCEPTED)
            ledger = httpx.get(sim.url + "/_sim/accepted").json()
            accepted_keys = [a["idempotency_key"] for a in ledger["accepted"]]
            queue.close()
    if len(done) < n:
        raise BrokerError(f"bench: only {len(done)} of {n} relayed")
    last = max(e.accepted_at or 0.0 for e in done)
    first = min(e.accepted_at or 0.0 for e in done)
    rate = n / (last - released)
    waits: dict[str, float] = {}
    for cls in PriorityClass:
        v = [(e.accepted_at or 0.0) - e.captured_at for e in done if e.priority is cls]
        waits[cls.label] = round(percentile(v, 95), 3)
    return {
        "packets": n, "capacity_rps": capacity, "concurrency": concurrency,
        "achieved_rps": round(rate, 2), "efficiency": round(rate / capacity, 3),
        "steady_efficiency": round((n - 1) / (last - first) / capacity, 3),
        "exactly_once": sorted(accepted_keys) == sorted(e.packet_id for e in done),
        "siak_answers": ledger["counts"],
        "p95_wait_by_class": waits,
    }


def run_ingest(args: argparse.Namespace) -> int:
    from broker.bench_poison import measure_poison_stall

    result = measure_ingest(max(10, args.packets))
    result.update(measure_poison_stall(max(20, args.packets // 2), result["durable_per_s"]))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"ingest: {result['packets']} packets of ~{result['mean_packet_bytes']} bytes; raw "
              f"{result['raw_per_s']}/s, durable {result['durable_per_s']}/s, ratio {result['ratio']}")
        print(f"poison: a valid packet waited at most {result['poison_stall_s']} s behind "
              f"{result['poison_messages']} poison messages (normal p99 {result['normal_p99_s']} s)")
    return 0


def run_drain(args: argparse.Namespace) -> int:
    result = measure_drain(max(10, args.packets), args.capacity, max(1, args.concurrency))
    if args.json:
        print(json.dumps(result))
    else:
        waits = ", ".join(f"{k} {v}s" for k, v in result["p95_wait_by_class"].items())
        print(f"drain: {result['packets']} packets at capacity {result['capacity_rps']}/s: "
              f"{result['achieved_rps']}/s, efficiency {result['efficiency']}; p95 wait {waits}")
    return 0
