"""Officer PINs for assisted mode: a small JSON file of salted PBKDF2 hashes, never PINs.

    {"officers": {"198703122010011001": "pbkdf2_sha256$200000$<salt hex>$<hash hex>"}}

`verify_pin` is pure computation; the flow calls it with the directory it was given.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path

from kiosk.errors import OfficerFileError

ITERATIONS = 200_000
OFFICER_ID_DIGITS = (4, 18)  # a short desk id up to an 18-digit NIP
PIN_DIGITS = (4, 8)


def hash_pin(pin: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


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
