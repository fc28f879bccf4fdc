"""Sign and seal a capture packet at the kiosk; open it at the SIAK gateway.

- The body is sealed with HPKE (RFC 9180, base mode) to the gateway's public key. The HPKE
  `info` binds the ciphertext to its packet id and kiosk, so a body cannot be moved into
  another packet.
- The kiosk signs DOMAIN || header bytes || SHA-256(certificate) with its Ed25519 device
  key; the header holds the SHA-256 of the sealed body, so the signature covers it all.
- Suites: "x25519" (DHKEM X25519, HKDF-SHA256, AES-256-GCM), the default, and
  "mlkem768-x25519" (the ML-KEM-768 + X25519 hybrid KEM, post-quantum) for fleets that ask.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519

from anjungan.packet.codec import decode_body, encode_body, encode_header
from anjungan.packet.model import (
    FORMAT_VERSION,
    KEYED_VERSION,
    CaptureBody,
    CapturePacket,
    PacketError,
    PacketHeader,
    PriorityClass,
    Service,
)
from anjungan.packet.uuid7 import uuid7

SIGNATURE_DOMAIN = b"anjungan/v1/capture-packet\x00"
DEFAULT_SUITE = "x25519"
POST_QUANTUM_SUITE = "mlkem768-x25519"
SUITES = {
    DEFAULT_SUITE: (hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    POST_QUANTUM_SUITE: (hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
}

GatewayPublicKey = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
GatewayPrivateKey = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey


def suite(name: str) -> hpke.Suite:
    try:
        return hpke.Suite(*SUITES[name])
    except KeyError:
        raise PacketError(f"unknown HPKE suite {name!r}", "malformed") from None


@dataclass(frozen=True, kw_only=True)
class KioskIdentity:
    """What a kiosk signs with: its id, its Ed25519 device key and certificate (DER)."""

    kiosk_id: str
    private_key: ed25519.Ed25519PrivateKey
    certificate: bytes


def _info(packet_id: uuid.UUID, kiosk_id: str) -> bytes:
    return b"anjungan/v1/body|" + packet_id.bytes + kiosk_id.encode()


def signed_bytes(header: PacketHeader, certificate: bytes) -> bytes:
    """What the kiosk signs: the domain tag, the header (which commits to the sealed body
    through `body_digest`) and the SHA-256 of its certificate's DER. Signing digests rather
    than the 1 MB body keeps Ed25519 (which hashes its message twice) off the ingest hot
    path; verification checks the body digest before the signature, so every byte of the
    packet is covered, including DER encodings a parser would forgive."""
    return SIGNATURE_DOMAIN + encode_header(header) + hashlib.sha256(certificate).digest()


def build_packet(
    body: CaptureBody,
    *,
    identity: KioskIdentity,
    gateway_public_key: GatewayPublicKey,
    suite_name: str,
    sequence: int,
    service: Service,
    priority: PriorityClass,
    now: float,
    assisted: bool = False,
    packet_id: uuid.UUID | None = None,
    key_id: str = "",
) -> CapturePacket:
    """Seal `body` to the gateway and sign the whole; pure but for HPKE's randomness. With
    `key_id` (the gateway key's, `gateway_key_id`) the header is version 2 and names it."""
    packet_id = packet_id or uuid7(now)
    sealed = suite(suite_name).encrypt(
        encode_body(body), gateway_public_key, info=_info(packet_id, identity.kiosk_id)
    )
    header = PacketHeader(
        version=KEYED_VERSION if key_id else FORMAT_VERSION,
        key_id=key_id,
        packet_id=packet_id,
        kiosk_id=identity.kiosk_id,
        sequence=sequence,
        created_at=float(now),
        service=service,
        priority=priority,
        suite=suite_name,
        body_digest=hashlib.sha256(sealed).digest(),
        assisted=assisted,
    )
    signature = identity.private_key.sign(signed_bytes(header, identity.certificate))
    return CapturePacket(
        header=header, sealed_body=sealed, signature=signature, certificate=identity.certificate
    )


def open_body(packet: CapturePacket, gateway_private_key: GatewayPrivateKey) -> CaptureBody:
    """Gateway only: decrypt and decode the body. Verify the packet first."""
    h = packet.header
    try:
        plain = suite(h.suite).decrypt(
            packet.sealed_body, gateway_private_key, info=_info(h.packet_id, h.kiosk_id)
        )
    except PacketError:
        raise
    except Exception as exc:  # wrong key, wrong suite, tampered ciphertext
        raise PacketError("sealed body cannot be opened with this gateway key", "sealed") from exc
    return decode_body(plain)


# --- gateway key pairs -------------------------------------------------------------------

_PQ_SEPARATOR = b"\n# x25519\n"


def generate_gateway_parts(suite_name: str) -> tuple:
    """New gateway key material: (X25519,) or (ML-KEM-768, X25519) private keys."""
    if suite_name == DEFAULT_SUITE:
        return (x25519.X25519PrivateKey.generate(),)
    if suite_name == POST_QUANTUM_SUITE:
        return (mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate())
    raise PacketError(f"unknown HPKE suite {suite_name!r}")


def dump_gateway_private(parts: tuple) -> bytes:
    """PEM (PKCS#8); a hybrid key is its ML-KEM key, a marker line, then its X25519 key."""
    fmt = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
           serialization.NoEncryption())
    return _PQ_SEPARATOR.join(p.private_bytes(*fmt) for p in parts)


def load_gateway_private(pem: bytes) -> GatewayPrivateKey:
    try:
        if _PQ_SEPARATOR in pem:
            a, b = pem.split(_PQ_SEPARATOR)
            kem = serialization.load_pem_private_key(a, None)
            dh = serialization.load_pem_private_key(b, None)
            if isinstance(kem, mlkem.MLKEM768PrivateKey) and isinstance(dh, x25519.X25519PrivateKey):
                return hpke.MLKEM768X25519PrivateKey(kem, dh)
        else:
            key = serialization.load_pem_private_key(pem, None)
            if isinstance(key, x25519.X25519PrivateKey):
                return key
    except ValueError as exc:
        raise PacketError("gateway private key is not valid PEM") from exc
    raise PacketError("gateway private key has the wrong type")


def gateway_key_id(public_pem: bytes) -> str:
    """A gateway key's id, as packet headers (v2) name it: the first 8 bytes of SHA-256 of
    its public PEM (`gateway.pub`), in hex. Kiosk, signer and gateway compute it alike."""
    return hashlib.sha256(public_pem).hexdigest()[:16]


def dump_gateway_public(parts: tuple) -> bytes:
    """Public half: one X25519 SubjectPublicKeyInfo PEM, or ML-KEM-768 PEM + X25519 PEM."""
    fmt = (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _PQ_SEPARATOR.join(p.public_key().public_bytes(*fmt) for p in parts)


def load_gateway_public(pem: bytes) -> GatewayPublicKey:
    try:
        if _PQ_SEPARATOR in pem:
            a, b = pem.split(_PQ_SEPARATOR)
            kem = serialization.load_pem_public_key(a)
            dh = serialization.load_pem_public_key(b)
            if isinstance(kem, mlkem.MLKEM768PublicKey) and isinstance(dh, x25519.X25519PublicKey):
                return hpke.MLKEM768X25519PublicKey(kem, dh)
        else:
            key = serialization.load_pem_public_key(pem)
            if isinstance(key, x25519.X25519PublicKey):
                return key
    except ValueError as exc:
        raise PacketError("gateway public key is not valid PEM") from exc
    raise PacketError("gateway public key has the wrong type")
