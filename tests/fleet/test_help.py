"""A resident's help request at the centre: the alert opens on the dashboard, staff say they
are on their way, the kiosk is told — in the pure core, the service over every fleet store
(surviving a restart), and the dashboard over HTTP."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():  # starlette 1.x would prefer httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from anjungan.messages import HelpReason, HelpState
from broker.fleet.core import ANSWERED_KEPT, MAX_OPEN_HELP, FleetCore
from broker.fleet.dashboard.app import create_app
from broker.fleet.model import AlertAction, AlertKind
from broker.fleet.service import FleetService
from broker.fleet.store import FleetStore

from .kit import PASSWORD, Clock, csrf_of, help_request, status

Answer = tuple[str, str, HelpState]


def help_alerts(service: FleetService) -> list[tuple[str, str, str]]:
    return [(a.key.kiosk_id, a.key.subject, a.detail) for a in service.open_alerts()
            if a.key.kind is AlertKind.HELP]


def test_core_opens_once_per_request_and_clears_when_acknowledged() -> None:
    core = FleetCore()
    state, changes = core.help("dps-01", "r1", "screen: nik", 10.0)
    assert state is HelpState.RECEIVED
    assert [(c.action, c.alert.key.subject, c.alert.severity) for c in changes] == [
        (AlertAction.OPEN, "r1", "critical")]
    assert core.help("dps-01", "r1", "screen: nik", 11.0) == (HelpState.RECEIVED, [])  # a re-send
    assert core.acknowledge_help("dps-01", "nope", 12.0) == []
    changes = core.acknowledge_help("dps-01", "r1", 12.0)
    assert [c.action for c in changes] == [AlertAction.CLEAR]
    assert core.acknowledge_help("dps-01", "r1", 13.0) == []  # two staff, one click counts
    assert core.help("dps-01", "r1", "screen: nik", 14.0) == (HelpState.COMING, [])  # a late re-send
    assert core.tick(15.0) == [] and core.open_alerts() == []


def test_core_bounds_what_one_kiosk_can_open() -> None:
    core = FleetCore()
    for i in range(MAX_OPEN_HELP + 20):
        assert core.help("dps-01", f"r{i}", "screen: nik", float(i))[0] is HelpState.RECEIVED
    assert len(core.open_alerts("dps-01")) == MAX_OPEN_HELP
    for i in range(ANSWERED_KEPT + 10):
        core.help("k-2", f"a{i}", "x", 0.0)
        core.acknowledge_help("k-2", f"a{i}", 0.0)
    assert len(core._answered) == ANSWERED_KEPT


def test_service_answers_after_the_commit_and_survives_a_restart(store: FleetStore) -> None:
    clock, answers = Clock(), []
    svc = FleetService(store, clock=clock)
    svc.on_help_answer = lambda *a: answers.append(a)
    assert svc.handle(*status("dps-01", "online", "s1"))
    assert svc.handle(*help_request("dps-01", "r1", reason=HelpReason.DECLINED))
    assert answers == []  # nothing promised before the alert is stored
    svc.flush()
    assert answers == [("dps-01", "r1", HelpState.RECEIVED)]
    when = svc.settings.local_time.clock(clock.t)
    assert help_alerts(svc) == [("dps-01", "r1",
                                 f"help requested at dps-01, screen: fingerprints (declined), {when}")]
    assert when.endswith("WITA")

    restarted = FleetService(store, clock=clock)  # the open alert is the request's durable record
    restarted.on_help_answer = lambda *a: answers.append(a)
    assert help_alerts(restarted) == help_alerts(svc)
    clock.t += 3600
    restarted.tick()
    assert help_alerts(restarted) == help_alerts(svc)  # no rule clears it: only staff do
    assert restarted.acknowledge_help("dps-01", "r1", by="ayu")
    assert answers[-1] == ("dps-01", "r1", HelpState.COMING) and help_alerts(restarted) == []
    assert not restarted.acknowledge_help("dps-01", "r1", by="ayu")
    restarted.flush()
    assert sorted(e.action for e in store.alert_log(kiosk_id="dps-01") if e.key.startswith("help:")) == [
        "clear", "open"]


@pytest.mark.parametrize("payload", [
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","screen":"nik","at":NaN}',
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","screen":"nik","at":1e999}',
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","scr',
    b'[' * 100_000, b'{"type":"help_request","screen":"' + b"x" * 100_000 + b'"}',
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","screen":"5171014101900001","at":1}',
])
def test_garbage_on_the_help_topic_is_logged_and_skipped(payload: bytes, caplog) -> None:
    from broker.fleet.store import open_store

    svc = FleetService(open_store("memory://"), clock=Clock())
    assert not svc.handle("anjungan/v1/kiosk/dps-01/help", payload)
    assert svc.handle(*help_request("dps-01", "r2"))  # and goes on
    assert "5171014101900001" not in caplog.text and "Traceback" not in caplog.text


def test_a_kiosk_cannot_raise_help_for_another(caplog) -> None:
    from broker.fleet.store import open_store

    svc = FleetService(open_store("memory://"), clock=Clock())
    topic, payload = help_request("dps-02", "r1")
    assert not svc.handle(topic.replace("dps-02", "dps-01"), payload)
    assert help_alerts(svc) == []


@pytest.fixture
def dashboard(tmp_path, password_hash) -> Iterator[tuple[TestClient, FleetService, list[Answer]]]:
    from broker.fleet.store import open_store

    store = open_store(f"sqlite://{tmp_path / 'fleet.db'}")
    store.set_staff("ayu", password_hash, at=0.0)
    svc, answers = FleetService(store, clock=Clock()), []
    svc.on_help_answer = lambda *a: answers.append(a)
    with TestClient(create_app(svc, api_token="t"), follow_redirects=False) as c:
        page = c.get("/login")
        c.post("/login", data={"username": "ayu", "password": PASSWORD, "csrf": csrf_of(page.text), "next": "/"})
        yield c, svc, answers
    store.close()


def test_staff_see_the_request_and_say_they_are_on_their_way(dashboard) -> None:
    client, svc, answers = dashboard
    assert svc.handle(*help_request("dps-01", "r-1", screen="capture_result"))
    svc.flush()
    page = client.get("/").text
    assert 'id="help-requests"' in page and "help requested at dps-01, screen: capture_result" in page
    assert client.get("/kiosk/dps-01").text.count("screen: capture_result") >= 1
    assert client.post("/help/dps-01/r-1/ack", data={"csrf": "wrong"}).status_code == 403
    assert help_alerts(svc) and answers == [("dps-01", "r-1", HelpState.RECEIVED)]
    for bad in ("/help/DPS!/r-1/ack", "/help/dps-01/" + "x" * 65 + "/ack", "/help/dps-01/r-2/ack"):
        assert client.post(bad, data={"csrf": csrf_of(page)}).status_code in (303, 404)
    assert help_alerts(svc)
    r = client.post("/help/dps-01/r-1/ack", data={"csrf": csrf_of(page)})
    assert r.status_code == 303 and help_alerts(svc) == []
    assert answers[-1] == ("dps-01", "r-1", HelpState.COMING)
    assert 'id="help-requests"' not in client.get("/").text
