"""The gateway's SIAK client (httpx). Every library error is mapped here, at the boundary,
to the most specific `broker.errors.SiakError`: the relay decides retry or dead letter
from the type alone.

Limits a hostile or broken SIAK cannot lift: each call (connect, TLS, send, every read)
ends by one overall deadline (`deadline.py`); an answer is read as a stream and refused
past `max_answer_bytes` (a SIAK answer is a small JSON object); no content encoding is
asked for or accepted, so nothing inflates after the cap."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterable

import httpx

from anjungan.nik import redact
from broker.errors import (
    SiakAbandoned,
    SiakError,
    SiakProtocolError,
    SiakRejected,
    SiakThrottled,
    SiakTlsError,
    SiakTooLarge,
    SiakUnavailable,
)
from broker.observe import NULL, STATUS, SUBMIT, CentreObserver
from broker.siak.access import SiakAccess
from broker.siak.contract import (
    IDEMPOTENCY_HEADER,
    STATUS_PATH,
    SUBMIT_PATH,
    ContractError,
    EnrollmentView,
    parse_view,
)
from broker.siak.deadline import DeadlineTransport, deadline_in

TRANSIENT_4XX = {408, 409, 425, 429}
CREDENTIALS_REFUSED = {401, 403}  # our token or certificate, not the packet: retried
MAX_ANSWER_BYTES = 64 * 1024


class SiakClient:
    def __init__(
        self,
        base_url: str,
        *,
        access: SiakAccess | None = None,
        timeout_s: float = 10.0,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_connections: int = 16,
        transport: httpx.BaseTransport | None = None,
        observer: CentreObserver = NULL,
    ) -> None:
        """`timeout_s` is the deadline of a whole call. `access` says how to reach SIAK
        (TLS, token); the URL policy (`SiakAccess.check_url`) is the caller's to apply.
        `observer` is told every call's outcome and duration (metrics)."""
        access = access or SiakAccess()
        self.observer = observer
        self._abandon = threading.Event()
        self.deadline_s, self.max_answer_bytes = timeout_s, max_answer_bytes
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        headers = {"Accept-Encoding": "identity"}
        if access.token:
            headers["Authorization"] = f"Bearer {access.token}"
        self._http = httpx.Client(
            base_url=base_url, headers=headers, trust_env=False,  # no proxy or .netrc from env
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
            transport=transport or DeadlineTransport(ssl_context=access.ssl_context(), limits=limits),
        )

    def submit(self, key: str, document: bytes) -> EnrollmentView:
        """POST one enrollment with its idempotency key (the packet id)."""
        _status, answer = self._call("POST", SUBMIT_PATH, content=document,
                                     headers={IDEMPOTENCY_HEADER: key,
                                              "Content-Type": "application/json"})
        return _view(answer)

    def status(self, key: str) -> EnrollmentView | None:
        status, answer = self._call("GET", STATUS_PATH.format(key=key), allow_404=True)
        return None if status == 404 else _view(answer)

    def abandon(self, on: bool = True) -> None:
        """At shutdown: calls in flight end within moments (`SiakAbandoned`), new ones at
        once; `abandon(False)` lets calls through again (the relay, once its threads ended)."""
        if on:
            self._abandon.set()
        else:
            self._abandon.clear()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, *, allow_404: bool = False, **kw: object) -> tuple[int, bytes]:
        """One exchange, timed and its outcome told to the observer."""
        started, outcome = time.monotonic(), "ok"
        try:
            return self._exchange(method, path, allow_404=allow_404, **kw)
        except SiakError as exc:
            outcome = _OUTCOMES.get(type(exc), "protocol")
            raise
        finally:
            self.observer.siak_call(SUBMIT if method == "POST" else STATUS, outcome, time.monotonic() - started)

    def _exchange(self, method: str, path: str, *, allow_404: bool = False, **kw: object) -> tuple[int, bytes]:
        """One exchange within the deadline: the status and the (capped) answer."""
        try:
            with deadline_in(self.deadline_s, self._abandon):
                request = self._http.build_request(method, path, **kw)  # type: ignore[arg-type]
                response = self._http.send(request, stream=True)
                try:
                    answer = self._read(response)
                finally:
                    response.close()
        except httpx.TransportError as exc:
            if self._abandon.is_set():
                raise SiakAbandoned("SIAK call abandoned: shutting down") from exc
            raise _transport_error(exc, self.deadline_s) from exc
        except httpx.HTTPError as exc:
            raise SiakProtocolError(f"SIAK exchange failed ({exc.__class__.__name__})") from exc
        return self._answered(response, answer, allow_404=allow_404)

    def _answered(self, response: httpx.Response, answer: bytes, *, allow_404: bool) -> tuple[int, bytes]:
        """The status and answer of a completed exchange, or the error they mean."""
        status = response.status_code
        if status < 300 or (allow_404 and status == 404):
            return status, answer
        reason = _reason(answer) or response.reason_phrase
        if status == 429:
            raise SiakThrottled(f"SIAK throttled: {reason}", _retry_after(response))
        if status in CREDENTIALS_REFUSED:
            raise SiakUnavailable(f"SIAK refused our credentials ({status}): {reason}")
        if status >= 500 or status in TRANSIENT_4XX:
            raise SiakUnavailable(f"SIAK {status}: {reason}")
        if 400 <= status < 500:
            raise SiakRejected(f"SIAK {status}: {reason}", status)
        raise SiakProtocolError(f"unexpected SIAK status {status}")

    def _read(self, response: httpx.Response) -> bytes:
        cap = self.max_answer_bytes
        if response.headers.get("Content-Encoding", "identity").lower() != "identity":
            raise SiakProtocolError("SIAK answered with a content encoding we did not ask for")
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > cap:
            raise SiakTooLarge(f"SIAK answer of {int(length)} bytes is over the {cap}-byte cap")
        return read_capped(response.iter_bytes(), cap)  # identity: the bytes as they came


_OUTCOMES: dict[type[SiakError], str] = {
    SiakUnavailable: "unavailable", SiakAbandoned: "abandoned", SiakTlsError: "tls",
    SiakThrottled: "throttled", SiakRejected: "rejected", SiakProtocolError: "protocol", SiakTooLarge: "protocol",
}


def read_capped(chunks: Iterable[bytes], cap: int) -> bytes:
    """Join `chunks` but stop reading once past `cap` bytes: memory stays under cap + one chunk."""
    answer = bytearray()
    for chunk in chunks:
        answer += chunk
        if len(answer) > cap:
            raise SiakTooLarge(f"SIAK answer over the {cap}-byte cap: refused")
    return bytes(answer)


def _transport_error(exc: httpx.TransportError, deadline_s: float) -> SiakError:
    """The SiakError a library transport error means: timed out, TLS, or unreachable."""
    if isinstance(exc, httpx.TimeoutException):
        return SiakUnavailable(f"SIAK timed out ({exc.__class__.__name__}; deadline {deadline_s:g} s)")
    tls = _tls_reason(exc)
    if tls:
        return SiakTlsError(f"TLS with SIAK failed ({tls})")
    return SiakUnavailable(f"SIAK unreachable ({exc.__class__.__name__})")


def _tls_reason(exc: BaseException) -> str:
    """The TLS failure behind a transport error (e.g. CERTIFICATE_VERIFY_FAILED), if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return str(seen.reason or seen.__class__.__name__)[:80]
        seen = seen.__cause__ or seen.__context__
    return ""


def _view(answer: bytes) -> EnrollmentView:
    try:
        return parse_view(json.loads(answer))
    except (ValueError, ContractError) as exc:
        raise SiakProtocolError(f"SIAK answered outside the contract: {exc}") from exc


def _reason(answer: bytes) -> str:
    try:
        data = json.loads(answer)
        text = data.get("error", "") if isinstance(data, dict) else ""
    except (ValueError, UnicodeDecodeError):
        text = ""
    # SIAK's own words go to logs and dead-letter reasons: never a NIK from them
    return redact(str(text)[:200])


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, min(60.0, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


__all__ = ["MAX_ANSWER_BYTES", "SiakAccess", "SiakClient", "SiakError", "read_capped"]
