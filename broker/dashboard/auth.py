"""Staff passwords (scrypt), session tokens and CSRF tokens. Pure functions over strings.

A stored password is `scrypt$N$r$p$salt_hex$hash_hex`. The session cookie carries a random
token; the store keeps only its SHA-256, so a leaked database opens no session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

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
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class SignInThrottle:
    """Failed sign-ins per key (a user name, a client address): after `limit` failures in
    `window_s`, that key waits until the oldest failure leaves the window. Time passed in."""

    def __init__(self, *, limit: int = 5, window_s: float = 300.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, list[float]] = {}

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(key, ()) if now - t < self.window_s]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def blocked(self, keys: tuple[str, ...], now: float) -> bool:
        return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        for k in keys:
            self._failures.setdefault(k, []).append(now)

    def succeeded(self, keys: tuple[str, ...]) -> None:
        for k in keys:
            self._failures.pop(k, None)
