"""What the kiosk needs from its peripherals, as a Protocol (`drivers.peripherals.Peripherals`
satisfies it), and the one function that turns a capture request into flow samples."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from anjungan.errors import AnjunganError
from anjungan.packet.model import Modality
from drivers.errors import DeviceTimeout, DeviceUnavailable
from kiosk.flow.model import Sample


class CaptureLike(Protocol):
    @property
    def modality(self) -> Modality: ...
    @property
    def position(self) -> str: ...
    @property
    def image(self) -> bytes: ...
    @property
    def image_format(self) -> str: ...
    @property
    def quality(self) -> int: ...


class PeripheralPort(Protocol):
    def capture_face(self) -> CaptureLike: ...
    def capture_finger(self, position: str) -> CaptureLike: ...
    def capture_iris(self, position: str) -> CaptureLike: ...
    def capture_signature(self) -> CaptureLike: ...
    def print_receipt(self, lines: Sequence[str], qr_data: str | None = None) -> None: ...
    def health(self) -> dict[str, dict[str, Any]]: ...
    def close(self) -> None: ...


def _guide(port: PeripheralPort, led: str, on: bool, *, beep: bool = False) -> None:
    """Light the capture LED (and beep when done) if the controller can; guidance only, so a
    controller fault never fails a capture (its health reports it)."""
    try:
        if hasattr(port, "indicate"):
            port.indicate(led, on)
        if beep and hasattr(port, "beep"):
            port.beep(80)
    except AnjunganError:
        pass


def capture(port: PeripheralPort, modality: Modality, positions: Sequence[str],
            progress: Callable[[int], None] | None = None) -> tuple[Sample, ...]:
    """One try of one step: every position, in order (a slap is four finger reads here);
    `progress(n)` after the n-th position (called on the capture thread)."""
    _guide(port, modality.value, True)
    try:
        samples = _read(port, modality, positions, progress)
    finally:
        _guide(port, modality.value, False)
    _guide(port, "ok", True, beep=True)
    _guide(port, "ok", False)
    return samples


def _read(port: PeripheralPort, modality: Modality, positions: Sequence[str],
          progress: Callable[[int], None] | None) -> tuple[Sample, ...]:
    out = []
    for position in positions:
        if modality is Modality.FACE:
            c = port.capture_face()
        elif modality is Modality.FINGER:
            c = port.capture_finger(position)
        elif modality is Modality.IRIS:
            c = port.capture_iris(position)
        else:
            c = port.capture_signature()
        out.append(Sample(modality=modality, position=position, image=c.image,
                          image_format=c.image_format, quality=c.quality))
        if progress is not None:
            progress(len(out))
    return tuple(out)


def failure_reason(exc: BaseException) -> str:
    """A short code for the screen (i18n `fail_<code>`)."""
    if isinstance(exc, DeviceUnavailable):
        return "unavailable"
    if isinstance(exc, DeviceTimeout):
        return "timeout"
    return "failed"
