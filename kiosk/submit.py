"""From a finished session to a sealed, signed packet durably in the outbox.

The only place a session's data becomes a `CaptureBody` (each capture an ISO/IEC 19794
record, `drivers.records`); the body is HPKE-sealed by
`build_packet` before anything touches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from anjungan.packet import build_packet, encode_packet
from anjungan.packet.model import (
    CaptureBody,
    Demographics,
    Modality,
    OfficerSignOff,
    PriorityClass,
    derive_priority,
)
from anjungan.packet.seal import GatewayPublicKey, KioskIdentity
from drivers.records import biometric_record
from kiosk.flow.session import Session
from kiosk.outbox import Outbox, OutboxEntry
from kiosk.ticket import make_ticket, qr_payload


@dataclass(frozen=True, kw_only=True)
class SealingKeys:
    """What the kiosk signs and seals with (from its provisioning bundle)."""

    identity: KioskIdentity
    gateway_public_key: GatewayPublicKey
    suite: str
    key_id: str = ""  # the gateway key's id, named in the packet header (v2)

    @property
    def kiosk_id(self) -> str:
        return self.identity.kiosk_id


@dataclass(frozen=True, kw_only=True)
class Receipt:
    ticket: str
    qr_payload: str
    packet_id: str
    sequence: int
    priority: PriorityClass


def capture_body(s: Session) -> CaptureBody:
    notes = []
    if s.replacement_reason:
        notes.append(f"replacement:{s.replacement_reason}")
    if s.correction_field:
        notes.append(f"correction:{s.correction_field}")
    if s.resident.married:
        notes.append("married:declared")  # under 17: the officer checks the marriage certificate
    corrected = {s.correction_field: s.correction_value} if s.correction_field in ("name", "address") else {}
    if s.correction_field and not corrected:
        notes.append(f"value:{s.correction_value}")
    demographics = Demographics(
        nik=s.resident.nik, kk_number=s.resident.kk, birth_date=s.resident.birth_date, sex=s.resident.sex, disability=s.disability,
        officer_id=s.officer_id if s.assisted else "", notes=";".join(notes), **corrected,
    )
    records = []
    for r in s.capture.records.values():
        # the sensors' pixels become ISO/IEC 19794 records with JPEG 2000 images here
        records.append(biometric_record(
            modality=r.modality, position=r.position,
            image_format=r.sample.image_format if r.sample else "raw8",
            image=r.sample.image if r.sample else b"", quality=r.sample.quality if r.sample else 0,
            retries=r.retries, exception=r.exception,
        ))
    return CaptureBody(demographics=demographics, biometrics=tuple(records), sign_off=sign_off(s))


def sign_off(s: Session) -> OfficerSignOff | None:
    """The officer's confirmation of the exceptions, with the exception photo (assisted
    completion, `kiosk.flow.assisted`); None when no officer confirmed."""
    if s.sign_off.confirmed_at is None or not s.assisted:
        return None
    p = s.sign_off.photo
    photo = None if p is None else biometric_record(
        modality=Modality.FACE, position="face", image_format=p.image_format, image=p.image,
        quality=p.quality, retries=0, exception=None)
    return OfficerSignOff(officer_id=s.officer_id, confirmed_at=float(s.sign_off.confirmed_at), photo=photo)


def priority_of(s: Session) -> PriorityClass:
    assert s.service is not None
    return derive_priority(service=s.service, age=s.resident.age, assisted=s.assisted,
                           disability=s.disability, has_exceptions=s.capture.has_exceptions())


def seal_and_store(s: Session, *, keys: SealingKeys, outbox: Outbox, now: float) -> Receipt:
    """Seal, sign and commit; when this returns, the packet survives a crash."""
    service = s.service
    if service is None:
        raise ValueError("no capture service in this session")
    priority, body = priority_of(s), capture_body(s)

    def make(sequence: int) -> tuple[OutboxEntry, str]:
        packet = build_packet(
            body, identity=keys.identity, gateway_public_key=keys.gateway_public_key,
            suite_name=keys.suite, sequence=sequence, service=service, priority=priority,
            now=now, assisted=s.assisted, key_id=keys.key_id,
        )
        entry = OutboxEntry(sequence=sequence, packet_id=packet.packet_id, priority=int(priority),
                            created_at=now, data=encode_packet(packet))
        return entry, make_ticket(sequence)

    entry = outbox.append(make)
    ticket = make_ticket(entry.sequence)
    return Receipt(ticket=ticket, qr_payload=qr_payload(keys.kiosk_id, ticket, entry.packet_id),
                   packet_id=entry.packet_id, sequence=entry.sequence, priority=priority)
