"""What the dashboard must never show: a full NIK (or any 16-digit run) in free text."""

from __future__ import annotations

import re

from anjungan.nik import mask

_SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")
_LONG_DIGITS = re.compile(r"\d{17,}")


def redact(text: str) -> str:
    """Mask every 16-digit run as a NIK and blank any longer run of digits (a KK, a phone...)."""
    text = _SIXTEEN_DIGITS.sub(lambda m: mask(m.group()), text)
    return _LONG_DIGITS.sub(lambda m: "*" * len(m.group()), text)
