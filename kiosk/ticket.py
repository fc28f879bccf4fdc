"""Receipt ticket numbers and the QR payload that carries them.

A ticket is 8 digits, typeable on the keypad: the packet's per-kiosk sequence (7 digits,
wrapping) and a Luhn check digit, so a mistyped digit is caught before any lookup. The QR
adds the kiosk id and packet id so any kiosk or the centre can find the packet; it carries
no personal data.
"""

from __future__ import annotations

import re
import uuid

from anjungan.ids import KIOSK_ID_PATTERN, PACKET_ID_PATTERN

TICKET_LEN = 8
QR_PREFIX = "anjungan:v1:ticket"
_QR_RE = re.compile(rf"^{QR_PREFIX}:({KIOSK_ID_PATTERN}):(\d{{{TICKET_LEN}}}):({PACKET_ID_PATTERN})$")


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_ticket(sequence: int) -> str:
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    body = f"{sequence % 10_000_000:07d}"
    return body + _luhn_digit(body)


def ticket_ok(ticket: str) -> bool:
    return (
        len(ticket) == TICKET_LEN
        and ticket.isascii()
        and ticket.isdigit()
        and _luhn_digit(ticket[:-1]) == ticket[-1]
    )


def qr_payload(kiosk_id: str, ticket: str, packet_id: str) -> str:
    return f"{QR_PREFIX}:{kiosk_id}:{ticket}:{packet_id}"


def parse_qr(payload: str) -> tuple[str, str, str] | None:
    """(kiosk_id, ticket, packet_id), or None for anything that is not our receipt's QR."""
    m = _QR_RE.match(payload.strip())
    if not m or not ticket_ok(m.group(2)):
        return None
    try:
        uuid.UUID(m.group(3))
    except ValueError:
        return None
    return m.group(1), m.group(2), m.group(3)
