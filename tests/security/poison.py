"""Poison an attacker with a valid kiosk certificate and signing key can send: each message
well formed enough to reach the centre's handlers, none of it acceptable."""

from __future__ import annotations

import hashlib

import cbor2

from anjungan.messages import MAX_MESSAGE_BYTES
from anjungan.packet.codec import MAX_PACKET_BYTES
from anjungan.packet.seal import SIGNATURE_DOMAIN
from provisioning.bundle import KioskBundle
from tests.broker.kit import packet_bytes


def resigned(bundle: KioskBundle, seq: int, **header_changes: object) -> bytes:
    """A real packet whose header is changed and signed again with the kiosk's own key."""
    _pid, raw = packet_bytes(bundle, seq)
    outer = cbor2.loads(raw)
    header = cbor2.loads(outer["h"])
    header.update(header_changes)
    h = cbor2.dumps(header, canonical=True)
    cert = outer["c"]
    sig = bundle.identity.private_key.sign(SIGNATURE_DOMAIN + h + hashlib.sha256(cert).digest())
    return cbor2.dumps({**outer, "h": h, "s": sig}, canonical=True)


def duplicate_key(raw: bytes) -> bytes:
    """The same packet with its "c" entry written twice (a 5-entry map)."""
    outer = cbor2.loads(raw)
    body = b"".join(cbor2.dumps(k) + cbor2.dumps(outer[k]) for k in ("b", "c", "h", "s"))
    extra = cbor2.dumps("c") + cbor2.dumps(outer["c"])
    return bytes([0xA5]) + body + extra


def indefinite(raw: bytes) -> bytes:
    """The same map in CBOR's indefinite-length form."""
    outer = cbor2.loads(raw)
    body = b"".join(cbor2.dumps(k) + cbor2.dumps(outer[k]) for k in sorted(outer))
    return b"\xbf" + body + b"\xff"


def captures(bundle: KioskBundle, first_seq: int) -> dict[str, bytes]:
    """Poison captures, by name; each one's sequence is fresh so no replay rule hides it."""
    _pid, good = packet_bytes(bundle, first_seq)
    return {
        "nan_time": resigned(bundle, first_seq + 1, created_at=float("nan")),
        "inf_time": resigned(bundle, first_seq + 2, created_at=float("inf")),
        "minus_inf_time": resigned(bundle, first_seq + 3, created_at=float("-inf")),
        "trailing_bytes": good + b"\x00junk",
        "duplicate_key": duplicate_key(packet_bytes(bundle, first_seq + 4)[1]),
        "indefinite_length": indefinite(packet_bytes(bundle, first_seq + 5)[1]),
        "truncated": good[: len(good) // 2],
        "oversize": b"\xa4" + b"\x00" * (MAX_PACKET_BYTES + 1),
        "deep_cbor": b"\x81" * 50_000,
    }


DEEP_JSON = b"[" * 30_000 + b"]" * 30_000
JSON_POISON = {
    "deep_array": DEEP_JSON,
    "deep_object": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "nan": b'{"type":"status_query","query_id":"q1","packet_id":NaN}',
    "infinity": b'{"type":"health","kiosk_id":"k","session_id":"s","at":Infinity}',
    "huge_number": b'{"type":"health","kiosk_id":"k","session_id":"s","at":1e999}',
    "huge_int": b'{"type":"health","kiosk_id":"k","session_id":"s","at":' + b"9" * 5000 + b"}",
    "duplicate_key": b'{"type":"status_query","type":"status_query","query_id":"q","packet_id":"x"}',
    "truncated": b'{"type":"status_query","query_id":"q1","pack',
    "oversize": b'{"type":"feedback","text":"' + b"x" * MAX_MESSAGE_BYTES + b'"}',
    "not_utf8": b'{"type":"feedback","text":"\xff\xfe"}',
}
