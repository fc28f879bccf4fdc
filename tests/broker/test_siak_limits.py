"""The SIAK client's limits against hostile or broken servers on loopback: every call ends by
its deadline, an answer past the cap is refused unread, TLS is pinned, credentials are sent
and never logged; the relay goes on with the next packet; bad options are one-line errors.

Fake servers are raw sockets on threads, so they can do what no real server would: drip,
stall, never read, never end. Times are asserted only as hang guards (3 x the deadline)."""

from __future__ import annotations

import json
import logging
import socket
import string
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anjungan.messages import PacketStatus, SiakState
from anjungan.packet.model import PriorityClass
from broker.errors import (
    ConfigError,
    SiakProtocolError,
    SiakTlsError,
    SiakTooLarge,
    SiakUnavailable,
)
from broker.gateway import Gateway
from broker.queue import EntryState, Envelope, open_queue
from broker.relay import Relay, RelayConfig
from broker.siak.access import SiakAccess, read_token
from broker.siak.client import MAX_ANSWER_BYTES, SiakClient, read_capped
from broker.siak.ledger import Ledger
from broker.siak.sim import SiakSimulator, SimConfig, SimServer
from broker.siak.simtls import SimTls, sim_tls
from entrypoints.cli import main
from provisioning.fleet import load_gateway_key
from tests.broker.kit import RecordingNotifier, make_fleet, packet_bytes

DEADLINE_S = 1.5
CHUNK = 64 * 1024  # the most one socket read hands the client (httpcore reads 64 KiB)
DOC = json.dumps({"packet_id": "x"}).encode()
VIEW = json.dumps({"enrollment_id": "E-1", "state": "SENT_FOR_ENROLLMENT", "replay": False}).encode()

Handler = Callable[["FakeSiak", socket.socket], None]


class FakeSiak:
    """A raw TCP server on a free loopback port; `handler(server, conn)` per connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stop = threading.Event()
        self.heads: list[bytes] = []
        self.sent = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> FakeSiak:
        self._spawn(self._accept)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with conn:
            try:
                self.handler(self, conn)
            except OSError:
                pass  # the client hung up: what these servers are for

    def read_request(self, conn: socket.socket) -> bytes:
        """The request head (kept in `heads`), its body read and dropped."""
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536) or b"\r\n\r\n"
        head, _, body = data.partition(b"\r\n\r\n")
        self.heads.append(head)
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += conn.recv(65536) or b"x" * length
        return head

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def drip(self, conn: socket.socket, data: bytes, every_s: float = 0.5) -> None:
        """One byte of `data` (cycled) every `every_s`, until the client leaves or the test ends."""
        i = 0
        while not self.stop.wait(every_s):
            self.send(conn, data[i % len(data):i % len(data) + 1])
            i += 1


def headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}


def answer(status: str, body: bytes, extra: bytes = b"") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + extra + b"\r\n" + body


def ends_by_deadline(call: Callable[[], object], error: type[Exception], match: str | None = None) -> Exception:
    """Run `call`; it must fail with `error` and not hang (3 x the deadline, a hang guard only)."""
    start = time.monotonic()
    with pytest.raises(error, match=match) as caught:
        call()
    elapsed = time.monotonic() - start
    assert elapsed < DEADLINE_S * 3, f"call took {elapsed:.1f} s with a {DEADLINE_S} s deadline"
    return caught.value


def client(url: str, **kw: object) -> SiakClient:
    return SiakClient(url, timeout_s=DEADLINE_S, **kw)  # type: ignore[arg-type]


# --- answers too large ---------------------------------------------------------------------


def endless_chunks(server: FakeSiak, conn: socket.socket) -> None:
    server.read_request(conn)
    server.send(conn, b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK)  # JSON white space, for ever
    while not server.stop.is_set():
        server.send(conn, chunk)


def test_an_endless_answer_is_refused_past_the_cap_in_bounded_memory() -> None:
    with FakeSiak(endless_chunks) as siak:
        tracemalloc.start()
        try:
            ends_by_deadline(lambda: client(siak.url).submit(str(uuid.uuid4()), DOC), SiakTooLarge,
                             match="cap")
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # the answer buffer (cap + one chunk) and a few chunk copies, not the stream
    assert peak < 8 * (MAX_ANSWER_BYTES + CHUNK)


def test_a_declared_huge_answer_is_refused_before_reading() -> None:
    def huge(server: FakeSiak, conn: socket.socket) -> None:
        server.read_request(conn)
        server.send(conn, b"HTTP/1.1 201 Created\r\nContent-Length: 629145600\r\n\r\n" + b" " * CHUNK)
        server.stop.wait()

    with FakeSiak(huge) as siak:
        ends_by_deadline(lambda: client(siak.url).submit(str(uuid.uuid4()), DOC), SiakTooLarge,
                         match="629145600 bytes")


def test_read_capped_stops_reading_one_chunk_past_the_cap() -> None:
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1000
            yield b"x" * 1000

    with pytest.raises(SiakTooLarge):
        read_capped(endless(), 4096)
    assert pulled == 5000  # 4096 bytes fit in 5 chunks; the 5th passes the cap; no 6th is read
    assert read_capped(iter([b"ab", b"cd"]), 4) == b"abcd"


def test_an_encoded_answer_is_refused() -> None:
    def gzipped(server: FakeSiak, conn: socket.socket) -> None:
        server.read_request(conn)
        server.send(conn, answer("201 Created", b"\x1f\x8b", b"Content-Encoding: gzip\r\n"))

    with FakeSiak(gzipped) as siak:
        ends_by_deadline(lambda: client(siak.url).submit(str(uuid.uuid4()), DOC), SiakProtocolError,
                         match="content encoding")
        assert headers(siak.heads[0])["accept-encoding"] == "identity"


# --- servers that never finish ---------------------------------------------------------------


def drip_head(server: FakeSiak, conn: socket.socket) -> None:
    server.read_request(conn)
    server.drip(conn, b"HTTP/1.1 201 Created\r\nX-Drip: " + b"a" * 1000)


def drip_body(server: FakeSiak, conn: socket.socket) -> None:
    server.read_request(conn)
    server.send(conn, b"HTTP/1.1 201 Created\r\nContent-Length: 1000\r\n\r\n")
    server.drip(conn, b" ")


def silent(server: FakeSiak, conn: socket.socket) -> None:
    server.read_request(conn)
    server.stop.wait()


def deaf(server: FakeSiak, conn: socket.socket) -> None:
    server.stop.wait()  # accepts, never reads: the client's writes stall


@pytest.mark.parametrize("handler", [drip_head, drip_body, silent], ids=["drip-head", "drip-body", "silent"])
def test_a_call_ends_at_its_deadline_whatever_the_server_does(handler: Handler) -> None:
    with FakeSiak(handler) as siak:
        c = client(siak.url)
        ends_by_deadline(lambda: c.submit(str(uuid.uuid4()), DOC), SiakUnavailable, match="timed out")
        ends_by_deadline(lambda: c.status(str(uuid.uuid4())), SiakUnavailable, match="timed out")
        assert len(siak.heads) == 2  # the calls did go out


def test_a_tls_handshake_dripped_byte_by_byte_ends_at_the_deadline() -> None:
    def drip_hello(server: FakeSiak, conn: socket.socket) -> None:
        server.heads.append(conn.recv(65536))  # the ClientHello
        server.drip(conn, b"\x16\x03\x03\x40\x00" + b"\x02" * 0x4000)  # a 16 KiB handshake record, slowly

    with FakeSiak(drip_hello) as siak:
        url = siak.url.replace("http://", "https://")
        ends_by_deadline(lambda: client(url).submit(str(uuid.uuid4()), DOC), SiakUnavailable, match="timed out")
        assert siak.heads[0][:1] == b"\x16"  # a TLS handshake did begin


def test_a_server_that_never_reads_cannot_stall_the_send() -> None:
    document = b" " * (32 * 1024 * 1024)  # far more than the loopback socket buffers hold
    with FakeSiak(deaf) as siak:
        ends_by_deadline(lambda: client(siak.url).submit(str(uuid.uuid4()), document),
                         SiakUnavailable, match="timed out")


# --- TLS and credentials ------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimTls, SimTls]:
    """The simulator's certificates, and another CA's: a SIAK impostor's."""
    return sim_tls(tmp_path_factory.mktemp("siak-tls")), sim_tls(tmp_path_factory.mktemp("impostor"))


def tls_sim(tls: SimTls, *, client_cert: bool = False, token: str = "") -> SimServer:
    sim = SiakSimulator(SimConfig(capacity_rps=1000.0, latency_s=0.0), Ledger(), token=token)
    return SimServer(sim, tls=tls, client_cert=client_cert)


def submit_once(url: str, access: SiakAccess) -> SiakState:
    """One submission by a client of its own, closed after (a live keep-alive connection
    would hold up the simulator's shutdown)."""
    c = client(url, access=access)
    try:
        return c.submit(str(uuid.uuid4()), doc()).state
    finally:
        c.close()


def doc() -> bytes:
    return json.dumps({
        "packet_id": str(uuid.uuid4()), "kiosk_id": "kiosk-01", "service": "replacement",
        "priority": 1, "captured_at": 1.0, "demographics": {"nik": "5171010101900001"},
        "biometrics": [{"modality": "face", "position": "face", "image": "AAAA"}],
    }).encode()


def test_https_with_the_pinned_ca_and_mutual_tls(pki: tuple[SimTls, SimTls]) -> None:
    tls, impostor = pki
    with tls_sim(tls, client_cert=True) as sim:
        assert sim.url.startswith("https://")
        mine = SiakAccess(ca_file=tls.ca_file, cert_file=tls.client_cert, key_file=tls.client_key)
        assert submit_once(sim.url, mine) is SiakState.SENT_FOR_ENROLLMENT
        # refused in the handshake; under TLS 1.3 the client may only see the server hang up
        no_cert = SiakAccess(ca_file=tls.ca_file)
        ends_by_deadline(lambda: submit_once(sim.url, no_cert),
                         SiakUnavailable, match="TLS|unreachable")
        foreign_cert = SiakAccess(ca_file=tls.ca_file, cert_file=impostor.client_cert,
                                  key_file=impostor.client_key)
        ends_by_deadline(lambda: submit_once(sim.url, foreign_cert),
                         SiakUnavailable, match="TLS|unreachable")
        assert sim.sim.counts["requests"] == 1  # only the one with our certificate got through


def test_a_siak_certified_by_another_ca_is_refused(pki: tuple[SimTls, SimTls]) -> None:
    tls, impostor = pki
    with tls_sim(impostor) as sim:
        pinned = SiakAccess(ca_file=tls.ca_file)
        err = ends_by_deadline(lambda: submit_once(sim.url, pinned),
                               SiakTlsError)
        assert "CERTIFICATE_VERIFY_FAILED" in str(err)
        system_cas = SiakAccess()  # no pin: the system's CAs do not know the simulator's either
        ends_by_deadline(lambda: submit_once(sim.url, system_cas),
                         SiakTlsError)
        assert sim.sim.counts.get("requests", 0) == 0


def test_the_token_is_sent_as_bearer_and_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token = "s3cr3t-T0ken_" + uuid.uuid4().hex
    (tmp_path / "token").write_text(f"  {token}\n")
    access = SiakAccess(token=read_token(tmp_path / "token"), insecure_http=True)
    assert token not in repr(access)

    def ok_then_refuse(server: FakeSiak, conn: socket.socket) -> None:
        server.read_request(conn)
        if len(server.heads) == 1:
            server.send(conn, answer("201 Created", VIEW))
        else:
            server.send(conn, answer("401 Unauthorized", json.dumps({"error": "bad token"}).encode()))

    caplog.set_level(logging.DEBUG)
    with FakeSiak(ok_then_refuse) as siak:
        c = client(siak.url, access=access)
        assert c.submit(str(uuid.uuid4()), DOC).enrollment_id == "E-1"
        err = ends_by_deadline(lambda: c.submit(str(uuid.uuid4()), DOC), SiakUnavailable, match="credentials")
    assert headers(siak.heads[0])["authorization"] == f"Bearer {token}"
    assert caplog.records  # httpx and httpcore did log, at debug
    assert token not in caplog.text and token not in str(err) and token not in repr(c.__dict__)


def test_the_simulator_requires_its_token(pki: tuple[SimTls, SimTls]) -> None:
    tls, _ = pki
    with tls_sim(tls, token="right-token") as sim:
        wrong = SiakAccess(ca_file=tls.ca_file, token="wrong-token")
        ends_by_deadline(lambda: submit_once(sim.url, wrong),
                         SiakUnavailable, match="credentials")
        right = SiakAccess(ca_file=tls.ca_file, token="right-token")
        c = client(sim.url, access=right)
        assert c.status(str(uuid.uuid4())) is None
        c.close()
        assert sim.sim.counts == {"requests": 1, "401": 1, "404": 1}


# --- the relay goes on -----------------------------------------------------------------------


def test_the_relay_goes_on_with_the_next_packet_after_a_deadline(tmp_path: Path) -> None:
    fleet_dir, bundles = make_fleet(tmp_path, ("kiosk-01",))
    bundle = bundles["kiosk-01"]
    queue = open_queue("memory://")
    stuck, stuck_raw = packet_bytes(bundle, 1, priority=PriorityClass.VULNERABLE)
    fine, fine_raw = packet_bytes(bundle, 2, priority=PriorityClass.ROUTINE)
    for seq, (pid, raw, prio) in enumerate(((stuck, stuck_raw, PriorityClass.VULNERABLE),
                                            (fine, fine_raw, PriorityClass.ROUTINE)), 1):
        queue.enqueue([Envelope(packet_id=pid, kiosk_id="kiosk-01", sequence=seq, priority=prio,
                                captured_at=0.0, packet=raw)], now=time.time())

    def drip_for_stuck(server: FakeSiak, conn: socket.socket) -> None:
        head = server.read_request(conn)
        if stuck.encode() in head:
            server.drip(conn, b"HTTP/1.1 201 Created\r\n")
        else:
            server.send(conn, answer("201 Created", VIEW))

    cfg = RelayConfig(workers=1, rate_rps=100.0, backoff_base_s=60.0, backoff_cap_s=60.0,
                      status_poll_s=0.0)
    notifier = RecordingNotifier()
    with FakeSiak(drip_for_stuck) as siak:
        relay = Relay(queue, Gateway(load_gateway_key(fleet_dir)), client(siak.url), notifier, cfg,
                      rand=lambda: 0.5)
        start = time.monotonic()
        assert relay.step("w") is True  # the vulnerable packet first: it meets the deadline
        assert time.monotonic() - start < DEADLINE_S * 3
        assert relay.step("w") is True  # and the next one goes
    first, second = queue.get(stuck), queue.get(fine)
    assert first is not None and second is not None
    assert (first.state, second.state) == (EntryState.PENDING, EntryState.ACCEPTED)
    assert "timed out" in first.reason
    assert [m.packet_id for _k, m in notifier.sent if isinstance(m, PacketStatus)] == [fine]


# --- options -------------------------------------------------------------------------------


def run_service(tmp_path: Path, *extra: str) -> int:
    try:
        return main(["broker", "run", "--fleet", str(tmp_path / "no-fleet"), *extra])
    except SystemExit as exc:  # argparse's own usage errors
        return int(exc.code or 0)


@pytest.mark.parametrize("options, says", [
    (("--siak-timeout", "soon"), "a deadline is seconds"),
    (("--siak-timeout", "-1"), "a deadline is seconds"),
    (("--siak-timeout", "nan"), "a deadline is seconds"),
    (("--siak", "http://siak.example"), "plain http"),
    (("--siak", "siak.example:443"), "must be https://HOST"),
    (("--siak-ca", "/nonexistent/ca.pem"), "SIAK's CA"),
    (("--siak-ca", "{garbage}"), "SIAK's CA"),
    (("--siak-cert", "{garbage}", "--siak-key", "{garbage}"), "client certificate"),
    (("--siak-cert", "/x.pem"), "go together"),
    (("--siak-token-file", "/nonexistent/token"), "cannot read SIAK token file"),
    (("--siak-token-file", "{empty}"), "is empty"),
    (("--siak-token-file", "{garbage}"), "does not hold one bearer token"),
    (("--siak", "http://127.0.0.1:1", "--siak-insecure-http", "--siak-ca", "{ca}"), "need an https"),
])
def test_bad_siak_options_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              pki: tuple[SimTls, SimTls], options: tuple[str, ...],
                                              says: str) -> None:
    (tmp_path / "garbage").write_bytes(b"secret \x00\xff not a token nor a PEM\n")
    (tmp_path / "empty").write_text("\n")
    files = {"{garbage}": str(tmp_path / "garbage"), "{empty}": str(tmp_path / "empty"),
             "{ca}": str(pki[0].ca_file)}
    code = run_service(tmp_path, *(files.get(o, o) for o in options))
    err = capsys.readouterr().err
    assert code == 2 and says in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "secret" not in err


def test_bad_simulator_options_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["siak-sim", "--client-cert"]) == 2
    assert capsys.readouterr().err.strip() == "anjungan: error: --client-cert needs --tls-dir"
    assert main(["siak-sim", "--token-file", str(tmp_path / "none")]) == 2
    assert "cannot read SIAK token file" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["siak-sim", "--tls-dir", str(tmp_path / "file")]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=64) | st.text(alphabet=string.printable, max_size=64).map(str.encode))
def test_a_token_file_holds_one_token_or_is_refused_without_quoting_it(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / "token").write_bytes(raw)
    try:
        token = read_token(tmp_path / "token")
    except ConfigError as exc:  # one of two fixed sentences: nothing of the file's content
        said = str(exc).removeprefix(f"SIAK token file {tmp_path / 'token'} ")
        assert said in ("is empty", "does not hold one bearer token (up to 4096 of A-Z a-z 0-9 -._~+/=)")
    else:
        assert token.encode() == raw.strip() and token and " " not in token


def test_access_needs_cert_and_key_together() -> None:
    with pytest.raises(ConfigError, match="go together"):
        SiakAccess(key_file=Path("k.pem"))
