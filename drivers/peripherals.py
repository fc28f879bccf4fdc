"""The peripheral interface every device set implements (`Peripherals`), its records and its
configuration; `drivers.factory.open_peripherals` picks an implementation.

    from drivers.factory import open_peripherals
    with open_peripherals("sim") as p:              # in-process twin, instant
        face = p.capture_face()                     # Capture(image=..., quality=..., ...)
        frame = p.preview_face()                    # FacePreview: a small live frame + hint
        thumb = p.capture_finger("right_thumb")
        p.print_receipt(["Nomor tiket: A-0042"], qr_data="A-0042")
        p.health()                                  # {"controller": {...}, ...}

`open_peripherals` takes "sim" (in-memory twin, no pacing, for fast tests and benchmarks),
"sim-pty" (every device simulated at the byte level on its own pty, the controller being the
real firmware under `micropython` when available), or a `PeripheralConfig` / mapping of
pyserial URLs for real hardware. Every variant implements the same `Peripherals` interface.
Quality is always scored by the driver from the pixels (`drivers.imaging.estimate_quality`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from anjungan.packet.model import FINGER_POSITIONS, IMAGE_FORMATS, POSITIONS, Modality
from drivers.errors import PeripheralConfigError
from drivers.imaging import FaceHint, ImageError, face_guidance

DEVICE_NAMES = ("controller", "fingerprint", "iris", "face", "signature", "printer")


class FingerprintLink(StrEnum):
    """How the fingerprint sensor reaches the Pi: through its bridge on the sensor's board,
    speaking the wire codec (`drivers/fingerprint_bridge.py`; new kiosks), or an R30x module
    wired straight to the Pi, speaking its own protocol (`drivers/r30x.py`)."""

    BRIDGE = "bridge"
    R30X = "r30x"


FINGERPRINT_BAUD = {FingerprintLink.BRIDGE: 921600, FingerprintLink.R30X: 57600}  # R30x: factory


@dataclass(frozen=True, kw_only=True)
class Capture:
    """One image from one sensor. `image_format` is one of `IMAGE_FORMATS`."""

    modality: Modality
    position: str
    image: bytes
    quality: int  # 0-100, scored by the driver from the pixels
    image_format: str
    width: int = 0
    height: int = 0
    device: str = ""  # which device produced it (name from DEVICE_NAMES)
    transfer_s: float = 0.0  # wall time of the capture + transfer

    def __post_init__(self) -> None:
        object.__setattr__(self, "modality", Modality(self.modality))
        if self.position not in POSITIONS[self.modality]:
            raise ValueError(f"position {self.position!r} is not a {self.modality.value} position")
        if self.image_format not in IMAGE_FORMATS:
            raise ValueError(f"unknown image format {self.image_format!r}")
        if not (isinstance(self.quality, int) and 0 <= self.quality <= 100):
            raise ValueError("quality must be an integer 0-100")
        if not self.image:
            raise ValueError("a capture needs an image")

    def __repr__(self) -> str:  # never print biometric bytes
        return (
            f"Capture({self.modality.value}/{self.position}, {self.image_format}, "
            f"{len(self.image)} bytes, quality={self.quality})"
        )


@dataclass(frozen=True, kw_only=True)
class FacePreview:
    """One live frame of the face camera (8-bit grey, row-major), small and low-rate, with the
    driver's quality estimate and the one thing the resident should do (`FaceHint`). Shown
    while the resident steps up; never stored, never sent."""

    pixels: bytes
    width: int
    height: int
    quality: int
    hint: FaceHint

    MAX_SIDE = 320

    @classmethod
    def scored(cls, pixels: bytes, width: int, height: int) -> FacePreview:
        """Scored by the driver from the pixels (a camera cannot claim its own quality)."""
        if not (0 < width <= cls.MAX_SIDE and 0 < height <= cls.MAX_SIDE):
            raise ImageError(f"a preview frame is at most {cls.MAX_SIDE} px a side")
        quality, hint = face_guidance(pixels, width, height)
        return cls(pixels=pixels, width=width, height=height, quality=quality, hint=hint)

    def __repr__(self) -> str:  # never print the pixels
        return f"FacePreview({self.width}x{self.height}, quality={self.quality}, hint={self.hint.value})"


@dataclass(frozen=True, kw_only=True)
class PeripheralConfig:
    """pyserial URLs (device path, socket://, loop://, a pty path) and baud rates per device.

    An empty URL means the device is not fitted; its capture raises `DeviceUnavailable`.
    """

    controller: str = ""
    fingerprint: str = ""
    iris: str = ""
    face: str = ""
    signature: str = ""
    printer: str = ""
    controller_baud: int = 921600
    fingerprint_baud: int = 0  # 0: the link's own (FINGERPRINT_BAUD)
    # Not set: the module wired straight to the Pi, as on every kiosk built before the bridge,
    # so an upgrade never changes how a fielded kiosk talks to its sensor. New kiosks: `pair`
    # (and the example file) write "bridge".
    fingerprint_link: str = FingerprintLink.R30X
    camera_baud: int = 921600
    signature_baud: int = 115200
    printer_baud: int = 19200
    fingerprint_address: int = 0xFFFFFFFF
    timeout_s: float = 5.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            link = FingerprintLink(self.fingerprint_link)
        except (ValueError, TypeError):
            raise PeripheralConfigError(
                f"fingerprint_link must be one of {', '.join(FingerprintLink)}, "
                f"not {str(self.fingerprint_link)[:40]!r}") from None
        object.__setattr__(self, "fingerprint_link", link)

    @property
    def fingerprint_rate(self) -> int:
        """The fingerprint line's baud: as set, else its link's own."""
        return self.fingerprint_baud or FINGERPRINT_BAUD[FingerprintLink(self.fingerprint_link)]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PeripheralConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PeripheralConfigError(f"unknown peripheral setting(s): {', '.join(unknown)}")
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise PeripheralConfigError(f"bad peripheral config: {exc}") from exc

    def url(self, device: str) -> str:
        return str(getattr(self, device))


def check_finger(position: str) -> str:
    if position not in FINGER_POSITIONS:
        raise ValueError(f"{position!r} is not a finger position")
    return position


def check_iris(position: str) -> str:
    if position not in POSITIONS[Modality.IRIS]:
        raise ValueError(f"{position!r} is not an iris position (right_iris, left_iris)")
    return position


class Peripherals(abc.ABC):
    """What the kiosk app may ask of its hardware. Each call blocks until done or raises a
    `drivers.errors.PeripheralError` (DeviceUnavailable, DeviceTimeout, CaptureError,
    TransferFailed, LinkProtocolError). A capture below threshold is returned, not raised:
    retrying is the kiosk's policy."""

    @abc.abstractmethod
    def capture_face(self) -> Capture: ...

    @abc.abstractmethod
    def preview_face(self) -> FacePreview:
        """One small live frame of the face camera, for the resident to see themselves in
        the oval before the photo is taken (raises like a capture)."""

    @abc.abstractmethod
    def capture_finger(self, position: str) -> Capture: ...

    @abc.abstractmethod
    def capture_iris(self, position: str) -> Capture: ...

    @abc.abstractmethod
    def capture_signature(self) -> Capture: ...

    @abc.abstractmethod
    def print_receipt(self, lines: Sequence[str], qr_data: str | None = None) -> None: ...

    @abc.abstractmethod
    def presence(self) -> bool:
        """Is someone standing at the kiosk (controller's presence sensor)."""

    @abc.abstractmethod
    def indicate(self, led: str, on: bool = True) -> None:
        """Light a guide LED: 'finger', 'iris', 'face', 'signature', 'ok', 'error'."""

    @abc.abstractmethod
    def beep(self, ms: int = 100) -> None: ...

    @abc.abstractmethod
    def health(self) -> dict[str, dict[str, Any]]:
        """Per device: {"ok": bool, "state": "ok|degraded|unplugged|...", "version": str, ...}."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Peripherals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
