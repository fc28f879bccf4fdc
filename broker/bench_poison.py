"""`anjungan bench ingest`'s poison stage: how long does a valid capture wait behind poison?

The real central service (`CentralService`, its MQTT shell and handlers; the relay is not
started) on a private Mosquitto. One kiosk sends valid captures at a steady pace, half the
durable rate measured just before; twice: once alone (the normal latency, capture publish
to application ack), once while a second enrolled kiosk, with its own valid certificate and
signing key, sends poison between them: signed packets with NaN and infinite times,
trailing bytes, duplicate keys, truncated and oversize CBOR, JSON nested 30,000 deep, and
a capture that makes a handler raise (an unforeseen bug, injected). `poison_stall_s` is
the longest any valid packet waited in the poison run; the goal is the normal p99.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import cbor2

from anjungan import topics
from anjungan.messages import Ack, AckOutcome, MessageError, decode_ack_topic
from anjungan.packet.codec import MAX_PACKET_BYTES
from anjungan.packet.seal import SIGNATURE_DOMAIN
from anjungan.topics import TopicKind
from broker.errors import BrokerError
from broker.ingest import Inbound, Outcome

BUG = b"\xffBUG"  # a payload the injected handler bug trips over


def _resigned(bundle: Any, raw: bytes, **changes: object) -> bytes:
    import hashlib

    outer = cbor2.loads(raw)
    header = {**cbor2.loads(outer["h"]), **changes}
    h = cbor2.dumps(header, canonical=True)
    sig = bundle.identity.private_key.sign(SIGNATURE_DOMAIN + h + hashlib.sha256(outer["c"]).digest())
    return bytes(cbor2.dumps({**outer, "h": h, "s": sig}, canonical=True))


def poison_set(bundle: Any, packets: list[bytes]) -> list[tuple[TopicKind, bytes]]:
    """(topic kind, payload) poison from an enrolled kiosk, made from its own real packets."""
    a, b, c, d = packets[:4]
    return [
        (TopicKind.CAPTURE, _resigned(bundle, a, created_at=float("nan"))),
        (TopicKind.CAPTURE, _resigned(bundle, b, created_at=float("inf"))),
        (TopicKind.CAPTURE, c + b"trailing"),
        (TopicKind.CAPTURE, d[: len(d) // 2]),
        (TopicKind.CAPTURE, b"\xa4" + b"\x00" * (MAX_PACKET_BYTES + 1)),
        (TopicKind.CAPTURE, BUG),
        (TopicKind.QUERY, b"[" * 30_000 + b"]" * 30_000),
        (TopicKind.QUERY, b'{"type":"status_query","query_id":"q","packet_id":NaN}'),
    ]


def _latencies(kiosk: Any, topic: str, packets: list[tuple[str, Any, bytes]], rate: float,
               acked: dict[str, float], between: list[tuple[TopicKind, bytes]], attacker: Any,
               attacker_id: str) -> list[float]:
    sent: dict[str, float] = {}
    every = max(1, len(packets) // max(1, len(between))) if between else 0
    queue = list(between)
    for i, (pid, _prio, raw) in enumerate(packets):
        sent[pid] = time.perf_counter()
        kiosk.publish(topic, raw, qos=1)
        if queue and i % every == 0:
            kind, payload = queue.pop(0)
            attacker.publish(topics.topic(attacker_id, kind), payload, qos=1)
        time.sleep(1.0 / rate)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(p in acked for p in sent):
        time.sleep(0.02)
    if not all(p in acked for p in sent):
        raise BrokerError("bench: valid captures were not all acked behind the poison")
    return [acked[p] - sent[p] for p in sent]


def measure_poison_stall(n: int, durable_per_s: float) -> dict[str, Any]:
    import tempfile

    from broker.benchkit import bench_client, bench_fleet, bench_packets
    from broker.service import CentralService, ServiceConfig
    from provisioning.broker_process import BrokerProcess, free_port
    from provisioning.bundle import complete, load_bundle, request
    from provisioning.fleet import open_fleet
    from provisioning.mosquitto import write_config

    with tempfile.TemporaryDirectory(prefix="anjungan-bench-poison-") as tmp:
        root = Path(tmp)
        fleet_dir, bundle = bench_fleet(root)
        request(root / "kiosk-poison", "kiosk-poison")
        complete(open_fleet(fleet_dir), root / "kiosk-poison")
        evil = load_bundle(root / "kiosk-poison")
        port = free_port()
        mosq = BrokerProcess(write_config(open_fleet(fleet_dir), root / "mq", port=port,
                                          persistence=False), port).start()
        service = None
        try:
            service = CentralService(ServiceConfig(fleet_dir=fleet_dir, db_url=f"sqlite://{root / 'q.db'}",
                                                   mqtt_url=f"mqtts://127.0.0.1:{port}"))
            capture = service.handlers[TopicKind.CAPTURE]

            def buggy(batch: list[Inbound]) -> list[Outcome]:
                if any(m.payload == BUG for m in batch):
                    raise RuntimeError("injected handler bug")
                return capture(batch)

            service.handlers[TopicKind.CAPTURE] = buggy
            service.transport.start()
            if not service.transport.connected.wait(10):
                raise BrokerError("bench: the service could not connect")
            acked: dict[str, float] = {}

            def on_ack(_c: object, _u: object, m: Any) -> None:
                try:
                    msg = decode_ack_topic(m.payload)
                except MessageError:
                    return
                if isinstance(msg, Ack) and msg.outcome is AckOutcome.ACCEPTED:
                    acked.setdefault(msg.packet_id, time.perf_counter())

            kiosk, _ = bench_client("kiosk-bench", port, bundle.ca_file, bundle.cert_file, bundle.key_file)
            attacker, _ = bench_client("kiosk-poison", port, evil.ca_file, evil.cert_file, evil.key_file)
            kiosk.on_message = on_ack
            kiosk.subscribe(topics.topic("kiosk-bench", TopicKind.ACK), qos=1)
            time.sleep(0.3)
            topic = topics.topic("kiosk-bench", TopicKind.CAPTURE)
            rate = max(2.0, durable_per_s / 2)
            clean = _latencies(kiosk, topic, bench_packets(bundle, n), rate, acked, [], attacker, "")
            poison = poison_set(evil, [raw for _p, _c, raw in bench_packets(evil, 4)])
            dirty = _latencies(kiosk, topic, bench_packets(bundle, n, start=n + 1), rate, acked,
                               poison, attacker, "kiosk-poison")
            set_aside = len([r for r in service.queue.rejections(limit=1000) if r.kiosk_id == "kiosk-poison"])
            for c in (kiosk, attacker):
                c.disconnect()
                c.loop_stop()
        finally:
            if service is not None:
                service.transport.stop()
                service.queue.close()
            mosq.stop()
    p99 = _p99(clean)
    return {
        "poison_messages": len(poison), "poison_captures_set_aside": set_aside,
        "normal_p99_s": round(p99, 4), "normal_max_s": round(max(clean), 4),
        "poison_p99_s": round(_p99(dirty), 4),
        "poison_stall_s": round(max(dirty), 4), "pace_per_s": round(rate, 1),
        "poison_stall_vs_normal_p99": round(max(dirty) / p99, 2) if p99 else None,
    }


def _p99(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[98] if len(xs) >= 2 else (xs[0] if xs else 0.0)



