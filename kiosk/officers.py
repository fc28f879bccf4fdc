"""Officer PINs for assisted mode: a small JSON file of salted PBKDF2 hashes, never PINs.

    {"officers": {"198703122010011001": "pbkdf2_sha256$200000$<salt hex>$<hash hex>"}}

`kiosk.flow.pins.verify_pin` (pure computation) checks a PIN against them; this module
reads and writes the file and makes the hashes, and keeps the PIN lockout across restarts
(`officer-lock.json` beside the officer file: `{"failures": N, "locked_until": T}`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

from kiosk.errors import OfficerFileError
from kiosk.flow.pins import (
    LOCKOUT_S,
    MAX_PIN_FAILURES,
    OFFICER_ID_DIGITS,
    PIN_DIGITS,
    PinLock,
    verify_pin,
)
from provisioning.files import write_atomic

__all__ = ["OFFICER_ID_DIGITS", "PIN_DIGITS", "add_officer", "hash_pin", "load_officers", "load_pin_lock",
           "save_pin_lock", "verify_pin"]
LOCK_FILE = "officer-lock.json"
LOCK_FILE_MAX = 1024  # ours is under 60 bytes

ITERATIONS = 200_000


def hash_pin(pin: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def load_officers(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise OfficerFileError(f"officer file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise OfficerFileError(f"officer file {path} unreadable: {exc.__class__.__name__}") from exc
    officers = data.get("officers") if isinstance(data, dict) else None
    if not isinstance(officers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in officers.items()
    ):
        raise OfficerFileError(f"officer file {path}: expected {{\"officers\": {{id: hash}}}}")
    return dict(officers)


def add_officer(path: Path, officer_id: str, pin: str) -> None:
    lo, hi = OFFICER_ID_DIGITS
    if not (officer_id.isdigit() and lo <= len(officer_id) <= hi):
        raise OfficerFileError(f"officer id must be {lo}-{hi} digits")
    lo, hi = PIN_DIGITS
    if not (pin.isdigit() and lo <= len(pin) <= hi):
        raise OfficerFileError(f"PIN must be {lo}-{hi} digits")
    officers = load_officers(path) if path.exists() else {}
    officers[officer_id] = hash_pin(pin)
    path.write_text(json.dumps({"officers": officers}, indent=2) + "\n")


def load_pin_lock(path: Path, now: float) -> tuple[PinLock, str]:
    """The lockout as last saved, and a one-line problem ('' if none). No file: no lockout.
    A file that cannot be read or makes no sense locks officer mode for `LOCKOUT_S` (closed,
    not open: a damaged file never undoes a lockout)."""
    try:
        raw = path.read_bytes()
        if len(raw) > LOCK_FILE_MAX:
            raise ValueError("too large")
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        return PinLock(), ""
    except (OSError, ValueError, RecursionError) as exc:
        return PinLock(locked_until=now + LOCKOUT_S), f"officer lock file unreadable ({type(exc).__name__}): locked"
    failures = data.get("failures") if isinstance(data, dict) else None
    until = data.get("locked_until") if isinstance(data, dict) else None
    if (not isinstance(failures, int) or isinstance(failures, bool) or not 0 <= failures < MAX_PIN_FAILURES
            or not isinstance(until, int | float) or isinstance(until, bool) or not math.isfinite(until)):
        return PinLock(locked_until=now + LOCKOUT_S), "officer lock file makes no sense: locked"
    return PinLock(failures=failures, locked_until=min(float(until), now + LOCKOUT_S)), ""


def save_pin_lock(path: Path, lock: PinLock) -> None:
    """Atomically (a crash leaves the old or the new lock, never half a file)."""
    data = {"failures": lock.failures, "locked_until": lock.locked_until}
    write_atomic(path, (json.dumps(data) + "\n").encode(), private=True)
