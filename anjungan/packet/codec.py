"""CBOR encoding of the capture packet, with strict, bounded decoding.

Wire layout (contract v1), a CBOR map with four keys:

    {"h": bstr  canonical CBOR of the header map (signed exactly as sent),
     "b": bstr  HPKE-sealed body (enc || ciphertext),
     "s": bstr  Ed25519 signature, 64 bytes,
     "c": bstr  the kiosk's X.509 certificate, DER}

Decoding refuses: anything over the size limits, tags, unknown or missing keys, wrong
types, non-finite times, and a packet, header or body whose bytes are not the canonical
encoding of what they decode to: no trailing bytes, no duplicate keys, definite lengths
only, shortest forms only. So there is exactly one byte string for every packet, and the
signature covers exactly what is read.
"""

from __future__ import annotations

import uuid
from typing import Any

import cbor2

from anjungan.errors import AnjunganError
from anjungan.packet.model import (
    KEYED_VERSION,
    VERSIONS,
    BiometricRecord,
    CaptureBody,
    CapturePacket,
    Demographics,
    OfficerSignOff,
    PacketError,
    PacketHeader,
)

MAX_PACKET_BYTES = 8 * 1024 * 1024
MAX_HEADER_BYTES = 1024
MAX_CERT_BYTES = 4096
MAX_BODY_BYTES = MAX_PACKET_BYTES - 8192
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_RECORDS = 24
MAX_TEXT = 512
SIGNATURE_BYTES = 64

_HEADER_KEYS = {
    "version": int, "packet_id": bytes, "kiosk_id": str, "sequence": int,
    "created_at": float, "service": str, "priority": int, "suite": str,
    "body_digest": bytes, "assisted": bool,
}
_RECORD_KEYS = {
    "modality": str, "position": str, "format": str, "image": bytes,
    "quality": int, "retries": int, "exception": (str, type(None)),
}
_BODY_KEYS = {"demographics": dict, "biometrics": list, "sign_off": dict}
_SIGN_OFF_KEYS = {"officer_id": str, "confirmed_at": float, "photo": (dict, type(None))}
_DEMOGRAPHIC_FIELDS = {
    "nik": str, "kk_number": str, "name": str, "birth_date": str, "sex": str,
    "address": str, "disability": bool, "phone": str, "officer_id": str, "notes": str,
}


def _reject_tag(_decoder: object, tag: object) -> Any:
    raise PacketError("CBOR tags are not allowed")


def _loads(data: bytes, what: str) -> Any:
    try:
        return cbor2.loads(data, tag_hook=_reject_tag)
    except PacketError:
        raise
    except cbor2.CBORDecodeEOF as exc:
        raise PacketError(f"{what} is truncated", "truncated") from exc
    except Exception as exc:  # cbor2 raises several types for bad input; map them all
        raise PacketError(f"{what} is not valid CBOR ({type(exc).__name__})") from exc


def _checked_map(value: Any, schema: dict[str, Any], what: str, *, required: bool = True) -> dict:
    if not isinstance(value, dict):
        raise PacketError(f"{what} must be a map")
    unknown = set(value) - set(schema)
    if unknown:
        raise PacketError(f"{what} has unknown fields {sorted(map(str, unknown))[:5]}")
    if required and set(value) != set(schema):
        raise PacketError(f"{what} is missing fields {sorted(set(schema) - set(value))}")
    for key, kind in schema.items():
        if key in value:
            item = value[key]
            # bool is an int in Python: refuse it where an int is meant, and vice versa
            if not isinstance(item, kind) or (kind is int and isinstance(item, bool)):
                raise PacketError(f"{what}.{key} has the wrong type")
            if isinstance(item, str) and len(item) > MAX_TEXT:
                raise PacketError(f"{what}.{key} is too long")
    return value


_KEYED_HEADER_KEYS = {**_HEADER_KEYS, "key_id": str}


def encode_header(header: PacketHeader) -> bytes:
    key_id = {"key_id": header.key_id} if header.version == KEYED_VERSION else {}
    return cbor2.dumps(
        {
            **key_id,
            "version": header.version,
            "packet_id": header.packet_id.bytes,
            "kiosk_id": header.kiosk_id,
            "sequence": header.sequence,
            "created_at": float(header.created_at),
            "service": header.service.value,
            "priority": int(header.priority),
            "suite": header.suite,
            "body_digest": header.body_digest,
            "assisted": header.assisted,
        },
        canonical=True,
    )


def decode_header(data: bytes) -> PacketHeader:
    if len(data) > MAX_HEADER_BYTES:
        raise PacketError("header too large", "too_large")
    raw = _loads(data, "header")
    version = raw.get("version") if isinstance(raw, dict) else None
    if isinstance(raw, dict) and (isinstance(version, bool) or version not in VERSIONS):
        raise PacketError(f"unsupported packet version {version!r}", "wrong_version")
    fields = _checked_map(raw, _KEYED_HEADER_KEYS if version == KEYED_VERSION else _HEADER_KEYS, "header")
    if len(fields["packet_id"]) != 16:
        raise PacketError("header.packet_id must be 16 bytes")
    try:
        header = PacketHeader(**{**fields, "packet_id": uuid.UUID(bytes=fields["packet_id"])})
    except PacketError:
        raise
    except (AnjunganError, ValueError, TypeError) as exc:  # e.g. a kiosk id off the contract
        raise PacketError(f"header: {exc}") from exc
    if encode_header(header) != data:
        raise PacketError("header is not in canonical form")
    return header


def encode_packet(packet: CapturePacket) -> bytes:
    return cbor2.dumps(
        {
            "h": encode_header(packet.header),
            "b": packet.sealed_body,
            "s": packet.signature,
            "c": packet.certificate,
        },
        canonical=True,
    )


def decode_packet(data: bytes) -> CapturePacket:
    """Parse wire bytes into a CapturePacket (not yet trusted: see `verify_packet`)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise PacketError("packet must be bytes")
    if len(data) > MAX_PACKET_BYTES:
        raise PacketError(f"packet of {len(data)} bytes exceeds {MAX_PACKET_BYTES}", "too_large")
    if not data:
        raise PacketError("empty packet")
    data = bytes(data)
    outer = _checked_map(
        _loads(data, "packet"), {"h": bytes, "b": bytes, "s": bytes, "c": bytes}, "packet"
    )
    if len(outer["s"]) != SIGNATURE_BYTES:
        raise PacketError("signature must be 64 bytes")
    if not 0 < len(outer["c"]) <= MAX_CERT_BYTES:
        raise PacketError("certificate missing or too large")
    if not 0 < len(outer["b"]) <= MAX_BODY_BYTES:
        raise PacketError("sealed body missing or too large", "too_large")
    packet = CapturePacket(
        header=decode_header(outer["h"]),
        sealed_body=outer["b"],
        signature=outer["s"],
        certificate=outer["c"],
    )
    # one packet, one encoding: trailing bytes, duplicate keys, indefinite lengths and
    # non-shortest integers all re-encode differently
    if encode_packet(packet) != data:
        raise PacketError("packet is not in canonical form", "not_canonical")
    return packet


def _record_map(r: BiometricRecord) -> dict[str, Any]:
    return {
        "modality": r.modality.value,
        "position": r.position,
        "format": r.image_format,
        "image": r.image,
        "quality": r.quality,
        "retries": r.retries,
        "exception": r.exception,
    }


def encode_body(body: CaptureBody) -> bytes:
    d = body.demographics
    doc: dict[str, Any] = {
        "demographics": {name: getattr(d, name) for name in _DEMOGRAPHIC_FIELDS},
        "biometrics": [_record_map(r) for r in body.biometrics],
    }
    if body.sign_off is not None:  # present only in assisted completion: one encoding either way
        s = body.sign_off
        doc["sign_off"] = {"officer_id": s.officer_id, "confirmed_at": s.confirmed_at,
                           "photo": None if s.photo is None else _record_map(s.photo)}
    return cbor2.dumps(doc, canonical=True)


def _record(item: Any, what: str) -> BiometricRecord:
    rec = _checked_map(item, _RECORD_KEYS, what)
    if len(rec["image"]) > MAX_IMAGE_BYTES:
        raise PacketError("biometric image too large", "too_large")
    return BiometricRecord(
        modality=rec["modality"],
        position=rec["position"],
        image_format=rec["format"],
        image=rec["image"],
        quality=rec["quality"],
        retries=rec["retries"],
        exception=rec["exception"],
    )


def _sign_off(item: Any) -> OfficerSignOff:
    raw = _checked_map(item, _SIGN_OFF_KEYS, "sign_off")
    photo = None if raw["photo"] is None else _record(raw["photo"], "exception photo")
    return OfficerSignOff(officer_id=raw["officer_id"], confirmed_at=raw["confirmed_at"], photo=photo)


def decode_body(data: bytes) -> CaptureBody:
    raw = _checked_map(_loads(data, "body"), _BODY_KEYS, "body", required=False)
    if not {"demographics", "biometrics"} <= set(raw):
        raise PacketError("body is missing its demographics or biometrics")
    demo = _checked_map(raw["demographics"], _DEMOGRAPHIC_FIELDS, "demographics")
    if len(raw["biometrics"]) > MAX_RECORDS:
        raise PacketError("too many biometric records")
    records = [_record(item, "biometric record") for item in raw["biometrics"]]
    try:
        sign_off = _sign_off(raw["sign_off"]) if "sign_off" in raw else None
        body = CaptureBody(demographics=Demographics(**demo), biometrics=tuple(records), sign_off=sign_off)
    except ValueError as exc:
        raise PacketError(f"body: {exc}") from exc
    if encode_body(body) != data:
        raise PacketError("body is not in canonical form", "not_canonical")
    return body
