"""The SIAK gateway's secret half: the only code that holds the HPKE private key.

It turns a stored packet (as received, body sealed) into the SIAK submission document.
The key is loaded once, never logged, never leaves this object.
"""

from __future__ import annotations

from anjungan.packet import decode_packet, open_body
from anjungan.packet.model import PacketError, PacketHeader
from anjungan.packet.seal import GatewayPrivateKey
from broker.siak.contract import submission_document


class Gateway:
    def __init__(self, private_key: GatewayPrivateKey) -> None:
        self._key = private_key

    def __repr__(self) -> str:
        return "Gateway(<private key>)"

    def submission(self, packet_bytes: bytes) -> tuple[PacketHeader, bytes]:
        """(header, JSON document) for SIAK; PacketError when the body cannot be opened."""
        packet = decode_packet(packet_bytes)
        body = open_body(packet, self._key)
        return packet.header, submission_document(packet.header, body)


__all__ = ["Gateway", "PacketError"]
