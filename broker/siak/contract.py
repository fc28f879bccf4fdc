"""The SIAK gateway HTTP contract, v1 (documented in broker/SIAK_API.md).

One definition of the paths, headers and the submission document, shared by the client
and the simulator. The submission carries the opened body: only the gateway builds it.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from anjungan.messages import SiakState
from anjungan.packet.model import BiometricRecord, CaptureBody, PacketHeader, is_officer_id

SUBMIT_PATH = "/v1/enrollments"
STATUS_PATH = "/v1/enrollments/{key}"
IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
MAX_SUBMISSION_BYTES = 16 * 1024 * 1024
STATES_AT_SIAK = tuple(s for s in SiakState if s is not SiakState.QUEUED)


class ContractError(ValueError):
    """A document that does not follow the contract (the simulator answers 400/422)."""


@dataclass(frozen=True, kw_only=True)
class EnrollmentView:
    """What SIAK answers about one enrollment (to submit and to status)."""

    enrollment_id: str
    state: SiakState
    replay: bool = False  # True when this idempotency key had been accepted before


def submission_document(header: PacketHeader, body: CaptureBody) -> bytes:
    """The JSON the gateway POSTs. Images travel base64; exceptions travel as reasons.

    Byte for byte `json.dumps(doc, separators=(",", ":"))` of the document below, but the
    ~1.7 MB of base64 is spliced in as bytes: base64 needs no JSON escaping, so it is not
    decoded to str, scanned and encoded again. (Same bytes matter: SIAK compares a retry's
    document with the first one under the same idempotency key.)"""
    d = body.demographics
    doc: dict[str, Any] = {
        "packet_id": str(header.packet_id),
        "kiosk_id": header.kiosk_id,
        "service": header.service.value,
        "priority": int(header.priority),
        "assisted": header.assisted,
        "captured_at": header.created_at,
        "demographics": {
            "nik": d.nik, "kk_number": d.kk_number, "name": d.name, "birth_date": d.birth_date,
            "sex": d.sex, "address": d.address, "disability": d.disability,
        },
    }
    if body.sign_off is not None:  # assisted completion: the officer confirmed the exceptions
        s = body.sign_off
        doc["sign_off"] = {"officer_id": s.officer_id, "confirmed_at": s.confirmed_at,
                           "photo": None if s.photo is None else {
                               **_record_meta(s.photo), "image": base64.b64encode(s.photo.image).decode()}}
    doc["biometrics"] = []
    records = []
    for r in body.biometrics:
        meta = _dumps(_record_meta(r))
        records.append(b"".join((meta[:-1], b',"image":"', base64.b64encode(r.image), b'"}')))
    head = _dumps(doc)  # ends with "biometrics":[]}
    return b"".join((head[:-2], b",".join(records), b"]}"))


def _record_meta(r: BiometricRecord) -> dict[str, Any]:
    return {"modality": r.modality.value, "position": r.position, "format": r.image_format,
            "quality": r.quality, "retries": r.retries, "exception": r.exception}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True, kw_only=True)
class Submission:
    """The parts of a submission the simulator checks and keeps (never the images)."""

    packet_id: str
    kiosk_id: str
    service: str
    priority: int
    nik: str = field(repr=False)
    biometric_count: int
    image_bytes: int
    signed_off_by: str = ""  # the officer who confirmed the exceptions (assisted completion)


def parse_submission(raw: bytes) -> Submission:
    """Strictly read a submission; ContractError with a one-line reason otherwise."""
    if len(raw) > MAX_SUBMISSION_BYTES:
        raise ContractError("submission too large")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContractError("body is not JSON") from exc
    if not isinstance(doc, dict):
        raise ContractError("body is not a JSON object")
    demo = _field(doc, "demographics", dict)
    bios = _field(doc, "biometrics", list)
    size = 0
    for rec in bios:
        if not isinstance(rec, dict) or not isinstance(rec.get("image"), str):
            raise ContractError("biometric record without an image field")
        if not rec["image"] and not rec.get("exception"):
            raise ContractError("biometric record without image or exception")
        size += len(rec["image"]) * 3 // 4
    return Submission(
        packet_id=_field(doc, "packet_id", str), kiosk_id=_field(doc, "kiosk_id", str),
        service=_field(doc, "service", str), priority=_field(doc, "priority", int),
        nik=_field(demo, "nik", str), biometric_count=len(bios), image_bytes=size,
        signed_off_by=_signed_off_by(doc),
    )


def _signed_off_by(doc: dict[str, Any]) -> str:
    """The officer of an assisted completion's sign-off ('' without one). A sign-off needs an
    assisted packet, an officer id, a finite time and an exception photo or null."""
    if "sign_off" not in doc:
        return ""
    sign_off = _field(doc, "sign_off", dict)
    if doc.get("assisted") is not True:
        raise ContractError("a sign-off belongs to an assisted packet")
    if set(sign_off) != {"officer_id", "confirmed_at", "photo"} or not is_officer_id(sign_off["officer_id"]):
        raise ContractError("sign-off without a valid officer id")
    at = sign_off["confirmed_at"]
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise ContractError("sign-off without a valid time")
    photo = sign_off["photo"]
    if photo is not None and (not isinstance(photo, dict) or photo.get("modality") != "face"
                              or not isinstance(photo.get("image"), str) or not photo["image"]):
        raise ContractError("sign-off photo is not a face image")
    return str(sign_off["officer_id"])


def _field(doc: dict[str, Any], name: str, kind: type) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ContractError(f"field {name!r} missing or not {kind.__name__}")
    return value


def view_json(view: EnrollmentView) -> dict[str, Any]:
    return {"enrollment_id": view.enrollment_id, "state": view.state.value, "replay": view.replay}


def parse_view(data: Any) -> EnrollmentView:
    if not isinstance(data, dict):
        raise ContractError("response is not a JSON object")
    try:
        state = SiakState(str(data.get("state")))
    except ValueError as exc:
        raise ContractError(f"unknown state {str(data.get('state'))[:40]!r}") from exc
    if state is SiakState.QUEUED or not isinstance(data.get("enrollment_id"), str):
        raise ContractError("response lacks a SIAK state or enrollment id")
    return EnrollmentView(
        enrollment_id=data["enrollment_id"], state=state, replay=bool(data.get("replay", False))
    )
