"""The dashboard's edge: TLS files, which proxies to believe, and request-body limits.

Theory of operation. The client address (the sign-in throttle's key) and the scheme (whether
cookies are `Secure`) come from the TCP peer, unless that peer is a configured trusted proxy:
only then are `X-Forwarded-For` and `X-Forwarded-Proto` read, and a header that does not
parse is ignored whole. With no trusted proxy (the default) no forwarded header is believed,
whoever sends it. `forwarded()` is the pure rule; `TrustedProxies` applies it to each ASGI
scope. Only the standard library is imported, so the CLI can add these options cheaply.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from broker.fleet.errors import FleetConfigError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_FORWARDED_CHARS = 1024  # a longer X-Forwarded-For is ignored, not parsed
MAX_BODY_BYTES = 64 * 1024  # every dashboard form fits many times over


@dataclass(frozen=True, kw_only=True)
class HttpOptions:
    """How the dashboard listens: TLS certificate and key (PEM files), trusted proxies."""

    cert: str = ""
    key: str = ""
    trusted_proxies: tuple[Network, ...] = field(default=())

    def __post_init__(self) -> None:
        if bool(self.cert) != bool(self.key):
            raise FleetConfigError("give both --http-cert and --http-key (or neither)")

    @property
    def tls(self) -> bool:
        return bool(self.cert)

    def check_tls(self) -> None:
        """Load the certificate and key once, so a bad file is one line before listening."""
        if not self.tls:
            return
        import ssl  # here, not at import: the CLI imports this module for its options

        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise FleetConfigError(f"cannot load --http-cert/--http-key: {exc.__class__.__name__}"
                                   f" {getattr(exc, 'strerror', None) or exc.args[-1]}") from None


def trusted_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`ADDR` or `ADDR/PREFIX`, IPv4 or IPv6."""
    nets = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise FleetConfigError(f"--trusted-proxy must be an IP address or network, not {value!r}") from None
    return tuple(nets)


def add_http_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--http-cert", default="", metavar="PEM",
                   help="serve the dashboard over HTTPS with this certificate (chain) file")
    p.add_argument("--http-key", default="", metavar="PEM", help="the private key for --http-cert")
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDR[/PREFIX]",
                   help="a reverse proxy whose X-Forwarded-For/-Proto to believe (repeatable;"
                        " default: none)")


def http_options(args: argparse.Namespace) -> HttpOptions:
    return HttpOptions(cert=args.http_cert, key=args.http_key,
                       trusted_proxies=trusted_networks(args.trusted_proxy))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    mapped = getattr(addr, "ipv4_mapped", None)  # ::ffff:10.0.0.1 from a dual-stack socket
    return mapped or addr


def is_trusted(host: str, trusted: tuple[Network, ...]) -> bool:
    addr = _address(host) if trusted else None
    return addr is not None and any(addr in net for net in trusted)


def forwarded(peer: str, scheme: str, xff: str, proto: str,
              trusted: tuple[Network, ...]) -> tuple[str, str]:
    """(client address, scheme) for a request from `peer`. From a trusted peer: the nearest
    untrusted address in `X-Forwarded-For` (read right to left) and a single-valued
    `X-Forwarded-Proto`; from anyone else, or when a header does not parse: the peer's own."""
    if not is_trusted(peer, trusted):
        return peer, scheme
    if proto.strip().lower() in ("http", "https"):
        scheme = proto.strip().lower()
    if not xff or len(xff) > MAX_FORWARDED_CHARS:
        return peer, scheme
    hops = [_address(h) for h in xff.split(",")]
    if any(h is None for h in hops):
        return peer, scheme
    client = peer
    for hop in reversed(hops):
        client = str(hop)
        if not is_trusted(client, trusted):
            break
    return client, scheme


def _header(scope: Scope, name: bytes) -> str:
    values = [v for k, v in scope.get("headers", ()) if k == name]
    return values[0].decode("latin-1") if len(values) == 1 else ""  # repeated: believe neither


class TrustedProxies:
    """Rewrites the scope's client address and scheme by `forwarded()` (pure ASGI)."""

    def __init__(self, app: ASGIApp, trusted: tuple[Network, ...] = ()) -> None:
        self.app, self.trusted = app, trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and scope.get("client"):
            peer, port = scope["client"]
            host, scheme = forwarded(peer, scope.get("scheme", "http"), _header(scope, b"x-forwarded-for"),
                                     _header(scope, b"x-forwarded-proto"), self.trusted)
            scope = {**scope, "client": (host, port if host == peer else 0), "scheme": scheme}
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Answers 413 to a request body over `limit` bytes, declared or streamed (pure ASGI)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared and not (declared.isascii() and declared.isdigit()):
            await _plain(send, 400, "bad content-length\n")
            return
        if declared and (len(declared) > 12 or int(declared) > self.limit):
            await _plain(send, 413, "request body too large\n")
            return
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:
                raise
            await _plain(send, 413, "request body too large\n")


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers: list[Any] = [(b"content-type", b"text/plain; charset=utf-8"),
                          (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
