"""The dashboard against an attacker: garbage tokens, cookies, headers, forms and bodies get a
4xx and never a 500 or a traceback; the sign-in throttle cannot lock the real user out; only
trusted proxies are believed; HTTPS makes every cookie Secure and adds HSTS (one test through
a real uvicorn with TLS on loopback)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

with warnings.catch_warnings():  # starlette 1.x would prefer httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from broker.fleet.dashboard.app import create_app
from broker.fleet.dashboard.auth import same
from broker.fleet.dashboard.edge import (
    MAX_BODY_BYTES,
    BodyLimit,
    HttpOptions,
    forwarded,
    trusted_networks,
)
from broker.fleet.errors import FleetConfigError
from broker.fleet.service import FleetService
from broker.fleet.store import FleetStore, open_store
from provisioning.broker_process import free_port

from .kit import PASSWORD, Clock, csrf_of, feedback, status

PROXY, TOKEN = "10.9.9.9", "api-token-for-tests"

# tokens an attacker may send as a bearer token, a cookie or a CSRF field
GARBAGE = ["é", "ключ-🔑", "", " ", "a\x00b", "\x00", "x" * 100_000, "Bearer", "%00%ff", "\u202e", "'\"<>"]


@pytest.fixture
def service(tmp_path, password_hash) -> Iterator[FleetService]:
    """A fleet service over a SQLite store (the one under attack) with one staff user, ayu."""
    fleet_store = open_store(f"sqlite://{tmp_path / 'fleet.db'}")
    fleet_store.set_staff("ayu", password_hash, at=0.0)
    yield FleetService(fleet_store, clock=Clock())
    fleet_store.close()


@pytest.fixture
def store(service) -> FleetStore:
    return service.store


def client_for(service: FleetService, host: str = "testclient", *, trusted: tuple[str, ...] = (),
               base_url: str = "http://testserver") -> TestClient:
    app = create_app(service, api_token=TOKEN, trusted_proxies=trusted_networks(trusted))
    return TestClient(app, follow_redirects=False, raise_server_exceptions=False,
                      client=(host, 40000), base_url=base_url)


@pytest.fixture
def client(service) -> Iterator[TestClient]:
    with client_for(service) as c:
        yield c


def sign_in(c: TestClient, user: str = "ayu", password: str = PASSWORD,
            headers: dict[str, str] | None = None) -> httpx.Response:
    page = c.get("/login", headers=headers)
    return c.post("/login", headers=headers,
                  data={"username": user, "password": password, "csrf": csrf_of(page.text)})


def refused(r: httpx.Response) -> bool:
    """A 4xx with no trace of our insides."""
    return 400 <= r.status_code < 500 and "Traceback" not in r.text and "File \"" not in r.text


def csrf_refusal(field: str) -> int:
    """What a wrong CSRF field earns: 403, or 413 when the form it rides in is too big."""
    return 413 if len(field) > MAX_BODY_BYTES else 403


def raw(value: str) -> bytes:
    """A header value as an attacker sends it: UTF-8 bytes, which ASGI hands on as latin-1."""
    return value.encode("utf-8", "surrogatepass")


# -- tokens and cookies --------------------------------------------------------------------


def test_same_never_raises():
    assert same("abc", "abc") and not same("abc", "abd")
    assert not same("é", "é\x00") and same("é", "é")
    assert not same("", "") and not same(None, "x") and not same("x", None) and not same(b"x", "x")
    assert not same("\ud800", "x")  # a lone surrogate (from a lenient decoder) is just unequal


@given(st.text(), st.text())
def test_same_is_equality_for_any_text(a, b):
    assert same(a, b) == (a == b and a != "")


@pytest.mark.parametrize("token", GARBAGE)
def test_garbage_bearer_token_is_401(client, token):
    for path in ("/api/fleet", "/metrics"):
        r = client.get(path, headers=[(b"authorization", b"Bearer " + raw(token))])
        assert r.status_code == 401 and refused(r)
    r = client.get("/api/fleet", headers=[(b"authorization", raw(token))])
    assert r.status_code == 401


@pytest.mark.parametrize("token", GARBAGE)
def test_garbage_session_cookie_is_not_signed_in(client, token):
    r = client.get("/", headers=[(b"cookie", b"anjungan_session=" + raw(token))])
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/"
    r = client.get("/api/fleet", headers=[(b"cookie", b"anjungan_session=" + raw(token))])
    assert r.status_code == 401


@pytest.mark.parametrize("token", GARBAGE)
def test_garbage_csrf_and_pre_cookie_at_sign_in(service, token):
    with client_for(service) as c:
        for cookie, field in ((token, "abc"), ("abc", token), ("", token), (token, "")):
            r = c.post("/login", headers=[(b"cookie", b"anjungan_pre=" + raw(cookie))],
                       data={"username": "ayu", "password": PASSWORD, "csrf": field})
            assert refused(r) and r.status_code == csrf_refusal(field)
            assert "anjungan_session" not in r.headers.get("set-cookie", "")
        page = c.get("/login", headers=[(b"cookie", b"anjungan_pre=" + raw(token))])
        assert page.status_code == 200 and csrf_of(page.text) != token  # a fresh one is issued
        r = c.post("/login", data={"username": "ayu", "password": PASSWORD, "csrf": token})
        assert refused(r) and r.status_code == csrf_refusal(token)


@pytest.mark.parametrize("token", GARBAGE)
def test_garbage_csrf_on_staff_forms(client, service, store, token):
    assert service.handle(*feedback("dps-01", "f-1", "layar mati"))
    service.flush()
    assert sign_in(client).status_code == 303
    for path in ("/feedback/f-1/answer", "/logout"):
        r = client.post(path, data={"csrf": token})
        assert refused(r) and r.status_code == csrf_refusal(token)
    assert not store.feedback(answered=True)
    assert client.get("/").status_code == 200  # still signed in


# -- the sign-in throttle -------------------------------------------------------------------


def test_wrong_passwords_elsewhere_do_not_lock_the_user_out(service):
    with client_for(service, "203.0.113.7") as attacker, client_for(service, "198.51.100.2") as office:
        assert [sign_in(attacker, password=f"guess-{i}-guess").status_code for i in range(6)] == [401] * 5 + [429]
        assert sign_in(attacker).status_code == 429  # even the right password waits there
        assert sign_in(office).status_code == 303  # the real user, from the office


def test_one_address_guessing_many_names_is_capped(service):
    with client_for(service, "203.0.113.7") as attacker, client_for(service, "198.51.100.2") as office:
        codes = [sign_in(attacker, user=f"user{i}", password="guess-guess-1").status_code for i in range(21)]
        assert codes == [401] * 20 + [429]
        assert sign_in(attacker).status_code == 429  # a fresh name from there waits too
        assert sign_in(office).status_code == 303


def test_parallel_guesses_do_not_slip_past_the_limit(service):
    """Twenty guesses at once: each is counted when it starts, so exactly five are checked."""
    app = create_app(service, api_token=TOKEN)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            page = await c.get("/login")
            form = {"username": "ayu", "password": "guess-guess-1", "csrf": csrf_of(page.text)}
            answers = await asyncio.gather(*(c.post("/login", data=form) for _ in range(20)))
            return sorted(r.status_code for r in answers)

    assert asyncio.run(run()) == [401] * 5 + [429] * 15


# -- forwarded headers ----------------------------------------------------------------------


def test_forwarded_for_from_anyone_untrusted_is_ignored(service):
    """No trusted proxy (the default): rotating X-Forwarded-For does not dodge the throttle,
    not even from loopback."""
    with client_for(service, "127.0.0.1") as c:
        codes = [sign_in(c, password="guess-guess-1", headers={"x-forwarded-for": f"192.0.2.{i}"}).status_code
                 for i in range(6)]
    assert codes == [401] * 5 + [429]


def test_forwarded_for_from_a_trusted_proxy_is_the_client(service):
    with client_for(service, PROXY, trusted=(PROXY,)) as proxy, \
            client_for(service, "192.0.2.50", trusted=(PROXY,)) as direct:
        attacker, office = {"x-forwarded-for": "203.0.113.7"}, {"x-forwarded-for": "198.51.100.2"}
        codes = [sign_in(proxy, password="guess-guess-1", headers=attacker).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        assert sign_in(proxy, headers=office).status_code == 303  # another client behind the proxy
        # a client that is not the proxy cannot pretend to be someone behind it
        codes = [sign_in(direct, password="guess-guess-1", headers={"x-forwarded-for": f"192.0.2.{i}"}).status_code
                 for i in range(6)]
        assert codes == [401] * 5 + [429]


NETS = trusted_networks(["10.0.0.0/8", "fd00::1"])


@pytest.mark.parametrize(("peer", "xff", "proto", "want"), [
    ("10.1.1.1", "203.0.113.7", "https", ("203.0.113.7", "https")),
    ("10.1.1.1", "203.0.113.7, 10.2.2.2", "", ("203.0.113.7", "http")),  # two trusted hops
    ("10.1.1.1", "198.51.100.1, 203.0.113.7", "", ("203.0.113.7", "http")),  # leftmost is the client's say
    ("10.1.1.1", "10.3.3.3", "HTTPS", ("10.3.3.3", "https")),  # all trusted: the farthest
    ("fd00::1", "2001:db8::5", "https", ("2001:db8::5", "https")),
    ("::ffff:10.1.1.1", "::ffff:203.0.113.7", "", ("203.0.113.7", "http")),  # IPv4 on a dual-stack socket
    ("10.1.1.1", "not-an-address", "https", ("10.1.1.1", "https")),  # unparseable: the peer
    ("10.1.1.1", "203.0.113.7:443", "", ("10.1.1.1", "http")),
    ("10.1.1.1", "é", "ftp", ("10.1.1.1", "http")),
    ("10.1.1.1", "1.1.1.1," * 200, "", ("10.1.1.1", "http")),  # overlong
    ("10.1.1.1", "", "https, http", ("10.1.1.1", "http")),  # more than one proto: neither
    ("192.0.2.1", "203.0.113.7", "https", ("192.0.2.1", "http")),  # untrusted peer
    ("testclient", "203.0.113.7", "https", ("testclient", "http")),
])
def test_forwarded_rule(peer, xff, proto, want):
    assert forwarded(peer, "http", xff, proto, NETS) == want


@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=40))
def test_forwarded_never_raises(xff, proto, peer):
    host, scheme = forwarded(peer, "http", xff, proto, NETS)
    assert scheme in ("http", "https")
    assert host == peer or ipaddress.ip_address(host)


def test_both_commands_take_the_options():
    from broker.fleet.dashboard.edge import http_options
    from entrypoints.cli import build_parser

    tail = ["--http-cert", "c.pem", "--http-key", "k.pem",
            "--trusted-proxy", "10.0.0.1", "--trusted-proxy", "fd00::/8"]
    for argv in (["broker", "run", "--fleet", "F", "--http", "127.0.0.1:0"], ["fleet", "serve"]):
        opts = http_options(build_parser().parse_args(argv + tail))
        assert (opts.cert, opts.key, opts.tls) == ("c.pem", "k.pem", True)
        assert opts.trusted_proxies == (ipaddress.ip_network("10.0.0.1/32"), ipaddress.ip_network("fd00::/8"))
        assert http_options(build_parser().parse_args(argv)) == HttpOptions()  # no TLS, no proxy


@pytest.mark.parametrize(("extra", "message"), [
    (["--http-cert", "c.pem"], "give both --http-cert and --http-key"),
    (["--trusted-proxy", "proxy.example"], "--trusted-proxy must be an IP address or network"),
    (["--http-cert", "/nonexistent/c.pem", "--http-key", "/nonexistent/k.pem"], "cannot load --http-cert"),
])
def test_bad_dashboard_options_are_one_line(extra, message, capsys, tmp_path, monkeypatch):
    from entrypoints.cli import main

    monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path))
    argv = ["fleet", "serve", "--mqtt", "mqtt://127.0.0.1:1", "--db", "sqlite://:memory:", "--http", "127.0.0.1:0"]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_trusted_proxy_and_half_tls_options_are_refused():
    with pytest.raises(FleetConfigError, match="--trusted-proxy"):
        trusted_networks(["proxy.example"])
    with pytest.raises(FleetConfigError, match="both --http-cert and --http-key"):
        HttpOptions(cert="c.pem")
    with pytest.raises(FleetConfigError, match="cannot load --http-cert"):
        HttpOptions(cert="/nonexistent/c.pem", key="/nonexistent/k.pem").check_tls()


# -- cookies over HTTP and HTTPS ------------------------------------------------------------


def set_cookies(r: httpx.Response) -> list[str]:
    return r.headers.get_list("set-cookie")


def secure_everywhere(responses: list[httpx.Response]) -> bool:
    cookies = [c for r in responses for c in set_cookies(r)]
    return len(cookies) >= 3 and all(
        "; Secure" in c and "; HttpOnly" in c and "SameSite=strict" in c for c in cookies
    ) and all(r.headers["strict-transport-security"] == "max-age=31536000" for r in responses)


def cookie_round(c: TestClient, headers: dict[str, str] | None = None) -> list[httpx.Response]:
    """Sign in and switch language; the pre-session cookie is sent by hand, as a browser
    would send it even where the test client's jar keeps a Secure cookie from plain http."""
    page = c.get("/login", headers=headers)
    pre = page.headers["set-cookie"].split(";")[0]
    c.cookies.clear()
    signed = c.post("/login", headers={**(headers or {}), "cookie": pre},
                    data={"username": "ayu", "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert signed.status_code == 303
    return [page, signed, c.get("/lang/en", headers=headers)]


def test_plain_http_cookies_are_not_secure_and_no_hsts(service):
    with client_for(service, "127.0.0.1") as c:
        responses = cookie_round(c, {"x-forwarded-proto": "https"})  # not from a trusted proxy
    assert all("Secure" not in c for r in responses for c in set_cookies(r))
    assert all("HttpOnly" in c for r in responses for c in set_cookies(r))
    assert not any("strict-transport-security" in r.headers for r in responses)


def test_https_cookies_are_secure_with_hsts(service):
    with client_for(service, base_url="https://testserver") as c:
        assert secure_everywhere(cookie_round(c))


def test_behind_a_trusted_tls_proxy_cookies_are_secure(service):
    with client_for(service, PROXY, trusted=(PROXY,)) as c:
        assert secure_everywhere(cookie_round(c, {"x-forwarded-proto": "https",
                                                  "x-forwarded-for": "198.51.100.2"}))


# -- every other input ----------------------------------------------------------------------


@pytest.fixture
def signed_in(client, service) -> TestClient:
    assert service.handle(*status("dps-01", "online", "s1"))
    service.flush()
    assert sign_in(client).status_code == 303
    return client


@pytest.mark.parametrize("hours", ["nan", "inf", "-inf", "-1", "0", "1e309", "²", "٣", "9" * 5000,
                                   "1.5", "%00", "", "99999999"])
def test_plot_window_garbage_falls_back(signed_in, hours):
    for path in ("/", "/kiosk/dps-01"):
        r = signed_in.get(path, params={"hours": hours})
        assert r.status_code == 200 and r.text == signed_in.get(path).text  # the 24 h default


@pytest.mark.parametrize("kiosk", ["%00", "é", "x" * 5000, "..%2F..%2Fetc", "DPS-01", "a%0d%0ab"])
def test_garbage_kiosk_ids_are_404(signed_in, kiosk):
    r = signed_in.get(f"/kiosk/{kiosk}")
    assert r.status_code == 404 and refused(r)
    r = signed_in.get("/api/fleet", params={"kiosk": kiosk})
    assert r.status_code == 200 and r.json()["kiosks"] == []


@pytest.mark.parametrize("fid", ["%00", "x" * 5000, "é", "%ff"])
def test_garbage_feedback_ids_answer_nothing(signed_in, store, fid):
    csrf = csrf_of(signed_in.get("/feedback").text)
    r = signed_in.post(f"/feedback/{fid}/answer", data={"csrf": csrf})
    assert r.status_code == 303 and not store.feedback(answered=True)


@pytest.mark.parametrize(("name", "value"), [
    (b"host", "é.example"), (b"cookie", "anjungan_lang=ñ; =; ;;; a=\"b"), (b"accept-language", "日本"),
    (b"user-agent", "\xff\xfe"), (b"x-forwarded-for", "é, 1.2.3.4"), (b"referer", "http://é/"),
    (b"content-type", "multipart/form-data; boundary=é"),
])
def test_non_ascii_headers(signed_in, name, value):
    for method, path in (("GET", "/"), ("GET", "/login"), ("GET", "/api/fleet"), ("POST", "/logout")):
        r = signed_in.request(method, path, headers=[(name, raw(value))])
        assert r.status_code < 500 and "Traceback" not in r.text


def test_overlong_and_odd_forms_are_400_with_a_reason(signed_in):
    csrf = csrf_of(signed_in.get("/").text)
    r = signed_in.post("/logout", data={"csrf": csrf, "x": "y" * 5000})
    assert r.status_code == 400 and "exceeded maximum size" in r.text
    r = signed_in.post("/logout", data={"csrf": csrf, "x": "é" * 1000})  # sent as 6000 bytes (%C3%A9)
    assert r.status_code == 400 and "exceeded maximum size" in r.text
    r = signed_in.post("/logout", data={f"f{i}": "1" for i in range(50)} | {"csrf": csrf})
    assert r.status_code == 400 and "Too many fields" in r.text
    r = signed_in.post("/logout", data={"csrf": csrf}, files={"upload": ("a.txt", b"hello")})
    assert r.status_code == 400 and "Too many files" in r.text
    multipart, urlencoded = "multipart/form-data; boundary=zz", "application/x-www-form-urlencoded"
    r = signed_in.post("/logout", content=b"--zz\r\nnonsense", headers={"content-type": multipart})
    assert r.status_code == 403 and refused(r)  # no fields, so no CSRF token
    r = signed_in.post("/logout", content=b"csrf=%ff%fe&\xff\xfe=\xc3", headers={"content-type": urlencoded})
    assert r.status_code == 403 and refused(r)
    r = sign_in(signed_in, user="ayu" * 2000, password="p" * 5000)
    assert r.status_code == 400 and "exceeded maximum size" in r.text
    assert signed_in.get("/").status_code == 200  # none of it signed anyone out


def test_huge_bodies_are_413(signed_in):
    csrf = csrf_of(signed_in.get("/").text)
    big = {"csrf": csrf, "x": "y" * 200_000}
    r = signed_in.post("/logout", data=big)
    assert r.status_code == 413 and r.text == "request body too large\n"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield f"csrf={csrf}&x=".encode()
        for _ in range(100):
            yield b"y" * 4096

    r = signed_in.post("/logout", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert signed_in.get("/").status_code == 200


def test_declared_length_is_checked_before_reading():
    async def app(scope, receive, send):  # pragma: no cover - never reached
        raise AssertionError("the body limit let it through")

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():  # pragma: no cover - never read
        raise AssertionError("read a body it should have refused")

    for length, want in ((b"65537", 413), (b"99999999999999999999999", 413), (b"-1", 400), (b"\xc3\xa9", 400)):
        sent.clear()
        scope = {"type": "http", "headers": [(b"content-length", length)]}
        asyncio.run(BodyLimit(app)(scope, receive, send))
        assert sent[0]["status"] == want


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("body", [deep_json(100_000), json.dumps({"k": ["x" * 1000] * 60}).encode(),
                                  b'{"a": NaN, "b": Infinity}', b"\xff\xfe{", b"null"])
def test_json_bodies_anywhere_are_refused(signed_in, body):
    """No endpoint takes JSON: a JSON body is a 405, a 413 or a form without a CSRF token."""
    for path in ("/api/fleet", "/metrics", "/login", "/logout", "/feedback/f-1/answer", "/", "/healthz"):
        r = signed_in.post(path, content=body, headers={"content-type": "application/json"})
        assert refused(r), (path, r.status_code)
    assert signed_in.get("/").status_code == 200


# -- a real uvicorn over TLS ----------------------------------------------------------------


def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 and localhost (cryptography, by
    the provisioning package's builders)."""
    from cryptography.hazmat.primitives import serialization

    from provisioning.x509 import issue, make_ca, new_ec_key

    now = dt.datetime.now(dt.UTC)
    ca_key, key = new_ec_key(), new_ec_key()
    ca = make_ca(ca_key, fleet_name="Dashboard test", now=now)
    leaf = issue(ca=ca, ca_key=ca_key, common_name="127.0.0.1", unit="dashboard", public_key=key.public_key(),
                 server_names=("127.0.0.1", "localhost"), client=False, now=now, days=1)
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


def test_fleet_serve_over_tls_through_uvicorn(tmp_path, password_hash, monkeypatch, capsys):
    from entrypoints.cli import main

    ca, cert, key = make_tls(tmp_path)
    config = tmp_path / "fleet.json"
    staff = [{"username": user, "password_hash": password_hash} for user in ("ayu", "budi")]
    config.write_text(json.dumps({"staff": staff}))
    env = {**os.environ, "ANJUNGAN_RUNTIME_DIR": str(tmp_path / "run"), "FORWARDED_ALLOW_IPS": "*"}
    server = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "fleet", "serve", "--mqtt", f"mqtt://127.0.0.1:{free_port()}",
         "--db", f"sqlite://{tmp_path / 'fleet.db'}", "--http", "127.0.0.1:0", "--config", str(config),
         "--http-cert", str(cert), "--http-key", str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip().removeprefix("fleet dashboard: ")
        assert url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(base_url=url, verify=trust, follow_redirects=False, timeout=10) as c:
            # uvicorn's own forwarded-header handling is off, even with $FORWARDED_ALLOW_IPS=*
            codes = [sign_in(c, "budi", "guess-guess-1", {"x-forwarded-for": f"192.0.2.{i}"}).status_code
                     for i in range(6)]
            assert codes == [401] * 5 + [429]  # all counted for (budi, 127.0.0.1)
            r = c.get("/login")
            assert r.headers["strict-transport-security"] == "max-age=31536000"
            assert "server" not in r.headers
            signed = c.post("/login", data={"username": "ayu", "password": PASSWORD, "csrf": csrf_of(r.text)})
            assert signed.status_code == 303  # another user from the same address is not held up
            assert secure_everywhere([r, signed, c.get("/lang/en")])
            assert c.get("/").status_code == 200
            r = c.post("/logout", data={"csrf": "é" * 1000})
            assert r.status_code == 400 and r.text == "Field exceeded maximum size of 4KB."
            assert c.post("/logout", content=b"x" * 100_000).text == "request body too large\n"
            c.cookies.clear()
            for token in ("é", "\x7f\x80", "x" * 8000):
                r = c.get("/api/fleet", headers=[(b"authorization", b"Bearer " + raw(token))])
                assert r.status_code == 401
            r = c.get("/", headers=[(b"cookie", b"anjungan_session=" + raw("é" * 100))])
            assert r.status_code == 303
        # the terminal view finds the running service and trusts its CA when told to
        monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path / "run"))
        capsys.readouterr()
        assert main(["fleet", "status", "--json", "--cacert", str(ca)]) == 0
        assert json.loads(capsys.readouterr().out)["counts"] == {"kiosks": 0, "online": 0, "offline": 0}
        assert main(["fleet", "status"]) == 1  # the system trust store does not know this CA
        assert "does not answer" in capsys.readouterr().err
        with httpx.Client(verify=False, timeout=10) as plain:  # plain HTTP to the TLS port
            with pytest.raises(httpx.HTTPError):
                plain.get(url.replace("https://", "http://") + "/healthz")
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=20)
    assert "Traceback" not in err, err
