"""The dashboard over HTTP (Starlette's test client): sign-in, CSRF, pages, API, metrics."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():  # starlette 1.x would prefer httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from broker.fleet.dashboard.app import create_app
from broker.fleet.dashboard.auth import hash_password, verify_password
from broker.fleet.model import CentreSample, ClassBacklog, Thresholds
from broker.fleet.service import FleetService, FleetSettings
from broker.fleet.store import FleetStore, Site, open_store

from .kit import PASSWORD, Clock, csrf_of, feedback, health, status

TOKEN = "api-token-for-tests"


@pytest.fixture
def store(tmp_path) -> Iterator[FleetStore]:
    s = open_store(f"sqlite://{tmp_path / 'fleet.db'}")
    yield s
    s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store, clock, password_hash) -> FleetService:
    store.set_staff("ayu", password_hash, at=0.0)
    settings = FleetSettings(thresholds=Thresholds(offline_after_s=60), history_every_s=0)
    svc = FleetService(store, clock=clock, settings=settings)
    svc.set_site(Site(kiosk_id="dps-01", office="Dukcapil Denpasar", kecamatan="Denpasar Barat"))
    svc.set_site(Site(kiosk_id="mal-02", office="Mal Bali Galeria", kecamatan="Kuta"))
    return svc


@pytest.fixture
def client(service) -> Iterator[TestClient]:
    with TestClient(create_app(service, api_token=TOKEN), follow_redirects=False) as c:
        yield c


def sign_in(client: TestClient, password: str = PASSWORD, next_: str = "/") -> int:
    page = client.get("/login")
    r = client.post("/login", data={"username": "ayu", "password": password,
                                    "csrf": csrf_of(page.text), "next": next_})
    return r.status_code


def feed(service: FleetService, *msgs: tuple[str, bytes]) -> None:
    for topic, payload in msgs:
        assert service.handle(topic, payload)
    service.flush()


def test_password_hashing():
    h = hash_password(PASSWORD, salt=b"s" * 16)
    assert h.startswith("scrypt$16384$8$1$" + (b"s" * 16).hex() + "$")
    assert verify_password(h, PASSWORD)
    assert not verify_password(h, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)
    assert not verify_password("md5$abc", PASSWORD)


@pytest.mark.parametrize("path", ["/", "/kiosk/dps-01", "/feedback"])
def test_nothing_visible_without_signing_in(client, service, path):
    feed(service, status("dps-01", "online", "s1"))
    r = client.get(path)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    assert "dps-01" not in r.text
    assert client.get("/api/fleet").status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/healthz").text == "ok\n"


def test_sign_in_needs_right_password_and_csrf(client):
    assert sign_in(client, password="wrong-password-1") == 401
    r = client.post("/login", data={"username": "ayu", "password": PASSWORD, "csrf": "forged"})
    assert r.status_code == 403
    assert sign_in(client, next_="//evil.example/") == 303
    assert client.get("/").status_code == 200


def test_sign_in_redirects_only_locally(client):
    page = client.get("/login?next=/feedback")
    r = client.post("/login", data={"username": "ayu", "password": PASSWORD,
                                    "csrf": csrf_of(page.text), "next": "/feedback"})
    assert r.headers["location"] == "/feedback"
    client.cookies.clear()
    page = client.get("/login")
    r = client.post("/login", data={"username": "ayu", "password": PASSWORD,
                                    "csrf": csrf_of(page.text), "next": "https://evil.example/"})
    assert r.headers["location"] == "/"


def test_overview_counts_filters_and_alerts(client, service, clock):
    feed(service, status("dps-01", "online", "s1"), status("mal-02", "online", "s1"),
         health("mal-02", peripherals={"iris": {"ok": False, "detail": "lens"}}))
    feed(service, status("dps-01", "offline", "s1"))
    clock.t += 61
    feed(service, health("mal-02", peripherals={"iris": {"ok": False, "detail": "lens"}}))
    service.tick()
    service.flush()
    assert sign_in(client) == 303
    page = client.get("/").text
    assert 'id="kiosk-dps-01" data-state="offline"' in page
    assert 'id="kiosk-mal-02" data-state="online"' in page
    assert 'data-kind="offline"' in page and 'data-kind="peripheral"' in page
    assert '<div class="card" id="count-offline"><b class="down">1</b>' in page
    only = client.get("/?kecamatan=Kuta").text
    assert "kiosk-mal-02" in only and "kiosk-dps-01" not in only
    assert "kiosk-dps-01" in client.get("/?state=offline").text
    assert "kiosk-dps-01" not in client.get("/?state=online").text


def test_kiosk_page_and_english(client, service, clock):
    feed(service, status("dps-01", "online", "s1"),
         health("dps-01", outbox_depth=2, temperature_c=41.0, app_version="1.2.0",
                peripherals={"finger": {"ok": True, "version": "r307"}}))
    clock.t += 30
    feed(service, health("dps-01", outbox_depth=5, temperature_c=43.0))
    sign_in(client)
    page = client.get("/kiosk/dps-01").text
    assert 'id="kiosk-state" class="up">Daring' in page
    assert page.count('<svg class="plot"') == 4 and "<polyline" in page
    assert client.get("/kiosk/nope").status_code == 404
    assert client.get("/lang/en?next=/kiosk/dps-01").headers["location"] == "/kiosk/dps-01"
    assert 'id="kiosk-state" class="up">Online' in client.get("/kiosk/dps-01").text


def test_centre_plots_render(client, service, clock):
    for i, circuit in enumerate(("closed", "open", "closed")):
        service.record_sample(CentreSample(at=clock.t + i * 60, siak_circuit=circuit,
                                           backlog=(ClassBacklog(priority=0, depth=i, oldest_age_s=1.0),)))
    service.record_capture(0, clock.t)
    service.record_capture(2, clock.t)
    service.flush()
    sign_in(client)
    page = client.get("/").text
    assert page.count('<svg class="plot"') == 3 and "<rect x=" in page


def test_feedback_is_redacted_and_answered_with_csrf(client, service, store):
    feed(service, feedback("dps-01", "f-1", "NIK saya 5171010101900001 tidak terbaca"))
    sign_in(client)
    page = client.get("/feedback").text
    assert "5171010101900001" not in page and "517101********01" in page
    r = client.post("/feedback/f-1/answer", data={"csrf": "wrong"})
    assert r.status_code == 403 and not store.feedback(answered=True)
    r = client.post("/feedback/f-1/answer", data={"csrf": csrf_of(page)})
    assert r.status_code == 303
    assert [(x.feedback.feedback_id, x.answered_by) for x in store.feedback(answered=True)] == [("f-1", "ayu")]
    assert "answered" in client.get("/feedback?show=answered").text


def test_sign_out_ends_the_session(client):
    sign_in(client)
    page = client.get("/").text
    assert client.post("/logout", data={"csrf": csrf_of(page)}).status_code == 303
    assert client.get("/").status_code == 303


def test_api_and_metrics_with_token(client, service, clock):
    feed(service, status("dps-01", "online", "s1"), health("mal-02", tamper=True))
    auth = {"authorization": f"Bearer {TOKEN}"}
    data = client.get("/api/fleet", headers=auth).json()
    assert data["counts"] == {"kiosks": 2, "online": 2, "offline": 0}
    assert [(k["kiosk_id"], k["online"], k["last_seen"], [a["kind"] for a in k["open_alerts"]])
            for k in data["kiosks"]] == [("dps-01", True, clock.t, []), ("mal-02", True, clock.t, ["tamper"])]
    assert client.get("/api/fleet", headers={"authorization": "Bearer nope"}).status_code == 401
    text = client.get("/metrics", headers=auth).text
    assert 'anjungan_fleet_kiosks{state="online"} 2.0' in text
    assert 'anjungan_fleet_open_alerts{kind="tamper"} 1.0' in text
    assert 'anjungan_fleet_messages_total{kind="health",outcome="ok"} 1.0' in text


def test_security_headers(client):
    r = client.get("/login")
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_api_narrowed_to_one_kiosk(client, service, clock):
    feed(service, status("dps-01", "online", "s1"), status("mal-02", "offline", "s1"))
    auth = {"authorization": f"Bearer {TOKEN}"}
    data = client.get("/api/fleet?kiosk=mal-02", headers=auth).json()
    assert data["counts"] == {"kiosks": 2, "online": 1, "offline": 1}
    assert [(k["kiosk_id"], k["online"]) for k in data["kiosks"]] == [("mal-02", False)]
    assert client.get("/api/fleet?kiosk=nope", headers=auth).json()["kiosks"] == []


def test_sign_in_is_throttled_after_repeated_failures(client, clock):
    for _ in range(5):
        assert sign_in(client, password="guess-guess-guess") == 401
    assert sign_in(client) == 429  # even the right password waits
    clock.t += 301  # the failures leave the window
    assert sign_in(client) == 303


def test_throttle_core():
    from broker.fleet.dashboard.auth import SignInThrottle

    th = SignInThrottle(per_pair=2, per_address=3, window_s=10.0)
    assert th.attempt("ayu", "1.2.3.4", 0.0) and th.attempt("AYU", "1.2.3.4", 1.0)
    assert not th.attempt("ayu", "1.2.3.4", 2.0)  # the pair is spent; a refusal is not counted
    assert th.attempt("ayu", "5.6.7.8", 2.0)  # elsewhere the user still may
    assert th.attempt("budi", "1.2.3.4", 3.0)  # third from this address
    assert not th.attempt("citra", "1.2.3.4", 4.0)  # the address cap holds for any name
    assert th.attempt("ayu", "1.2.3.4", 10.5)  # the first attempt left the window
    th.succeeded("ayu", "1.2.3.4", 10.5)
    assert not th.blocked("ayu", "1.2.3.4", 10.5)
    assert th.attempt("dewi", "1.2.3.4", 10.6)  # the right one gave its address count back
    assert not th.attempt("eka", "1.2.3.4", 10.7)


def test_throttle_counts_an_ipv6_client_by_its_64():
    from broker.fleet.dashboard.auth import SignInThrottle, client_key

    assert client_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_key("::ffff:192.0.2.7") == client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("testclient") == "testclient"
    th = SignInThrottle(per_pair=2)
    assert th.attempt("ayu", "2001:db8:1:2::1", 0.0) and th.attempt("ayu", "2001:db8:1:2::ffff", 0.0)
    assert not th.attempt("ayu", "2001:db8:1:2:ffff:ffff:ffff:ffff", 0.0)  # same /64
    assert th.attempt("ayu", "2001:db8:1:3::1", 0.0)  # the next /64 is another site


def test_throttle_keeps_at_most_max_keys():
    from broker.fleet.dashboard.auth import SignInThrottle

    th = SignInThrottle(per_pair=1, max_keys=4)
    for i in range(100):
        th.attempt(f"user{i}", f"10.0.0.{i}", float(i))
    assert len(th._attempts) == 4
    assert th.blocked("user99", "10.0.0.99", 99.0) and not th.blocked("user0", "10.0.0.0", 99.0)
