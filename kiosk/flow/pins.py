"""Officer ids and PINs for assisted mode, as the flow checks them: pure computation on the
hashes it was given (`kiosk.officers` reads the file and makes the hashes)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from anjungan.packet.model import OFFICER_ID_DIGITS

__all__ = ["OFFICER_ID_DIGITS", "PIN_DIGITS", "verify_pin"]
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
