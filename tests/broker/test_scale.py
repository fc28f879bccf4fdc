"""Two centre instances (real `broker run` processes, each with its own identity) on one
PostgreSQL and one Mosquitto share the work while three kiosks stream; then (a) one
instance is SIGKILLed, (c) PostgreSQL crashes and restarts, or its primary is lost and a
synchronous streaming standby is promoted.

Counted at SIAK: nothing lost, nothing enrolled twice, and never more than SIAK's rate
(+5%) although each instance is told the whole rate. In (a) the dead instance's leases
come back at its missed heartbeats, long before its 60 s lease, and what was in flight to
it reaches SIAK through the kiosks' re-sends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from anjungan.messages import SiakState
from broker.bench_scale import busiest_window
from broker.errors import QueueError
from broker.queue import EntryState, PacketQueue, open_queue
from broker.queue.private_postgres import PrivateCluster
from broker.siak.ledger import Ledger
from broker.siak.sim import SiakSimulator, SimConfig, SimServer
from provisioning.centres import CENTRE_ID, Role
from provisioning.fleet import add_centre_identity, open_fleet
from tests.broker.harness import Mosquitto, Service, TestKiosk
from tests.broker.kit import make_fleet, packet_bytes
from tests.waiting import wait_until

from .conftest import pg_schema

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

KIOSKS = ("kiosk-01", "kiosk-02", "kiosk-03")
RATE = 10.0  # SIAK's capacity, requests/s; each instance is given all of it (--rate)
LEASE_S = 60.0
RESEND_S = 3.0  # the kiosks' re-send interval (30 s in the field)
VICTIM = "anjungan-centre-2"


def received(log: Path) -> int:
    """An instance's share so far: the last count it logged (every 5 s, and when it stops)."""
    found = re.findall(r"received (\d+) messages", log.read_text(errors="replace"))
    return int(found[-1]) if found else 0


class Deployment:
    """One Mosquitto, one SIAK simulator, two `broker run` instances on one PostgreSQL
    schema, three kiosks; `stream` sends and re-sends like the kiosks' outboxes."""

    def __init__(self, root: Path, pg_url: str) -> None:
        fleet_dir, bundles = make_fleet(root, KIOSKS)
        add_centre_identity(open_fleet(fleet_dir), VICTIM, Role.INGEST)
        self.mosquitto = Mosquitto(fleet_dir, root).start()  # its ACL names both instances
        self.db = f"{pg_url}{'&' if '?' in pg_url else '?'}schema={pg_schema()}"
        self.sim = SimServer(SiakSimulator(SimConfig(capacity_rps=RATE, concurrency=16, latency_s=0.005),
                                           Ledger(bio_after_s=0.0, print_after_s=0.0))).__enter__()
        self.services: list[Service] = []
        for name in (CENTRE_ID, VICTIM):
            (root / name).mkdir()
            self.services.append(Service(fleet_dir, root / name, mqtt_url=self.mosquitto.url, siak_url=self.sim.url,
                extra=("--db", self.db, "--identity", name, "--rate", str(RATE), "--lease", str(LEASE_S),
                       "--dead-after", "2", "--session-expiry", "5", "--status-poll", "1")).start())
        self.survivor, self.victim = self.services
        self.kiosks = [TestKiosk(bundles[k], self.mosquitto.port) for k in KIOSKS]
        self.queue: PacketQueue | None = None
        self.ids: list[str] = []
        self.resent: set[str] = set()  # packets the kiosks had to send again
        self.published = 0  # captures published, re-sends included
        self.last_resend = time.monotonic()

    def ready(self) -> PacketQueue:
        assert all(k.connected.wait(10) for k in self.kiosks)
        assert wait_until(lambda: all("MQTT connected" in s.log.read_text() for s in self.services), timeout=20)
        self.queue = open_queue(self.db)
        return self.queue

    def stream(self, rounds: int, at: dict[int, Callable[[], None]], tick: Callable[[], None] = lambda: None) -> None:
        """`rounds` × one capture per kiosk, ~15 per second; `at[n]` runs after round n."""
        for seq in range(1, rounds + 1):
            for k in self.kiosks:
                pid, raw = packet_bytes(k.bundle, seq)
                k.send(pid, raw)
                self.published += 1
                self.ids.append(pid)
            time.sleep(0.2)
            if seq in at:
                at[seq]()
            self.resend()
            tick()

    def resend(self) -> None:
        if time.monotonic() - self.last_resend >= RESEND_S:
            for k in self.kiosks:
                self.resent |= set(k.outbox)
                self.published += k.resend_unacked()
            self.last_resend = time.monotonic()

    def settle(self, tick: Callable[[], None] = lambda: None) -> dict[str, Any]:
        """Until every capture is acked, relayed and followed to its final state; then what
        SIAK saw, checked: lost 0, enrolled twice 0, never over its rate, one poller."""
        queue = self.queue
        assert queue is not None

        def done() -> bool:
            self.resend()
            tick()
            try:
                return (all(not k.outbox for k in self.kiosks)
                        and len(queue.entries(state=EntryState.ACCEPTED)) == len(self.ids))
            except QueueError:  # our own connection, broken by a database restart: reconnects
                return False

        assert wait_until(done, timeout=45, every=0.1), "every packet acked and relayed"
        assert wait_until(lambda: all(e.siak_state is SiakState.PRINT_READY
                                      for e in queue.entries(state=EntryState.ACCEPTED)), timeout=15)
        siak: dict[str, Any] = httpx.get(self.sim.url + "/_sim/accepted").json()
        keys = [a["idempotency_key"] for a in siak["accepted"]]
        assert sorted(keys) == sorted(self.ids), "lost 0, enrolled twice 0"
        assert siak["counts"].get("429", 0) == 0, f"SIAK refused {siak['counts'].get('429')} over its rate"
        siak["busiest_5s"] = busiest = busiest_window([a["at"] for a in siak["accepted"]], 5.0)
        assert busiest <= RATE * 5.0 * 1.05 + 2, f"{busiest} submissions in 5 s at {RATE}/s"
        siak["status_calls"] = status = siak["counts"].get("200", 0) - siak["duplicate_submissions"]  # or replays
        assert status <= len(self.ids) + 10, f"one status poller: {status} status calls for {len(self.ids)}"
        return siak

    def summary(self, siak: dict[str, Any]) -> str:
        return (f"packets {len(self.ids)}, re-sent {len(self.resent)}, busiest 5 s {siak['busiest_5s']} = "
                f"{siak['busiest_5s'] / (RATE * 5):.2f} x rate, status calls {siak['status_calls']}, "
                f"absorbed re-submissions {siak['duplicate_submissions']}, counts {siak['counts']}")

    def close(self) -> None:
        if self.queue is not None:
            self.queue.close()
        for k in self.kiosks:
            k.close()
        for s in self.services:
            s.stop()
        self.sim.__exit__()
        self.mosquitto.stop()


def owner(queue: PacketQueue, packet_id: str) -> str:
    """Who holds a packet's lease (read straight from PostgreSQL: not part of `Entry`)."""
    with queue._read_tx() as cur:  # type: ignore[attr-defined]
        row = queue._x(cur, "SELECT owner FROM {P} WHERE packet_id = ?", (packet_id,)).fetchone()  # type: ignore[attr-defined]
    return str(row[0]) if row else ""


def test_two_instances_one_killed_lose_nothing_and_keep_siak_rate(tmp_path: Path, pg_url: str) -> None:
    d = Deployment(tmp_path, pg_url)
    try:
        queue = d.ready()
        seen: dict[str, Any] = {"held": [], "killed_at": 0.0, "released_at": 0.0}

        def kill() -> None:  # mid-stream, mid-relay, after each instance's first report
            seen["held"] = [e.packet_id for e in queue.entries(state=EntryState.PENDING)
                            if owner(queue, e.packet_id).startswith(VICTIM + "/")]
            seen["shares"] = received(d.victim.log), received(d.survivor.log)
            seen["published"], seen["sent"] = d.published, len(d.ids)
            d.victim.kill()
            seen["killed_at"] = time.monotonic()

        def tick() -> None:  # when did the victim's leases come back?
            if seen["killed_at"] and not seen["released_at"] and not any(
                    owner(queue, p).startswith(VICTIM + "/") for p in seen["held"]):
                seen["released_at"] = time.monotonic()

        d.stream(40, {33: kill}, tick)
        siak = d.settle(tick)
        victim_share, survivor_share = seen["shares"]
        sent_after_kill = set(d.ids[seen["sent"]:])
        handover = seen["released_at"] - seen["killed_at"]
        assert seen["held"] and seen["released_at"], "the victim's leases were released"
        assert handover < LEASE_S / 2, "released at the missed heartbeats, not at the lease's end"
        assert d.resent & sent_after_kill, "what went to the dead instance came back by re-sends"
        assert d.survivor.alive() and victim_share > 0 and received(d.victim.log) == victim_share
        # shared, not copied: together they received no more than was published
        assert victim_share + survivor_share <= seen["published"]
        d.survivor.stop()  # its last report counts everything it received
        print(f"\nscale (instance killed): {d.summary(siak)}; last reports before the kill: victim {victim_share}, "
              f"survivor {survivor_share}; survivor in all {received(d.survivor.log)}; victim's {len(seen['held'])} "
              f"leases released {handover:.1f} s after SIGKILL; {len(d.resent & sent_after_kill)} of the re-sent "
              f"were sent after the kill")
    finally:
        d.close()


def test_two_instances_through_a_postgresql_crash_lose_nothing(tmp_path: Path) -> None:
    cluster = PrivateCluster().start()  # its own: this test crashes it
    d = Deployment(tmp_path, cluster.url)
    try:
        d.ready()
        down: dict[str, float] = {}

        def crash() -> None:
            cluster.crash()
            down["at"] = time.monotonic()

        def restart() -> None:
            cluster.start()
            down["for"] = time.monotonic() - down["at"]

        d.stream(40, {12: crash, 22: restart})
        siak = d.settle()
        assert all(s.alive() for s in d.services)
        logs = "".join(s.log.read_text(errors="replace") for s in d.services)
        assert "of stopped instance" not in logs, "nobody was declared dead for the database's silence"
        print(f"\nscale (PostgreSQL crashed for {down['for']:.1f} s): {d.summary(siak)}")
    finally:
        d.close()
        cluster.stop()


def test_two_instances_through_a_standby_promotion_lose_nothing(tmp_path: Path) -> None:
    primary = PrivateCluster().start()
    standby = primary.replica("standby")
    with psycopg.connect(primary.url, autocommit=True) as conn:  # an acked commit is on both
        conn.execute("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
        conn.execute("SELECT pg_reload_conf()")
    both = f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/postgres"
    d = Deployment(tmp_path, f"{both}?target_session_attrs=read-write")  # libpq finds the writable one
    try:
        d.ready()
        lost: dict[str, float] = {}

        def lose_primary() -> None:
            primary.crash()
            lost["at"] = time.monotonic()

        def promote() -> None:  # the operator (or a tool) promotes the standby
            standby.promote()
            lost["for"] = time.monotonic() - lost["at"]

        d.stream(40, {12: lose_primary, 20: promote})
        siak = d.settle()
        assert all(s.alive() for s in d.services)
        released = sum(s.log.read_text(errors="replace").count("of stopped instance") for s in d.services)
        print(f"\nscale (primary lost, standby promoted after {lost['for']:.1f} s): {d.summary(siak)}; "
              f"lease releases {released}")
    finally:
        d.close()
        standby.stop()
        primary.stop()
