"""Test helpers: a real fleet, kiosk bundles, small real packets, a recording notifier."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from anjungan.messages import Ack, PacketStatus
from anjungan.packet import build_packet, encode_packet
from anjungan.packet.model import (
    BiometricRecord,
    CaptureBody,
    Demographics,
    Modality,
    PriorityClass,
    Service,
)
from provisioning.bundle import KioskBundle, complete, load_bundle, request
from provisioning.fleet import init_fleet


def make_fleet(root: Path, kiosks: tuple[str, ...] = ("kiosk-01", "kiosk-02")) -> tuple[Path, dict[str, KioskBundle]]:
    fleet = init_fleet(root / "fleet", broker_port=0)
    bundles = {}
    for kid in kiosks:
        request(root / kid, kid)
        complete(fleet, root / kid)
        bundles[kid] = load_bundle(root / kid)
    return fleet.root, bundles


def nik_for(i: int) -> str:
    """A valid Denpasar NIK, unique per i in 1..9999 (born 1990-01-01)."""
    return f"5171010101 90{i:04d}".replace(" ", "")


def small_body(i: int, image_bytes: int = 2000) -> CaptureBody:
    return CaptureBody(
        demographics=Demographics(nik=nik_for(i), name="Warga Uji"),
        biometrics=(BiometricRecord(modality=Modality.FACE, position="face", image_format="jpeg2000",
                                    image=bytes([i % 251]) * image_bytes, quality=80),),
    )


def packet_bytes(bundle: KioskBundle, seq: int, *, priority: PriorityClass = PriorityClass.ROUTINE,
                 nik_index: int | None = None, now: float | None = None,
                 body: CaptureBody | None = None) -> tuple[str, bytes]:
    packet = build_packet(
        body or small_body(nik_index or seq), identity=bundle.identity,
        gateway_public_key=bundle.gateway_public_key, suite_name=bundle.suite, sequence=seq,
        service=Service.REPLACEMENT, priority=priority, now=now or time.time(),
    )
    return packet.packet_id, encode_packet(packet)


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Ack | PacketStatus]] = []
        self.lock = threading.Lock()

    def notify(self, kiosk_id: str, message: Ack | PacketStatus) -> None:
        with self.lock:
            self.sent.append((kiosk_id, message))


