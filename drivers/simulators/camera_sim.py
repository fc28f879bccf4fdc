"""Iris camera, face camera and signature pad simulators (wire codec, synthetic images)."""

from __future__ import annotations

import time

from anjungan.packet.model import Modality
from drivers import imaging
from drivers.cameras import CMD_CAPTURE, CMD_IDENTIFY, CMD_PREVIEW, ST_OK, ST_UNKNOWN, pack_meta
from drivers.samples import SampleSource
from drivers.simulators.wire_device import WireDevice

MODELS = {
    Modality.IRIS: ("anjungan-iris-sim", "png", imaging.IRIS_W, imaging.IRIS_H),
    Modality.FACE: ("anjungan-face-sim", "png", imaging.FACE_W, imaging.FACE_H),
    Modality.SIGNATURE: ("anjungan-sigpad-sim", "svg", 400, 150),
}
SIM_VERSION = "sim-1.0"


class CameraSim(WireDevice):
    def __init__(self, modality: Modality, *, seed: int = 0, capture_s: float = 0.0,
                 baud: int = 0) -> None:
        super().__init__(baud=baud)
        self.modality = Modality(modality)
        self.samples = SampleSource(seed)
        self.capture_s = capture_s
        self._obj = 0
        self.captures = 0
        self.previews = 0
        self.last_image = b""  # ground truth for the selftest's corruption check

    def on_request(self, cmd: int, args: bytes):
        model, fmt, w, h = MODELS[self.modality]
        if cmd == CMD_IDENTIFY:
            return ST_OK, f"{model}\nSIM-{self.modality.value}\n{SIM_VERSION}".encode(), None
        if cmd == CMD_CAPTURE:
            if self.capture_s:
                time.sleep(self.capture_s)
            if self.modality is Modality.IRIS:
                image = self.samples.iris()
            elif self.modality is Modality.FACE:
                image = self.samples.face()
            else:
                image = self.samples.signature()
            self._obj = (self._obj + 1) & 0xFFFF
            self.captures += 1
            self.last_image = image
            return ST_OK, b"", (self._obj, image, pack_meta(w, h, fmt))
        if cmd == CMD_PREVIEW and self.modality is Modality.FACE:
            self._obj = (self._obj + 1) & 0xFFFF
            self.previews += 1
            frame = self.samples.face_preview()
            return ST_OK, b"", (self._obj, frame, pack_meta(imaging.PREVIEW_W, imaging.PREVIEW_H, "raw8"))
        return ST_UNKNOWN, b"", None
