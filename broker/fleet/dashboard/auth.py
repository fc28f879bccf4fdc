"""Staff passwords (scrypt), session tokens and CSRF tokens. Pure functions over strings.

A stored password is `scrypt$N$r$p$salt_hex$hash_hex`. The session cookie carries a random
token; the store keeps only its SHA-256, so a leaked database opens no session.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections import OrderedDict

from broker.fleet.errors import FleetConfigError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10


def check_username(username: str) -> str:
    if not USERNAME_RE.match(username or ""):
        raise FleetConfigError("user name must be 2-32 of a-z 0-9 . _ - starting with a letter")
    return username


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    if len(password) < MIN_PASSWORD:
        raise FleetConfigError(f"password must be at least {MIN_PASSWORD} characters")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(stored: str | None, password: str) -> bool:
    """Constant-time check; a missing user still costs one scrypt (no user enumeration)."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        params = (int(n), int(r), int(p), bytes.fromhex(salt), bytes.fromhex(digest))
        if scheme != "scrypt":
            raise ValueError(scheme)
    except ValueError:
        hashlib.scrypt(password.encode(), salt=b"0" * 16, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
        return False
    n_, r_, p_, salt_b, digest_b = params
    got = hashlib.scrypt(password.encode(), salt=salt_b, n=n_, r=r_, p=p_, dklen=len(digest_b))
    return hmac.compare_digest(got, digest_b)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: object, b: object) -> bool:
    """Constant-time equality of two non-empty strings; anything else (None, an upload, a
    non-ASCII or NUL-laden header) is simply unequal, never an exception."""
    if not (isinstance(a, str) and isinstance(b, str) and a and b):
        return False
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def client_key(address: str) -> str:
    """Whom the throttle counts: an IPv4 address, or an IPv6 address's /64 (one host, or one
    site, holds a whole /64 and could otherwise take a fresh address per guess)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:192.0.2.7 is 192.0.2.7
    if mapped is None and ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(mapped or ip)


class SignInThrottle:
    """Sign-in attempts per (user name, client address) and per client address.

    A pair is refused after `per_pair` attempts within `window_s`, an address after
    `per_address` (one place guessing many user names). Counting per pair means nobody
    elsewhere can lock the real user out; the per-address cap still stops one place guessing.
    An IPv6 client counts by its /64 (`client_key`). An attempt counts from the moment it
    starts, so parallel guesses cannot slip past the limit, until it succeeds. At most `max_keys` keys are kept: the least recently used go
    first (expired ones are among them). Time passed in.
    """

    def __init__(self, *, per_pair: int = 5, per_address: int = 20, window_s: float = 300.0,
                 max_keys: int = 100_000) -> None:
        self.per_pair, self.per_address, self.window_s, self.max_keys = per_pair, per_address, window_s, max_keys
        self._attempts: OrderedDict[tuple[str, ...], list[float]] = OrderedDict()

    @staticmethod
    def _keys(user: str, address: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        addr = client_key(address)
        return ("pair", user.lower()[:64], addr), ("addr", addr)

    def _recent(self, key: tuple[str, ...], now: float) -> list[float]:
        return [t for t in self._attempts.get(key, ()) if now - t < self.window_s]

    def _keep(self, key: tuple[str, ...], times: list[float]) -> None:
        if times:
            self._attempts[key] = times
            self._attempts.move_to_end(key)
        else:
            self._attempts.pop(key, None)
        while len(self._attempts) > self.max_keys:
            self._attempts.popitem(last=False)

    def blocked(self, user: str, address: str, now: float) -> bool:
        pair, addr = self._keys(user, address)
        return len(self._recent(pair, now)) >= self.per_pair or len(self._recent(addr, now)) >= self.per_address

    def attempt(self, user: str, address: str, now: float) -> bool:
        """Count an attempt starting `now`; False (and nothing counted) when throttled."""
        if self.blocked(user, address, now):
            return False
        for key in self._keys(user, address):
            self._keep(key, [*self._recent(key, now), now])
        return True

    def succeeded(self, user: str, address: str, started: float) -> None:
        """The attempt begun at `started` was right: the pair starts afresh, and the address
        forgets that one attempt (staff behind one NAT do not use up its cap)."""
        pair, addr = self._keys(user, address)
        self._attempts.pop(pair, None)
        times = list(self._attempts.get(addr, ()))
        if started in times:
            times.remove(started)
            self._keep(addr, times)
