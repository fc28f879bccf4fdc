"""The physical screen: how many pixels make a millimetre, and how far the resident stands.

Text is sized in millimetres, not pixels. Normal text has capitals at least 4.8 mm tall
(ADA 707.7.2, measured on the uppercase letter); large text subtends at least 0.7° at the
viewing distance (EN 301 549 §5.1.4: about 6.1 mm at 50 cm). Pure: no I/O.

Capitals are vertical, so the vertical pixel pitch counts (the official Raspberry Pi 7"
panel's pixels are not quite square: 800 × 480 on 154.2 × 85.9 mm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NORMAL_CAP_MM = 4.8  # ADA 707.7.2
LARGE_ANGLE_DEG = 0.7  # EN 301 549 §5.1.4
DEFAULT_DISTANCE_MM = 500.0
MM_PER_INCH = 25.4


@dataclass(frozen=True, kw_only=True)
class Panel:
    height_mm: float  # the active area's height, as the screen is mounted (portrait: the long side)
    height_px: int
    distance_mm: float = DEFAULT_DISTANCE_MM

    def __post_init__(self) -> None:
        for name in ("height_mm", "distance_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 < value < 10_000):
                raise ValueError(f"{name} must be a positive number of millimetres under 10000")
        if not 0 < self.height_px < 100_000:
            raise ValueError("height_px must be a positive pixel count")

    @property
    def px_per_mm(self) -> float:
        return self.height_px / self.height_mm

    def min_cap_mm(self, large: bool) -> float:
        """The smallest capital height allowed, in mm, for normal or large text."""
        if not large:
            return NORMAL_CAP_MM
        return max(NORMAL_CAP_MM, 2 * self.distance_mm * math.tan(math.radians(LARGE_ANGLE_DEG / 2)))

    def min_cap_px(self, large: bool) -> float:
        return self.min_cap_mm(large) * self.px_per_mm

    @classmethod
    def from_diagonal(cls, width_px: int, height_px: int, inches: float,
                      distance_mm: float = DEFAULT_DISTANCE_MM) -> Panel:
        """Square pixels on a panel of this diagonal."""
        if not (math.isfinite(inches) and 1 <= inches <= 200):
            raise ValueError("a panel's diagonal is 1-200 inches")
        diagonal_px = math.hypot(width_px, height_px)
        return cls(height_mm=inches * MM_PER_INCH * height_px / diagonal_px, height_px=height_px,
                   distance_mm=distance_mm)

    @classmethod
    def from_px_per_mm(cls, height_px: int, px_per_mm: float, distance_mm: float = DEFAULT_DISTANCE_MM) -> Panel:
        if not (math.isfinite(px_per_mm) and 0.5 <= px_per_mm <= 100):
            raise ValueError("pixels per millimetre must be 0.5-100")
        return cls(height_mm=height_px / px_per_mm, height_px=height_px, distance_mm=distance_mm)


# the panels each designed-for layout is meant to run on
RPI_7IN = Panel(height_mm=85.9, height_px=480)  # official Raspberry Pi 7" touch display, 154.2 × 85.9 mm
PANELS = {
    (800, 480): RPI_7IN,
    (720, 1280): Panel.from_diagonal(720, 1280, 10.1),  # a 10.1" portrait kiosk panel
    (1920, 1080): Panel.from_diagonal(1920, 1080, 21.5),  # a 21.5" full-HD monitor
}


def default_panel(width_px: int, height_px: int, distance_mm: float = DEFAULT_DISTANCE_MM) -> Panel:
    """The panel a size usually comes on; any other size is taken as a 7" panel."""
    known = PANELS.get((width_px, height_px))
    if known is not None:
        return Panel(height_mm=known.height_mm, height_px=height_px, distance_mm=distance_mm)
    return Panel.from_diagonal(width_px, height_px, 7.0, distance_mm)
