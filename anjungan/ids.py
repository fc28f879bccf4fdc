"""The ids that cross components, each defined once: a kiosk id and a packet id.

A kiosk id is DNS-label-like: it appears in MQTT topics, certificate names, file names and
the receipt's QR. A packet id is the UUIDv7 the kiosk gives a capture, as its 36-character
string; it appears in acks, status queries, the queue and the receipt's QR.
"""

from __future__ import annotations

import re

from anjungan.errors import AnjunganError

KIOSK_ID_PATTERN = r"[a-z0-9][a-z0-9-]{1,62}"
KIOSK_ID_RE = re.compile(rf"^{KIOSK_ID_PATTERN}$")
PACKET_ID_LEN = 36  # str(uuid.UUID): 32 hex digits and 4 hyphens
PACKET_ID_PATTERN = r"[0-9a-f-]{36}"


class IdError(AnjunganError):
    """An id outside the contract."""


def check_kiosk_id(kiosk_id: str) -> str:
    if not isinstance(kiosk_id, str) or not KIOSK_ID_RE.match(kiosk_id):
        raise IdError(f"invalid kiosk id {kiosk_id!r}: use 2-63 lowercase letters, digits or '-'")
    return kiosk_id


def is_packet_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == PACKET_ID_LEN
