"""Two centre instances (real `broker run` processes, each with its own identity) on one
PostgreSQL and one Mosquitto share the work; one is SIGKILLed while three kiosks stream.

Counted at SIAK: nothing lost, nothing enrolled twice, and never more than SIAK's rate
(+5%) although each instance is told the whole rate; the dead instance's leases come back
at its missed heartbeats, long before its 60 s lease, and what was in flight to it reaches
SIAK through the kiosks' re-sends."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from anjungan.messages import SiakState
from broker.queue import EntryState, open_queue
from broker.siak.ledger import Ledger
from broker.siak.sim import SiakSimulator, SimConfig, SimServer
from provisioning.centres import CENTRE_ID, Role
from provisioning.fleet import add_centre_identity, open_fleet
from tests.broker.harness import Mosquitto, Service, TestKiosk
from tests.broker.kit import make_fleet, packet_bytes, wait_until

from .conftest import pg_schema

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

KIOSKS = ("kiosk-01", "kiosk-02", "kiosk-03")
RATE = 10.0  # SIAK's capacity, requests/s; each instance is given all of it (--rate)
LEASE_S = 60.0
RESEND_S = 3.0  # the kiosks' re-send interval (30 s in the field)
VICTIM = "anjungan-centre-2"


def window_max(times: list[float], width: float) -> int:
    """The most events in any window of `width` seconds."""
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def received(log: Path) -> int:
    found = re.findall(r"received (\d+) messages", log.read_text(errors="replace"))
    return int(found[-1]) if found else 0


def test_two_instances_one_killed_lose_nothing_and_keep_siak_rate(tmp_path: Path, pg_url: str) -> None:
    fleet_dir, bundles = make_fleet(tmp_path, KIOSKS)
    add_centre_identity(open_fleet(fleet_dir), VICTIM, Role.INGEST)
    mosquitto = Mosquitto(fleet_dir, tmp_path).start()  # its ACL names both instances
    db = f"{pg_url}?schema={pg_schema()}"
    sim = SimServer(SiakSimulator(SimConfig(capacity_rps=RATE, concurrency=16, latency_s=0.005),
                                  Ledger(bio_after_s=0.0, print_after_s=0.0))).__enter__()  # fmt: skip
    services = []
    for name in (CENTRE_ID, VICTIM):
        work = tmp_path / name
        work.mkdir()
        services.append(Service(fleet_dir, work, mqtt_url=mosquitto.url, siak_url=sim.url, extra=(
            "--db", db, "--identity", name, "--rate", str(RATE), "--lease", str(LEASE_S),
            "--dead-after", "2", "--session-expiry", "5", "--status-poll", "1")).start())  # fmt: skip
    survivor, victim = services
    kiosks = [TestKiosk(bundles[k], mosquitto.port) for k in KIOSKS]
    try:
        assert all(k.connected.wait(10) for k in kiosks)
        queue = open_queue(db)
        assert wait_until(lambda: "MQTT connected" in victim.log.read_text()
                          and "MQTT connected" in survivor.log.read_text(), timeout=20)  # fmt: skip

        run = Run(kiosks, queue)
        for seq in range(1, 41):  # 3 kiosks x 40 packets, ~15 per second
            for k in kiosks:
                pid, raw = packet_bytes(k.bundle, seq)
                k.send(pid, raw)
                run.published += 1
                run.ids.append(pid)
                if run.killed_at:
                    run.sent_after_kill.add(pid)
            time.sleep(0.2)
            if seq == 33:  # SIGKILL one instance mid-stream, mid-relay (after its first report)
                run.held_by_victim = [e.packet_id for e in queue.entries(state=EntryState.PENDING)
                                      if _owner(queue, e.packet_id).startswith(VICTIM + "/")]  # fmt: skip
                victim_share, survivor_share = received(victim.log), received(survivor.log)
                published_before_kill = run.published
                victim.kill()
                run.killed_at = time.monotonic()
            run.tick()

        def done() -> bool:
            run.tick()
            return all(not k.outbox for k in kiosks) and len(queue.entries(state=EntryState.ACCEPTED)) == len(run.ids)

        assert wait_until(done, timeout=45, every=0.1), "every packet acked and relayed"
        assert wait_until(lambda: all(e.siak_state is SiakState.PRINT_READY
                                      for e in queue.entries(state=EntryState.ACCEPTED)), timeout=15)  # fmt: skip
        siak = httpx.get(sim.url + "/_sim/accepted").json()
        keys = [a["idempotency_key"] for a in siak["accepted"]]
        accepted_at = [a["at"] for a in siak["accepted"]]

        assert sorted(keys) == sorted(run.ids), "lost 0, enrolled twice 0"
        assert siak["counts"].get("429", 0) == 0, f"SIAK refused {siak['counts'].get('429')} over its rate"
        busiest = window_max(accepted_at, 5.0)
        assert busiest <= RATE * 5.0 * 1.05 + 2, f"{busiest} submissions in 5 s at {RATE}/s"
        status_calls = siak["counts"].get("200", 0) - siak["duplicate_submissions"]  # 200: a status, or a replay
        assert status_calls <= len(run.ids) + 10, f"one status poller: {status_calls} status calls for {len(run.ids)}"
        assert run.held_by_victim and run.released_at, "the victim's leases were released"
        assert run.released_at - run.killed_at < LEASE_S / 2, "released at the missed heartbeats, not the lease"
        assert run.resent & run.sent_after_kill, "what went to the dead instance came back by re-sends"
        assert survivor.alive() and victim_share > 0 and received(victim.log) == victim_share
        # shared, not copied: together they received no more than was published
        assert victim_share + survivor_share <= published_before_kill
        survivor.stop()  # its last report counts everything it received
        print(f"\nscale: packets {len(run.ids)}; last reports before the kill: victim received {victim_share}, "
              f"survivor {survivor_share}; survivor in all {received(survivor.log)}; "
              f"victim leases {len(run.held_by_victim)} released {run.released_at - run.killed_at:.1f} s after SIGKILL, "
              f"re-sent {len(run.resent)} ({len(run.resent & run.sent_after_kill)} sent after the kill), "
              f"busiest 5 s {busiest} = {busiest / (RATE * 5):.2f} x rate, "
              f"status calls {status_calls}, absorbed re-submissions {siak['duplicate_submissions']}, "
              f"counts {siak['counts']}")
        queue.close()
    finally:
        for k in kiosks:
            k.close()
        for s in services:
            s.stop()
        sim.__exit__()
        mosquitto.stop()


class Run:
    """What the test tracks while the kiosks stream: what was sent and re-sent, and when
    the killed instance's leases came back."""

    def __init__(self, kiosks: list[TestKiosk], queue: object) -> None:
        self.kiosks, self.queue = kiosks, queue
        self.ids: list[str] = []
        self.resent: set[str] = set()
        self.sent_after_kill: set[str] = set()
        self.held_by_victim: list[str] = []
        self.killed_at = self.released_at = 0.0
        self.published = 0  # captures the kiosks published, re-sends included
        self.last_resend = time.monotonic()

    def tick(self) -> None:
        """The kiosks' re-send timer, and whether the victim still holds a lease."""
        if self.killed_at and not self.released_at and not any(
                _owner(self.queue, p).startswith(VICTIM + "/") for p in self.held_by_victim):  # fmt: skip
            self.released_at = time.monotonic()
        if time.monotonic() - self.last_resend >= RESEND_S:
            for k in self.kiosks:
                self.resent |= set(k.outbox)
                self.published += k.resend_unacked()
            self.last_resend = time.monotonic()


def _owner(queue: object, packet_id: str) -> str:
    """Who holds a packet's lease (read straight from PostgreSQL: not part of `Entry`)."""
    with queue._read_tx() as cur:  # type: ignore[attr-defined]
        row = queue._x(cur, "SELECT owner FROM {P} WHERE packet_id = ?", (packet_id,)).fetchone()  # type: ignore[attr-defined]
    return str(row[0]) if row else ""
