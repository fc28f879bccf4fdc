"""The signing service's core: a kiosk's renewal request in, a reply out. Time passed in.

Theory of operation (after AWS IoT fleet provisioning, which renews by CSR over MQTT). At
2/3 of its certificate's life a kiosk makes a fresh Ed25519 key and publishes a
`RenewalRequest` on its own `renew` topic, which the broker's ACL lets only the holder of a
certificate with that CN write. The request carries a CSR signed by the new key (possession
of the new key), the current certificate and a proof signed by the current key (possession
of the old one, so a request copied from elsewhere is worthless). `answer` checks, in order,
each failure a refusal with a one-line reason:

    the message decodes strictly, names the topic's kiosk        malformed / kiosk_mismatch
    the CSR parses, is self-signed, holds an Ed25519 key, CN=id  bad_csr / kiosk_mismatch
    the current certificate chains to the fleet, is valid now,   bad_certificate / expired /
      is this kiosk's, is not revoked, the kiosk is active         revoked / unknown_kiosk
    the proof verifies under the current certificate's key       bad_proof
    the new key is not the current one                           same_key

then issues a `kiosk_days` certificate from the issuing CA, records it in the registry (the
one before becomes superseded, not revoked) and answers with it, its issuer chain and the
gateway's current public key and key id. A request repeated with the same key (the answer
was lost, the kiosk was killed) gets the same certificate again: renewal is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from anjungan.messages import (
    MessageError,
    RenewalOutcome,
    RenewalReply,
    RenewalRequest,
    parse_json,
    renewal_proof_bytes,
)
from anjungan.packet import PacketError
from anjungan.packet.seal import gateway_key_id
from anjungan.packet.verify import check_certificate, kiosk_id_of
from provisioning import x509 as px
from provisioning.crl import fleet_lock
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes
from provisioning.fleet import Fleet, issue_kiosk, load_trust, record_certificate

log = logging.getLogger("anjungan.signer")


@dataclass(frozen=True, kw_only=True)
class Refusal(Exception):
    reason: str  # short code
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


def answer(fleet: Fleet, kiosk_id: str, payload: bytes, *, now: float) -> RenewalReply:
    """The reply to one request published on `kiosk_id`'s renew topic."""
    request_id = _request_id(payload)
    try:
        request = _decode(payload, kiosk_id)
        reply = _issue(fleet, kiosk_id, request, now=now)
    except Refusal as refusal:
        log.warning("renewal for %s refused: %s", kiosk_id, refusal)
        return RenewalReply(request_id=request_id, outcome=RenewalOutcome.REFUSED, reason=str(refusal)[:200])
    log.info("renewal for %s issued", kiosk_id)
    return reply


def _request_id(payload: bytes) -> str:
    """The id to answer under, even for a request that fails to decode ('-' if none)."""
    try:
        data = parse_json(payload, "renew_request")
    except MessageError:
        return "-"
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else "-"


def _decode(payload: bytes, kiosk_id: str) -> RenewalRequest:
    try:
        request = RenewalRequest.from_json(payload)
    except MessageError as exc:
        raise Refusal(reason="malformed", detail=str(exc)[:150]) from None
    if request.kiosk_id != kiosk_id:
        raise Refusal(reason="kiosk_mismatch", detail=f"request names {request.kiosk_id[:64]!r}, topic {kiosk_id}")
    return request


def _issue(fleet: Fleet, kiosk_id: str, request: RenewalRequest, *, now: float) -> RenewalReply:
    try:
        csr, csr_name = px.load_csr(request.csr.encode())
    except ProvisioningError as exc:
        raise Refusal(reason="bad_csr", detail=str(exc)) from None
    if csr_name != kiosk_id:
        raise Refusal(reason="kiosk_mismatch", detail=f"CSR names {csr_name[:64]!r}, topic {kiosk_id}")
    new_key = csr.public_key()
    assert isinstance(new_key, ed25519.Ed25519PublicKey)  # load_csr refuses any other
    current = _current_certificate(fleet, kiosk_id, request.certificate, now=now)
    current_key = current.public_key()
    if not isinstance(current_key, ed25519.Ed25519PublicKey):
        raise Refusal(reason="bad_certificate", detail="the current certificate holds no Ed25519 key")
    try:
        current_key.verify(bytes.fromhex(request.proof), renewal_proof_bytes(request.request_id, request.csr))
    except InvalidSignature:
        raise Refusal(reason="bad_proof", detail="the proof is not signed by the current key") from None
    if _raw(new_key) == _raw(current_key):
        raise Refusal(reason="same_key", detail="a renewal needs a fresh key")
    with fleet_lock(fleet):
        registry = fleet.registry()
        entry = registry["kiosks"].get(kiosk_id)
        if entry is None or entry["state"] != "active":  # revoked between the checks and the lock
            raise Refusal(reason="revoked", detail=f"kiosk {kiosk_id} is not active")
        issued = _already_issued(fleet, kiosk_id, new_key)
        if issued is None:
            issued = issue_kiosk(fleet, kiosk_id, new_key, now=now)
            record_certificate(entry, issued, now)
            entry["renewed_at"] = now
            fleet.save_registry(registry)
    gateway = read_bytes(fleet.path("gateway.pub"), "gateway public key")
    chain = px.pem_cert(fleet.issuer()) if fleet.has_issuing_ca else b""
    return RenewalReply(request_id=request.request_id, outcome=RenewalOutcome.ISSUED,
                        certificate=px.pem_cert(issued).decode(), chain=chain.decode(),
                        gateway_key=gateway.decode(), gateway_key_id=gateway_key_id(gateway))


def _current_certificate(fleet: Fleet, kiosk_id: str, pem: str, *, now: float) -> x509.Certificate:
    """The certificate the kiosk renews from: ours, its own, valid now, never revoked."""
    try:
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    except ValueError:
        raise Refusal(reason="bad_certificate", detail="the current certificate is not PEM X.509") from None
    try:
        cert = check_certificate(der, load_trust(fleet.root), now=now)
    except PacketError as exc:
        reason = exc.reason if exc.reason in ("expired", "revoked", "unknown_kiosk") else "bad_certificate"
        raise Refusal(reason=reason, detail=str(exc)) from None
    if kiosk_id_of(cert) != kiosk_id:
        raise Refusal(reason="kiosk_mismatch", detail=f"certificate of {kiosk_id_of(cert)[:64]!r}, topic {kiosk_id}")
    history = fleet.registry()["kiosks"][kiosk_id].get("certificates", {})
    if str(cert.serial_number) not in history and str(cert.serial_number) != fleet.registry()["kiosks"][kiosk_id]["serial"]:
        raise Refusal(reason="bad_certificate", detail="not a certificate this fleet issued to the kiosk")
    if history.get(str(cert.serial_number), {}).get("state") == "revoked":
        raise Refusal(reason="revoked", detail=f"certificate of kiosk {kiosk_id} is revoked")
    return cert


def _already_issued(fleet: Fleet, kiosk_id: str, key: ed25519.Ed25519PublicKey) -> x509.Certificate | None:
    """The kiosk's current certificate if it already holds `key` (a repeated request)."""
    path = fleet.path(f"kiosks/{kiosk_id}.pem")
    if not path.is_file():
        return None
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    held = cert.public_key()
    return cert if isinstance(held, ed25519.Ed25519PublicKey) and _raw(held) == _raw(key) else None


def _raw(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
