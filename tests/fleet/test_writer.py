"""Several fleet monitors on one store (one per centre instance): every monitor sees every
message, one writes. Each health point is stored once and each alert opened once, whichever
instance saw it, through a writer's death and a hand-over. Real SQLite and PostgreSQL, each
monitor with its own connection as separate processes would have."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from anjungan.messages import HelpState
from broker.fleet.service import FleetService, FleetSettings
from broker.fleet.store import FleetStore, open_store

from .kit import Clock, feedback, health, help_request, status

BAD = {"finger": {"ok": False, "detail": "no response"}}
GOOD = {"finger": {"ok": True}}
SETTINGS = FleetSettings(history_every_s=0, lead_ttl_s=10.0)


@pytest.fixture(params=["sqlite", "postgres"])
def two_handles(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[FleetStore, FleetStore]]:
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'fleet.db'}"
    else:  # the private PostgreSQL cluster, a schema of our own
        url = f"{request.getfixturevalue('pg_url')}?schema=w_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    first, second = open_store(url), open_store(url)
    yield first, second
    first.close()
    second.close()


class Monitors:
    def __init__(self, stores: tuple[FleetStore, FleetStore]) -> None:
        self.clock = Clock()
        self.a = FleetService(stores[0], clock=self.clock, settings=SETTINGS, instance="anjungan-fleet")
        self.b = FleetService(stores[1], clock=self.clock, settings=SETTINGS, instance="anjungan-fleet-2")
        self.store = stores[0]
        self.acked: list[tuple[str, str]] = []
        for m in (self.a, self.b):
            m.on_feedback_stored = self.acked.extend

    def deliver(self, message: tuple[str, bytes], *to: FleetService) -> None:
        for m in to or (self.a, self.b):  # every monitor subscribes to every kiosk
            assert m.handle(*message)

    def opened(self, key: str) -> int:
        return sum(1 for e in self.store.alert_log(limit=1000) if e.key == key and e.action == "open")

    def cleared(self, key: str) -> int:
        return sum(1 for e in self.store.alert_log(limit=1000) if e.key == key and e.action == "clear")


FINGER_K1, FINGER_K2 = "peripheral:k-1:finger", "peripheral:k-2:finger"


def test_two_monitors_store_each_health_point_once_and_open_each_alert_once(two_handles):
    m = Monitors(two_handles)
    for kiosk in ("k-1", "k-2"):
        m.deliver(status(kiosk, "online", "s1"))
    m.deliver(health("k-1", peripherals=BAD))
    m.deliver(health("k-2", peripherals=GOOD))
    m.deliver(feedback("k-1", "f-1", "Antrean lama"))
    m.a.flush()
    m.b.flush()
    assert (m.a.leading, m.b.leading) == (True, False)
    assert len(m.store.health_history("k-1", since=0)) == 1 and len(m.store.health_history("k-2", since=0)) == 1
    assert [a.key.text for a in m.store.open_alerts()] == [FINGER_K1] and m.opened(FINGER_K1) == 1
    assert len(m.store.feedback()) == 1 and ("k-1", "f-1") in m.acked  # stored once, acked
    assert [a.key.text for a in m.b.open_alerts()] == [FINGER_K1]  # the follower's dashboard is live

    # the writer dies; the follower goes on hearing the fleet and takes over once its lease lapses
    m.clock.t += 5.0
    m.deliver(health("k-1", peripherals=GOOD), m.b)
    m.deliver(health("k-2", peripherals=BAD), m.b)
    m.b.flush()
    assert not m.b.leading and m.opened(FINGER_K2) == 0  # a's lease still runs: b writes nothing
    m.clock.t += 6.0
    m.b.flush()
    assert m.b.leading
    assert [a.key.text for a in m.store.open_alerts()] == [FINGER_K2]
    assert (m.opened(FINGER_K1), m.cleared(FINGER_K1), m.opened(FINGER_K2)) == (1, 1, 1)

    # the old writer comes back: it follows, and its stale view writes nothing
    m.deliver(health("k-1", peripherals=BAD), m.a)  # (it missed the recovery: a stale view)
    m.a.flush()
    assert not m.a.leading and (m.opened(FINGER_K1), m.cleared(FINGER_K1)) == (1, 1)


def test_a_writer_that_stops_hands_over_at_once(two_handles):
    m = Monitors(two_handles)
    m.deliver(status("k-1", "online", "s1"))
    m.deliver(health("k-1", peripherals=BAD))
    m.a.flush()
    m.b.flush()
    m.a.stop()  # a clean shutdown: no waiting for the lease to lapse
    m.clock.t += 0.5
    m.deliver(health("k-1", peripherals=BAD), m.b)
    m.b.flush()
    assert m.b.leading and m.opened(FINGER_K1) == 1  # adopted, not opened again
    assert [a.opened_at for a in m.b.open_alerts()] == [a.opened_at for a in m.store.open_alerts()]


def test_one_monitor_alone_writes_as_before(tmp_path):
    store = open_store(f"sqlite://{tmp_path / 'fleet.db'}")
    try:
        svc = FleetService(store, clock=Clock(), settings=SETTINGS)
        svc.handle(*status("k-1", "online", "s1"))
        svc.handle(*health("k-1", peripherals=BAD))
        assert svc.flush() == 2 and svc.leading
        assert [a.key.text for a in store.open_alerts()] == [FINGER_K1]
    finally:
        store.close()


def test_help_acknowledged_on_either_dashboard_closes_everywhere_once(two_handles):
    m = Monitors(two_handles)
    told: dict[str, list[tuple[str, str, HelpState]]] = {"a": [], "b": []}
    m.a.on_help_answer = lambda *answer: told["a"].append(answer)
    m.b.on_help_answer = lambda *answer: told["b"].append(answer)
    m.deliver(status("k-1", "online", "s1"))
    m.deliver(help_request("k-1", "r-1"))
    m.a.flush()
    m.b.flush()
    assert told == {"a": [("k-1", "r-1", HelpState.RECEIVED)], "b": []}  # only the writer stored it
    assert m.opened("help:k-1:r-1") == 1

    assert m.b.acknowledge_help("k-1", "r-1", by="staff")  # pressed on the follower's dashboard
    assert told["b"] == [("k-1", "r-1", HelpState.COMING)]
    assert not any(a.key.text == "help:k-1:r-1" for a in m.store.open_alerts())
    m.a.tick()  # the writer reads it from the store
    assert not any(a.key.text == "help:k-1:r-1" for a in m.a.open_alerts())
    m.a.flush()
    assert m.cleared("help:k-1:r-1") == 1  # cleared once, not again by the writer
    assert not m.a.acknowledge_help("k-1", "r-1", by="other staff")  # already on their way
    m.deliver(help_request("k-1", "r-1"))  # a late re-send from the kiosk
    m.a.flush()
    assert told["a"][-1] == ("k-1", "r-1", HelpState.COMING) and m.opened("help:k-1:r-1") == 1
