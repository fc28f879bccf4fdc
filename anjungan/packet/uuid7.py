"""UUIDv7 (RFC 9562): 48-bit unix milliseconds, then random bits. Time is passed in."""

from __future__ import annotations

import os
import uuid


def uuid7(now: float, rand: bytes | None = None) -> uuid.UUID:
    ms = int(now * 1000) & ((1 << 48) - 1)
    rnd = int.from_bytes(rand if rand is not None else os.urandom(10), "big") & ((1 << 74) - 1)
    value = (ms << 80) | (0x7 << 76) | ((rnd >> 62) << 64) | (0b10 << 62) | (rnd & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def uuid7_time(value: uuid.UUID) -> float:
    return (value.int >> 80) / 1000.0
