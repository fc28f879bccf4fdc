"""`anjungan bench scale`: the centre as 1, then 2 (…) instances on one PostgreSQL.

Each run builds a fresh fleet with one ingest identity per instance, a private Mosquitto
(or, with `--broker cluster`, a 3-node NATS cluster, the kiosks spread over its nodes),
the SIAK simulator at `--rate` (every instance is told that whole rate), and real
`broker run` processes; kiosks then publish their captures, re-sending what has no
application ack after `--resend` seconds, until SIAK has every one. Reported per instance
count:

    packets                 captures published (first sends)
    lost                    published but never accepted by SIAK
    duplicates_at_siak      captures SIAK enrolled more than once
    received_bytes_ratio    bytes delivered to all instances together / bytes the kiosks
                            published (re-sends included); ~1 when instances split the
                            work, ~N when each receives everything
    share_by_instance       messages each instance received
    siak_over_rate_pct      the busiest 5 s of submissions over SIAK's rate, in % (<= 0: never over)
    cpu_s                   CPU seconds of all instances together (user + system)

The database is `--db` (a schema per run, dropped after) or a private cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from anjungan import topics
from anjungan.errors import UsageError
from anjungan.messages import Ack, decode_ack_topic
from anjungan.topics import TopicKind
from broker.brokers import BrokerKind
from broker.errors import BrokerError

WINDOW_S = 5.0
CLUSTER_NODES = 3
CONNECTED = re.compile(r"(MQTT|NATS) connected")


def register(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("scale", help="the centre as 1 then 2 instances on PostgreSQL: share, bytes, SIAK rate")
    p.add_argument("--instances", default="1,2", help="instance counts to run, e.g. 1,2,3")
    p.add_argument("--kiosks", type=int, default=3)
    p.add_argument("--packets", type=int, default=30, help="captures per kiosk")
    p.add_argument("--rate", type=float, default=20.0, help="SIAK's capacity, requests/s")
    p.add_argument("--resend", type=float, default=5.0, help="kiosks re-send after S without an ack")
    p.add_argument("--small", action="store_true", help="2 KB captures instead of e-KTP-sized ones")
    p.add_argument("--db", default="", help="a PostgreSQL URL to use (default: a private cluster)")
    p.add_argument("--broker", default=BrokerKind.MOSQUITTO.value, choices=[k.value for k in BrokerKind],
                   help="mosquitto (one, MQTT 5 shared subscription) or cluster (3 NATS nodes, JetStream work queue)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_scale)


class BenchKiosk:
    """A kiosk's outbox in miniature: QoS 1 publish, re-send until the centre's ack."""

    def __init__(self, bundle: Any, port: int) -> None:
        self.bundle, self.kiosk_id = bundle, bundle.kiosk_id
        self.outbox: dict[str, tuple[bytes, float]] = {}  # packet id -> (packet, last sent)
        self.published_bytes = 0
        self.lock = threading.Lock()
        self.ready = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.kiosk_id, clean_session=False,
                        protocol=mqtt.MQTTv311)
        c.tls_set(ca_certs=bundle.ca_file, certfile=bundle.cert_file, keyfile=bundle.key_file,
                  tls_version=ssl.PROTOCOL_TLS_CLIENT)
        c.max_queued_messages_set(0)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.connect_async("127.0.0.1", port)
        c.loop_start()
        self.client = c

    def _on_connect(self, client: mqtt.Client, *_a: object) -> None:
        client.subscribe(topics.topic(self.kiosk_id, TopicKind.ACK), qos=1)
        self.ready.set()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        m = decode_ack_topic(bytes(msg.payload))
        if isinstance(m, Ack) and m.outcome.value in ("accepted", "duplicate"):
            with self.lock:
                self.outbox.pop(m.packet_id, None)

    def send(self, packet_id: str, raw: bytes) -> None:
        with self.lock:
            self.outbox[packet_id] = (raw, time.monotonic())
            self.published_bytes += len(raw)
        self.client.publish(topics.topic(self.kiosk_id, TopicKind.CAPTURE), raw, qos=1)

    def resend_due(self, after_s: float) -> None:
        now = time.monotonic()
        with self.lock:
            due = [(pid, raw) for pid, (raw, at) in self.outbox.items() if now - at >= after_s]
        for pid, raw in due:
            self.send(pid, raw)

    def pending(self) -> int:
        with self.lock:
            return len(self.outbox)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _instance(fleet_dir: Path, workdir: Path, *, name: str, db: str, broker_args: list[str], siak_url: str,
              rate: float) -> tuple[subprocess.Popen[bytes], Path]:
    log = workdir / f"{name}.log"
    out = open(log, "ab")  # noqa: SIM115 - owned by the child
    args = [sys.executable, "-m", "entrypoints.cli", "broker", "run", "--fleet", str(fleet_dir), "--allow-ca-key",
            "--db", db, *broker_args, "--siak", siak_url, "--siak-insecure-http", "--identity", name,
            "--rate", str(rate), "--workers", "4", "--status-poll", "1", "--backoff-cap", "1"]
    proc = subprocess.Popen(args, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return proc, log


def _stop(proc: subprocess.Popen[bytes]) -> float:
    """SIGTERM, reap, and return the child's CPU seconds (user + system)."""
    if proc.poll() is not None:
        return 0.0
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        pid, _status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = 0
            return float(usage.ru_utime + usage.ru_stime)
        time.sleep(0.05)
    proc.kill()
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = -9
    return float(usage.ru_utime + usage.ru_stime)


def _received(log: Path) -> tuple[int, int]:
    """(messages, bytes) an instance reported receiving: its last report, written at stop."""
    found = re.findall(r"received (\d+) messages, (\d+) bytes", log.read_text(errors="replace"))
    return (int(found[-1][0]), int(found[-1][1])) if found else (0, 0)


def busiest_window(times: list[float], width: float) -> int:
    """The most events in any window of `width` seconds."""
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class Brokers:
    """The bench's broker: one Mosquitto, or a NATS cluster of `CLUSTER_NODES` (kiosks spread
    over its MQTT listeners)."""

    def __init__(self, kind: BrokerKind, fleet: Any, root: Path) -> None:
        from provisioning.broker_process import BrokerProcess, free_port

        self.kind = kind
        self.cluster: Any = None
        self.mosquitto: Any = None
        if kind is BrokerKind.CLUSTER:
            from provisioning.nats import plan_nodes, write_cluster
            from provisioning.nats_cluster import NatsCluster

            write_cluster(fleet, root / "nats", plan_nodes(CLUSTER_NODES, [free_port() for _ in range(4 * CLUSTER_NODES)]))
            self.cluster = NatsCluster(root / "nats").start()
            self.mqtt_ports = self.cluster.mqtt_ports
            self.centre_args = ["--broker", kind.value, "--nats", ",".join(self.cluster.nats_urls)]
        else:
            from provisioning.mosquitto import write_config

            port = free_port()
            self.mosquitto = BrokerProcess(write_config(fleet, root / "mq", port=port, persistence=False), port).start()
            self.mqtt_ports = [port]
            self.centre_args = ["--mqtt", f"mqtts://127.0.0.1:{port}"]

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        if self.mosquitto is not None:
            self.mosquitto.stop()


@dataclass(frozen=True)
class Running:
    """What a fault may act on: the broker, and the `broker run` instances (in name order)."""

    brokers: Brokers
    instances: list[subprocess.Popen[bytes]]


Fault = tuple[float, Callable[[Running], None]]  # (seconds after the first send, what to do)


def measure_scale(instances: int, *, db_base: str, kiosks: int, per_kiosk: int, rate: float,
                  resend_s: float, small: bool, timeout_s: float = 600.0,
                  broker: BrokerKind = BrokerKind.MOSQUITTO, pace_s: float = 0.0,
                  faults: tuple[Fault, ...] = ()) -> dict[str, Any]:
    """One run. `pace_s` between rounds of sends (one capture per kiosk); `faults` run from
    this thread (a node started here dies with it), in order, while the kiosks stream."""
    import httpx

    from broker.benchkit import bench_packets
    from broker.queue import split_schema
    from broker.queue.postgres import PostgresQueue
    from broker.siak.ledger import Ledger
    from broker.siak.sim import SiakSimulator, SimConfig, SimServer
    from provisioning.bundle import complete, load_bundle, request
    from provisioning.centres import CENTRE_ID, Role
    from provisioning.fleet import add_centre_identity, init_fleet

    names = [CENTRE_ID] + [f"anjungan-centre-{i}" for i in range(2, instances + 1)]
    schema = f"bench_scale_{os.getpid()}_{instances}"
    with tempfile.TemporaryDirectory(prefix="anjungan-bench-scale-") as tmp:
        root = Path(tmp)
        fleet = init_fleet(root / "fleet", broker_port=0)
        bundles = []
        for k in range(1, kiosks + 1):
            kid = f"kiosk-bench-{k:02d}"
            request(root / kid, kid)
            complete(fleet, root / kid)
            bundles.append(load_bundle(root / kid))
        for name in names[1:]:
            add_centre_identity(fleet, name, Role.INGEST)
        brokers = Brokers(broker, fleet, root)
        sim_cfg = SimConfig(capacity_rps=rate, concurrency=32, latency_s=0.005)
        procs: list[tuple[subprocess.Popen[bytes], Path]] = []
        pubs: list[BenchKiosk] = []
        try:
            with SimServer(SiakSimulator(sim_cfg, Ledger(bio_after_s=0.0, print_after_s=0.0))) as sim:
                db = f"{db_base}{'&' if '?' in db_base else '?'}schema={schema}"
                procs = [_instance(fleet.root, root, name=n, db=db, broker_args=brokers.centre_args,
                                   siak_url=sim.url, rate=rate) for n in names]
                _wait(lambda: all(CONNECTED.search(log.read_text(errors="replace")) for _p, log in procs), 60,
                      "the instances did not connect")
                ports = brokers.mqtt_ports
                pubs = [BenchKiosk(b, ports[i % len(ports)]) for i, b in enumerate(bundles)]
                _wait(lambda: all(p.ready.is_set() for p in pubs), 20, "the kiosks did not connect")
                packets = {p.kiosk_id: bench_packets(p.bundle, per_kiosk, small=small) for p in pubs}
                ids = [pid for batch in packets.values() for pid, _c, _raw in batch]
                pending_faults = list(faults)
                started = time.monotonic()

                def run_faults() -> bool:
                    while pending_faults and time.monotonic() - started >= pending_faults[0][0]:
                        pending_faults.pop(0)[1](Running(brokers, [proc for proc, _log in procs]))
                    return not pending_faults

                for i in range(per_kiosk):  # the kiosks interleaved, as they would be
                    for p in pubs:
                        pid, _c, raw = packets[p.kiosk_id][i]
                        p.send(pid, raw)
                    run_faults()
                    if pace_s:
                        time.sleep(pace_s)

                def settled() -> bool:
                    for p in pubs:
                        p.resend_due(resend_s)
                    if not run_faults() or any(p.pending() for p in pubs):
                        return False
                    got = httpx.get(sim.url + "/_sim/accepted").json()["accepted"]
                    return len(got) >= len(ids)

                _wait(settled, timeout_s, "SIAK did not get every capture")
                siak = httpx.get(sim.url + "/_sim/accepted").json()
        finally:
            cpu = sum(_stop(p) for p, _log in procs)
            for p in pubs:
                p.close()
            brokers.stop()
        shares = {n: _received(log) for n, (_p, log) in zip(names, procs, strict=True)}
        keys = [a["idempotency_key"] for a in siak["accepted"]]
        published = sum(p.published_bytes for p in pubs)
        busiest = busiest_window([a["at"] for a in siak["accepted"]], WINDOW_S)
        q = PostgresQueue(split_schema(db)[0], schema=schema)
        q.drop()
        q.close()
    return {
        "broker": broker.value,
        "instances": instances,
        "packets": len(ids),
        "lost": len(set(ids) - set(keys)),
        "duplicates_at_siak": len(keys) - len(set(keys)),
        "resubmissions_absorbed": siak["duplicate_submissions"],
        "received_bytes_ratio": round(sum(b for _m, b in shares.values()) / published, 3) if published else 0.0,
        "share_by_instance": {n: m for n, (m, _b) in shares.items()},
        "siak_over_rate_pct": round(100.0 * (busiest / (rate * WINDOW_S) - 1.0), 1),
        "siak_429": siak["counts"].get("429", 0),
        "cpu_s": round(cpu, 2),
    }


def _wait(pred: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise BrokerError(f"bench scale: {what} within {timeout_s:.0f} s")
        time.sleep(0.1)


def run_scale(args: argparse.Namespace) -> int:
    try:
        counts = [int(n) for n in args.instances.split(",")]
    except ValueError:
        raise UsageError(f"--instances must be counts like 1,2 (got {args.instances!r})") from None
    if not counts or min(counts) < 1 or args.kiosks < 1 or args.packets < 1 or args.rate <= 0:
        raise UsageError("--instances, --kiosks and --packets must be >= 1 and --rate > 0")
    cluster = None
    db = args.db
    if not db:
        from broker.queue.private_postgres import PrivateCluster

        cluster = PrivateCluster().start()
        db = cluster.url
    try:
        runs = [measure_scale(n, db_base=db, kiosks=args.kiosks, per_kiosk=args.packets, rate=args.rate,
                              resend_s=args.resend, small=args.small, broker=BrokerKind(args.broker)) for n in counts]
    finally:
        if cluster is not None:
            cluster.stop()
    if args.json:
        print(json.dumps({"runs": runs}))
        return 0
    for r in runs:
        shares = ", ".join(f"{n} {m}" for n, m in r["share_by_instance"].items())
        print(f"{r['broker']}, {r['instances']} instance(s): {r['packets']} packets, lost {r['lost']}, "
              f"duplicates at SIAK {r['duplicates_at_siak']}, received/published bytes {r['received_bytes_ratio']}, "
              f"shares {shares}, SIAK over rate {r['siak_over_rate_pct']}% ({r['siak_429']} x 429), "
              f"CPU {r['cpu_s']} s")
    return 0
