"""Officer PINs for assisted mode: a small JSON file of salted PBKDF2 hashes, never PINs.

    {"officers": {"198703122010011001": "pbkdf2_sha256$200000$<salt hex>$<hash hex>"}}

`kiosk.flow.pins.verify_pin` (pure computation) checks a PIN against them; this module
reads and writes the file and makes the hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from kiosk.errors import OfficerFileError
from kiosk.flow.pins import OFFICER_ID_DIGITS, PIN_DIGITS, verify_pin

__all__ = ["OFFICER_ID_DIGITS", "PIN_DIGITS", "add_officer", "hash_pin", "load_officers", "verify_pin"]

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
