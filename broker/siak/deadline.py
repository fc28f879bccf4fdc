"""One overall deadline per SIAK call, kept at the socket.

httpx's timeouts are per operation: a server that drips one byte at a time keeps a call
alive for ever under a 3 s read timeout. Under this transport every socket operation
(connect, TLS handshake, each write, each read; headers and body alike) may take at most
the time left until the calling thread's deadline, so a call ends by its deadline whatever
the server does. The deadline is per thread: the relay's workers share one client.

A call may also be given a `cancel` event (the client's `abandon()`, at shutdown): a
blocking read then waits in slices of `CANCEL_POLL_S` and ends soon after the event is
set, so a process stopping mid-call does not wait for SIAK's answer.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

WRITE_PIECE = 16 * 1024  # a write is cut in pieces so a stalled reader meets the deadline
CANCEL_POLL_S = 0.2  # how often a blocked read looks at the cancel event

_local = threading.local()


@contextmanager
def deadline_in(seconds: float, cancel: threading.Event | None = None) -> Iterator[None]:
    """Socket operations in this thread under this block end `seconds` from now at the
    latest, or soon after `cancel` is set."""
    previous = getattr(_local, "at", None), getattr(_local, "cancel", None)
    _local.at, _local.cancel = time.monotonic() + seconds, cancel
    try:
        yield
    finally:
        _local.at, _local.cancel = previous


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """The operation's own timeout, cut to the time left; `error` once none is left or the
    call is cancelled."""
    cancel: threading.Event | None = getattr(_local, "cancel", None)
    if cancel is not None and cancel.is_set():
        raise error("the call was abandoned")
    if timeout is not None and timeout <= 0:
        raise error("the operation's timeout passed")
    at: float | None = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


def _read_sliced(read: Callable[[float | None], bytes], timeout: float | None) -> bytes:
    """A blocking read under the thread's deadline; with a cancel event, in slices of
    `CANCEL_POLL_S`, each slice's timeout a wake-up to look at the event, not a failure."""
    if getattr(_local, "cancel", None) is None:
        return read(_left(timeout, httpcore.ReadTimeout))
    until = None if timeout is None else time.monotonic() + timeout
    while True:
        left = _left(None if until is None else until - time.monotonic(), httpcore.ReadTimeout)
        piece = CANCEL_POLL_S if left is None else min(left, CANCEL_POLL_S)
        try:
            return read(piece)
        except httpcore.ReadTimeout:
            if left is not None and piece >= left:
                raise


class DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _read_sliced(lambda piece: self._inner.read(max_bytes, piece), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), WRITE_PIECE):
            piece = buffer[start:start + WRITE_PIECE]
            self._inner.write(piece, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's own HTTP/1.1 transport (its error mapping included) over sockets that honour
    the calling thread's deadline."""

    def __init__(self, *, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        # httpx takes no network backend; its pool is replaced by the same pool with ours
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=DeadlineBackend(),
        )
