"""Verification of a capture packet against the fleet's trust: who may the centre believe?

Checks, in order, each failure a PacketError with a short `reason`:
certificate parses (malformed) → issued by the fleet CA, directly or through one of its
issuing CAs (bad_chain) → is a kiosk certificate, not a CA (bad_chain) → valid when the
packet was made, and not expired longer than the acceptance window (expired) → not revoked
(revoked) → its kiosk is in the registry (unknown_kiosk) → its subject is the header's
kiosk id (kiosk_mismatch) → body digest (bad_digest) → Ed25519 signature (bad_signature)
→ created_at inside the window (stale / future).

Replay (packet id seen, per-kiosk sequence) is the central service's job: it needs state.

Superseded is not revoked. Kiosk certificates are short (30 days) and renewed with a fresh
key at 2/3 of their life, so an outbox may hold packets signed under a certificate that has
since been renewed away, or has expired while the kiosk was offline. Such a packet is good if
its certificate was valid at its `created_at` and expired no longer than the acceptance
window ago — the same window a packet's age gets. Only revocation (registry or CRL) refuses
a certificate's packets outright.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from anjungan.packet.model import CapturePacket, PacketError, PacketHeader
from anjungan.packet.seal import signed_bytes

# Kiosks work offline for days; a packet older than this is refused as stale.
DEFAULT_WINDOW_S = 30 * 24 * 3600.0
# Kiosk clocks drift; a packet dated further ahead than this is refused.
MAX_FUTURE_SKEW_S = 300.0


@dataclass(frozen=True, kw_only=True)
class FleetTrust:
    """The fleet CA, revoked certificate serials, and the registry of enrolled kiosks."""

    ca_certificate: x509.Certificate
    revoked_serials: frozenset[int] = frozenset()
    kiosks: Mapping[str, str] | None = field(default=None)  # kiosk id -> registry state
    issuers: tuple[x509.Certificate, ...] = ()  # issuing CAs signed by ca_certificate


def kiosk_id_of(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _issued_by(cert: x509.Certificate, ca: x509.Certificate,
               issuers: tuple[x509.Certificate, ...]) -> None:
    """Root → kiosk, or root → issuing CA → kiosk; raises if neither holds."""
    if cert.issuer == ca.subject:
        cert.verify_directly_issued_by(ca)
        return
    for issuer in issuers:
        if cert.issuer == issuer.subject:
            issuer.verify_directly_issued_by(ca)
            constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
            if not constraints.ca:
                raise ValueError("issuer is not a CA")
            cert.verify_directly_issued_by(issuer)
            return
    raise ValueError("unknown issuer")


@functools.lru_cache(maxsize=4096)
def _chained_kiosk_certificate(cert_der: bytes, ca: x509.Certificate,
                               issuers: tuple[x509.Certificate, ...] = ()) -> x509.Certificate:
    """Parse a kiosk certificate and check it against the CA: pure in its inputs, so cached
    (a kiosk sends the same certificate with every packet). Time, revocation and registry
    are checked on every call, outside the cache; a failure is never cached."""
    # cryptography raises several types for bad DER (ValueError, InvalidVersion,
    # UnsupportedAlgorithm...), some only when a field is first read: map them all.
    try:
        with warnings.catch_warnings():  # a damaged serial warns, then fails the chain check
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(cert_der)
            cert.serial_number, cert.subject, cert.not_valid_after_utc  # noqa: B018 - parse now
    except Exception as exc:
        raise PacketError("kiosk certificate is not valid DER X.509", "malformed") from exc
    try:
        _issued_by(cert, ca, issuers)
    except Exception as exc:
        raise PacketError("kiosk certificate is not issued by this fleet's CA", "bad_chain") from exc
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except Exception as exc:
        raise PacketError("certificate is not a kiosk certificate", "bad_chain") from exc
    if basic.ca or ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        raise PacketError("certificate is not a kiosk certificate", "bad_chain")
    return cert


def check_certificate(cert_der: bytes, trust: FleetTrust, *, now: float, signed_at: float | None = None,
                      grace_s: float = 0.0) -> x509.Certificate:
    """Chain, kind, validity, revocation and registry checks of a kiosk certificate. It must
    have been valid at `signed_at` (default `now`) and have expired no more than `grace_s`
    before `now`."""
    cert = _chained_kiosk_certificate(bytes(cert_der), trust.ca_certificate, tuple(trust.issuers))
    signed = now if signed_at is None else signed_at
    start, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    # written so that a NaN fails (every comparison with NaN is false)
    if not (start <= signed <= end and start <= now and now <= end + grace_s):
        raise PacketError("kiosk certificate is expired or not yet valid", "expired")
    if cert.serial_number in trust.revoked_serials:
        raise PacketError(f"kiosk {kiosk_id_of(cert)} is revoked", "revoked")
    kiosk_id = kiosk_id_of(cert)
    if trust.kiosks is not None:
        state = trust.kiosks.get(kiosk_id)
        if state is None:
            raise PacketError(f"kiosk {kiosk_id!r} is not enrolled in this fleet", "unknown_kiosk")
        if state == "revoked":
            raise PacketError(f"kiosk {kiosk_id} is revoked", "revoked")
    return cert


def verify_packet(
    packet: CapturePacket,
    trust: FleetTrust,
    *,
    now: float,
    window_s: float = DEFAULT_WINDOW_S,
) -> PacketHeader:
    """Return the header if the packet is authentic and fresh; PacketError otherwise."""
    header = packet.header
    cert = check_certificate(packet.certificate, trust, now=now, signed_at=header.created_at, grace_s=window_s)
    if kiosk_id_of(cert) != header.kiosk_id:
        raise PacketError(
            f"packet claims kiosk {header.kiosk_id} but is certified for {kiosk_id_of(cert)}",
            "kiosk_mismatch",
        )
    if hashlib.sha256(packet.sealed_body).digest() != header.body_digest:
        raise PacketError("sealed body does not match the header's digest", "bad_digest")
    public_key = cert.public_key()
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise PacketError("kiosk certificate does not hold an Ed25519 key", "bad_chain")
    try:
        public_key.verify(packet.signature, signed_bytes(header, packet.certificate))
    except InvalidSignature as exc:
        raise PacketError("signature does not verify", "bad_signature") from exc
    # written so that a NaN fails every test (a comparison with NaN is always false)
    if not now - header.created_at <= window_s:
        raise PacketError("packet is older than the acceptance window", "stale")
    if not header.created_at - now <= MAX_FUTURE_SKEW_S:
        raise PacketError("packet is dated in the future", "future")
    return header
