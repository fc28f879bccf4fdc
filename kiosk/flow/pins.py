"""Officer ids and PINs for assisted mode, as the flow checks them: pure computation on the
hashes it was given (`kiosk.officers` reads the file and makes the hashes), and the lockout
after repeated wrong PINs, which outlives the session (the shell persists it)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from anjungan.packet.model import OFFICER_ID_DIGITS

__all__ = ["LOCKOUT_S", "MAX_PIN_FAILURES", "OFFICER_IDLE_S", "OFFICER_ID_DIGITS", "PIN_DIGITS",
           "OfficerVisit", "PinLock", "verify_pin"]

MAX_PIN_FAILURES = 3  # wrong PINs in a row, across sessions and restarts, before the lockout
LOCKOUT_S = 15 * 60.0  # officer mode refuses every PIN this long after the last failure


OFFICER_IDLE_S = 10 * 60.0  # a signed-in officer (a Jemput Bola visit) is signed out after this idle


@dataclass(frozen=True, kw_only=True)
class OfficerVisit:
    """An officer signed in on this kiosk: every session starts assisted in their name until
    they sign out or leave the kiosk idle for `OFFICER_IDLE_S`."""

    officer_id: str
    last_active: float

    def idle(self, now: float) -> bool:
        return now - self.last_active >= OFFICER_IDLE_S


@dataclass(frozen=True, kw_only=True)
class PinLock:
    """Wrong PINs in a row on this kiosk (any officer id: guessing ids gains nothing) and
    until when officer mode is locked. Kept by the flow across sessions; persisted by the shell."""

    failures: int = 0
    locked_until: float = 0.0

    def locked(self, now: float) -> bool:
        return now < self.locked_until

    def left(self) -> int:
        return max(0, MAX_PIN_FAILURES - self.failures)

    def failed(self, now: float) -> PinLock:
        if self.failures + 1 >= MAX_PIN_FAILURES:
            return PinLock(failures=0, locked_until=now + LOCKOUT_S)
        return PinLock(failures=self.failures + 1, locked_until=self.locked_until)
PIN_DIGITS = (4, 8)


def verify_pin(officers: Mapping[str, str], officer_id: str, pin: str) -> bool:
    stored = officers.get(officer_id)
    if not stored:
        hashlib.pbkdf2_hmac("sha256", pin.encode(), b"\0" * 16, 1000)  # keep timing similar-ish
        return False
    try:
        scheme, iterations, salt_hex, hash_hex = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt_hex), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), hash_hex)
