"""The capture packet contract (v1): one definition, imported by kiosk, broker and tools.

    model   plain data: header, body, records, services, priority classes
    codec   strict CBOR encoding with size limits
    seal    HPKE sealing to the SIAK gateway, Ed25519 signing, opening at the gateway
    verify  certificate chain, revocation, registry, signature, digest, time window
    sample  synthetic bodies of realistic size

See README.md in this folder for the byte layout.
"""

from anjungan.packet.codec import decode_body, decode_packet, encode_body, encode_packet
from anjungan.packet.model import (
    BiometricRecord,
    CaptureBody,
    CapturePacket,
    Demographics,
    Modality,
    PacketError,
    PacketHeader,
    PriorityClass,
    Service,
    derive_priority,
)
from anjungan.packet.seal import (
    DEFAULT_SUITE,
    POST_QUANTUM_SUITE,
    SUITES,
    KioskIdentity,
    build_packet,
    open_body,
)
from anjungan.packet.verify import DEFAULT_WINDOW_S, FleetTrust, verify_packet

__all__ = [
    "BiometricRecord", "CaptureBody", "CapturePacket", "Demographics", "Modality",
    "PacketError", "PacketHeader", "PriorityClass", "Service", "derive_priority",
    "decode_body", "decode_packet", "encode_body", "encode_packet",
    "DEFAULT_SUITE", "POST_QUANTUM_SUITE", "SUITES", "KioskIdentity", "build_packet",
    "open_body", "DEFAULT_WINDOW_S", "FleetTrust", "verify_packet",
]
