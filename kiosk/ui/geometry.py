"""What a laid-out screen is made of: boxes, placed texts and buttons, the frame; text
wrapping and sizing by measure. Pure: text is measured by callables the renderer passes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.ui.views import Widget

MIN_TARGET = 44  # px, WCAG 2.5.5 / EN 301 549
Measure = Callable[[str, int], int]  # (text, font px) -> width px
Cap = Callable[[int], int]  # font px -> capital height px (the 'H' as drawn)


def nominal_cap(size: int) -> int:
    """A capital's height for a typical sans (0.68 em); the renderer passes the real one."""
    return round(size * 0.68)


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    def contains(self, px: int, py: int) -> bool:
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h

    def overlaps(self, other: Box) -> bool:
        return (self.x < other.x + other.w and other.x < self.x + self.w
                and self.y < other.y + other.h and other.y < self.y + self.h)

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2


@dataclass(frozen=True, kw_only=True)
class Text:
    text: str
    x: int
    y: int  # where the capitals start
    size: int
    style: str  # "title" | "text" | "muted" | "error" | "field" | "notice" | "banner"


@dataclass(frozen=True, kw_only=True)
class Placed:
    widget: Widget
    box: Box
    size: int  # label font px
    lines: tuple[str, ...] = ()  # the label as wrapped onto its button


@dataclass(frozen=True, kw_only=True)
class Frame:
    width: int
    height: int
    texts: tuple[Text, ...]
    buttons: tuple[Placed, ...]
    field_box: Box | None = None
    banner_box: Box | None = None
    banner_widget: Widget | None = None  # any touch on the banner is this ("more time")
    qr_box: Box | None = None
    photo_box: Box | None = None  # the photo, the live preview, the hands or the face with its eyes
    bar_boxes: tuple[Box, ...] = ()  # the bars on this page, each under its label (in `texts`)
    bar_ids: tuple[int, ...] = ()  # which of `View.bars` each of `bar_boxes` is
    page: int = 0
    pages: int = 1
    fits: bool = True  # False: something could only be placed overlapping (never on the designed sizes)

    def hit(self, px: int, py: int) -> Widget | None:
        if self.banner_box and self.banner_box.contains(px, py):  # the banner lies on top
            return self.banner_widget
        for placed in reversed(self.buttons):
            if placed.box.contains(px, py):
                return placed.widget
        return None


def wrap(text: str, size: int, width: int, measure: Measure) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if measure(trial, size) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines



def text_size(cap_px: float, cap: Cap) -> int:
    """The smallest font px whose drawn capital is at least `cap_px` tall."""
    size = max(6, int(cap_px / 0.8))
    while cap(size) < cap_px:
        size += 1
    return size
