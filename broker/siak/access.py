"""How the gateway reaches SIAK: https with SIAK's CA pinned, our client certificate
(mutual TLS) and/or a bearer token read from a file. Plain http only when asked for by
name (`--siak-insecure-http`, tests and benchmarks).

Every bad setting is a `ConfigError` of one line, at start-up, that never shows the token."""

from __future__ import annotations

import argparse
import math
import ssl
import string
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from broker.errors import ConfigError

MAX_TOKEN_BYTES = 4096
# RFC 6750 b64token: the characters a bearer token may hold
TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-._~+/=")


@dataclass(frozen=True, kw_only=True)
class SiakAccess:
    ca_file: Path | None = None  # pinned: SIAK's certificate must chain to this CA alone
    cert_file: Path | None = None  # our client certificate (mutual TLS), with key_file
    key_file: Path | None = None
    token: str = field(default="", repr=False)  # sent as `Authorization: Bearer …`
    insecure_http: bool = False  # allow a plain http:// SIAK URL

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError("--siak-cert and --siak-key go together")

    def check_url(self, url: str) -> None:
        """Refuse a SIAK URL we would not send residents' data to."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(f"SIAK URL must be https://HOST[:PORT], not {url[:80]!r}")
        if parts.scheme == "http" and not self.insecure_http:
            raise ConfigError("SIAK URL is plain http: use https, or --siak-insecure-http for a test SIAK")
        if parts.scheme == "http" and (self.ca_file or self.cert_file):
            raise ConfigError("--siak-ca/--siak-cert need an https SIAK URL")

    def ssl_context(self) -> ssl.SSLContext:
        """Verify against the pinned CA only (the system's CAs when none is given)."""
        try:
            ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot use {self.ca_file} as SIAK's CA: {_why(exc)}") from exc
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file and self.key_file:
            try:
                ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"cannot use {self.cert_file} / {self.key_file} as our SIAK "
                                  f"client certificate: {_why(exc)}") from exc
        return ctx


def read_token(path: Path) -> str:
    """The bearer token in `path` (surrounding white space ignored). Errors never quote it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read SIAK token file {path}: {exc.strerror or exc}") from exc
    token = raw.strip()
    if not token:
        raise ConfigError(f"SIAK token file {path} is empty")
    if len(token) > MAX_TOKEN_BYTES or not set(token.decode("latin-1")) <= TOKEN_CHARS:
        raise ConfigError(f"SIAK token file {path} does not hold one bearer token "
                          f"(up to {MAX_TOKEN_BYTES} of A-Z a-z 0-9 -._~+/=)")
    return token.decode("ascii")


DEFAULT_URL = "https://127.0.0.1:8900"


def add_options(p: argparse.ArgumentParser) -> None:
    """`broker run`'s SIAK options (one place: the service, the demo and the docs agree)."""
    p.add_argument("--siak", default=DEFAULT_URL, metavar="URL", help=f"SIAK base URL (default {DEFAULT_URL})")
    p.add_argument("--siak-timeout", type=_deadline, default=10.0, metavar="S",
                   help="deadline of one SIAK call: connect, send and the whole answer (default 10)")
    p.add_argument("--siak-ca", type=Path, metavar="FILE",
                   help="SIAK's CA (PEM): trust SIAK's certificate only if it chains to this CA")
    p.add_argument("--siak-cert", type=Path, metavar="FILE", help="our client certificate for SIAK (PEM)")
    p.add_argument("--siak-key", type=Path, metavar="FILE", help="its private key (PEM)")
    p.add_argument("--siak-token-file", type=Path, metavar="FILE",
                   help="send the bearer token in FILE (0600) on every SIAK call")
    p.add_argument("--siak-insecure-http", action="store_true",
                   help="allow a plain http:// SIAK URL (test SIAKs only)")


def from_options(args: argparse.Namespace) -> SiakAccess:
    """The options' access; the service checks it against the URL (`check_url`, the files)."""
    token = read_token(args.siak_token_file) if args.siak_token_file else ""
    return SiakAccess(ca_file=args.siak_ca, cert_file=args.siak_cert, key_file=args.siak_key,
                      token=token, insecure_http=args.siak_insecure_http)


def _deadline(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"a deadline is seconds in (0, 3600], not {text[:40]!r}")
    return value


def _why(exc: OSError | ssl.SSLError) -> str:
    return str(getattr(exc, "reason", None) or exc.strerror or exc)[:120]
