"""The in-memory twin of `Peripherals`: no ports, no pacing, same images and scoring.

For the kiosk's fast tests and benchmarks. Faults can be injected per device with
`unplug(name)` / `replug(name)` so the kiosk's error paths are testable too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from anjungan.packet.model import Modality
from drivers import imaging
from drivers.errors import DeviceUnavailable
from drivers.peripherals import (
    DEVICE_NAMES,
    Capture,
    FacePreview,
    Peripherals,
    check_finger,
    check_iris,
)
from drivers.samples import SampleSource

TWIN_VERSION = "twin-1"


class InMemoryPeripherals(Peripherals):
    def __init__(self, *, seed: int = 0) -> None:
        self._samples = SampleSource(seed)
        self._unplugged: set[str] = set()
        self._closed = False
        self.receipts: list[tuple[tuple[str, ...], str | None]] = []
        self.leds: dict[str, bool] = {}
        self.beeps = 0
        self.present = True
        self.captures = {name: 0 for name in DEVICE_NAMES}
        self.previews = 0  # live face frames handed out

    # fault injection for the kiosk's tests
    def unplug(self, device: str) -> None:
        self._unplugged.add(device)

    def replug(self, device: str) -> None:
        self._unplugged.discard(device)

    def _need(self, device: str) -> None:
        if self._closed:
            raise DeviceUnavailable("peripherals are closed", device=device)
        if device in self._unplugged:
            raise DeviceUnavailable("not connected", device=device)
        self.captures[device] += 1

    def capture_face(self) -> Capture:
        self._need("face")
        t0 = time.perf_counter()
        png = self._samples.face()
        w, h, px = imaging.png_decode_gray(png)
        return Capture(modality=Modality.FACE, position="face", image=png, image_format="png",
                       quality=imaging.estimate_quality(px, w, h), width=w, height=h,
                       device="face", transfer_s=time.perf_counter() - t0)

    def preview_face(self) -> FacePreview:
        self._need("face")
        self.captures["face"] -= 1  # a preview frame is not a capture
        self.previews += 1
        return FacePreview.scored(self._samples.face_preview(), imaging.PREVIEW_W, imaging.PREVIEW_H)

    def capture_finger(self, position: str) -> Capture:
        check_finger(position)
        self._need("fingerprint")
        t0 = time.perf_counter()
        px = self._samples.finger()
        w, h = imaging.FINGER_W, imaging.FINGER_H
        return Capture(modality=Modality.FINGER, position=position, image=px, image_format="raw8",
                       quality=imaging.estimate_quality(px, w, h), width=w, height=h,
                       device="fingerprint", transfer_s=time.perf_counter() - t0)

    def capture_iris(self, position: str) -> Capture:
        check_iris(position)
        self._need("iris")
        t0 = time.perf_counter()
        png = self._samples.iris()
        w, h, px = imaging.png_decode_gray(png)
        return Capture(modality=Modality.IRIS, position=position, image=png, image_format="png",
                       quality=imaging.estimate_quality(px, w, h), width=w, height=h,
                       device="iris", transfer_s=time.perf_counter() - t0)

    def capture_signature(self) -> Capture:
        self._need("signature")
        svg = self._samples.signature()
        return Capture(modality=Modality.SIGNATURE, position="signature", image=svg,
                       image_format="svg", quality=100, device="signature")

    def print_receipt(self, lines: Sequence[str], qr_data: str | None = None) -> None:
        self._need("printer")
        self.receipts.append((tuple(lines), qr_data))

    def presence(self) -> bool:
        self._need("controller")
        return self.present

    def indicate(self, led: str, on: bool = True) -> None:
        self._need("controller")
        self.leds[led] = on

    def beep(self, ms: int = 100) -> None:
        self._need("controller")
        self.beeps += 1

    def health(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "ok": name not in self._unplugged and not self._closed,
                "state": "unplugged" if name in self._unplugged else "ok",
                "version": TWIN_VERSION,
                "captures": self.captures[name],
            }
            for name in DEVICE_NAMES
        }

    def close(self) -> None:
        self._closed = True
