"""The one function that turns a capture request into flow samples, over the one peripheral
interface (`drivers.peripherals.Peripherals`, which every `open_peripherals` product
implements)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from anjungan.errors import AnjunganError
from anjungan.packet.model import Modality
from drivers.errors import DeviceTimeout, DeviceUnavailable
from drivers.peripherals import Peripherals
from kiosk.flow.model import Sample


def _guide(port: Peripherals, led: str, on: bool, *, beep: bool = False) -> None:
    """Light the capture LED (and beep when done) if the controller can; guidance only, so a
    controller fault never fails a capture (its health reports it)."""
    try:
        port.indicate(led, on)
        if beep:
            port.beep(80)
    except AnjunganError:
        pass


def capture(port: Peripherals, modality: Modality, positions: Sequence[str],
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


def _read(port: Peripherals, modality: Modality, positions: Sequence[str],
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
