"""The SIAK gateway's secret half: the only code that holds the HPKE private keys.

It turns a stored packet (as received, body sealed) into the SIAK submission document.
The keys are loaded once, never logged, never leave this object. A header of version 2
names the key its body is sealed to (`key_id`); a version 1 header does not, and each key
held is tried (`provisioning.gateway_keys`: the current one and those retired but kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from anjungan.packet import decode_packet, open_body
from anjungan.packet.model import PacketError, PacketHeader
from anjungan.packet.seal import GatewayPrivateKey
from broker.siak.contract import submission_document

RELOAD_EVERY_S = 5.0


class Gateway:
    def __init__(self, keys: GatewayPrivateKey | Mapping[str, GatewayPrivateKey],
                 reload: Callable[[], Mapping[str, GatewayPrivateKey]] | None = None) -> None:
        self._keys = dict(keys) if isinstance(keys, Mapping) else {"": keys}
        self._reload = reload  # re-reads the keyring when a packet names a key not yet held (a rotation)
        self._reloaded = -RELOAD_EVERY_S  # monotonic time of the last reload

    def __repr__(self) -> str:
        return f"Gateway(<{len(self._keys)} private key(s)>)"

    def submission(self, packet_bytes: bytes) -> tuple[PacketHeader, bytes]:
        """(header, JSON document) for SIAK; PacketError when the body cannot be opened."""
        packet = decode_packet(packet_bytes)
        key_id = packet.header.key_id
        if key_id and key_id not in self._keys and self._reload is not None \
                and time.monotonic() - self._reloaded >= RELOAD_EVERY_S:  # a made-up id costs little
            self._reloaded = time.monotonic()
            self._keys = dict(self._reload())
        if key_id and key_id in self._keys:
            keys = [self._keys[key_id]]
        elif key_id and "" not in self._keys:
            raise PacketError(f"gateway key {key_id} is not held (destroyed or never ours)", "sealed")
        else:
            keys = list(self._keys.values())
        for key in keys[:-1]:
            try:
                return packet.header, submission_document(packet.header, open_body(packet, key))
            except PacketError:
                continue
        return packet.header, submission_document(packet.header, open_body(packet, keys[-1]))


__all__ = ["Gateway", "PacketError"]
