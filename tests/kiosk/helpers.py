"""Shared bits for the kiosk tests: synthetic residents and a driver for the pure flow."""

from __future__ import annotations

import datetime as dt
import functools

from anjungan.packet.model import Modality
from drivers.imaging import png_encode
from kiosk.flow.machine import Flow
from kiosk.flow.model import (
    Action,
    Button,
    CaptureDone,
    Digit,
    Event,
    Press,
    RequestCapture,
    Sample,
    Screen,
)
from kiosk.flow.plan import THRESHOLDS

WITA = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=WITA).timestamp()
ELDER_NIK = "5101015203500001"  # woman, born 12-03-1950, Jembrana (Bali)
YOUTH_NIK = "5101010507090002"  # man, born 05-07-2009: 17 on NOW
KK = "5101010101200001"


def sample(modality: Modality, position: str, quality: int) -> Sample:
    """A small valid grey PNG (the kiosk turns it into an ISO/IEC 19794 record when sealing)."""
    return Sample(modality=modality, position=position, image=_tiny_png(position),
                  image_format="png", quality=quality)


class ManualClock:
    """A clock that moves only when told: `KioskApp(clock=..., monotonic=...)` in tests."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@functools.lru_cache(maxsize=32)
def _tiny_png(position: str) -> bytes:
    seed = sum(position.encode())
    return png_encode(bytes((seed + 29 * i) & 0xFF for i in range(16 * 16)), 16, 16)


class Driver:
    """Feeds a Flow events at a fake time; answers capture requests with chosen qualities."""

    def __init__(self, flow: Flow | None = None, now: float = NOW) -> None:
        self.flow = flow or Flow()
        self.now = now
        self.actions: list[Action] = []

    def send(self, event: Event, dt_s: float = 1.0) -> list[Action]:
        self.now += dt_s
        out = self.flow.handle(event, self.now)
        self.actions.extend(out)
        return out

    def press(self, button: Button) -> list[Action]:
        return self.send(Press(button=button))

    def type_digits(self, digits: str) -> None:
        for d in digits:
            self.send(Digit(digit=d))

    def capture(self, quality: int | None = None) -> list[Action]:
        """Press capture and answer the request with every position at `quality`
        (default: just above the threshold)."""
        out = self.press(Button.BEGIN_CAPTURE)
        req = next(a for a in out if isinstance(a, RequestCapture))
        q = THRESHOLDS[req.modality] + 10 if quality is None else quality
        samples = tuple(sample(req.modality, p, q) for p in req.positions)
        return self.send(CaptureDone(token=req.token, samples=samples))

    @property
    def screen(self) -> Screen:
        return self.flow.screen
