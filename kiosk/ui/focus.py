"""Tactile input (ADA 707.6): a keypad or keyboard reaches every control on every screen.

Tab, Down and Right move the focus to the next control; Shift+Tab, Up and Left to the one
before; Enter (or the keypad's Enter) presses the focused control. The order is reading
order: top to bottom, left to right, the timeout warning's "more time" first while it shows.
The focus starts on nothing: until Tab is pressed, Enter keeps its typing meaning (Next on
the keypad screens, a scanned QR on the status screen). Pure: a frame in, a widget out.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.ui.geometry import Frame, Placed
from kiosk.ui.views import Widget

NEXT_KEYS = frozenset({"tab", "down", "right"})
PREVIOUS_KEYS = frozenset({"up", "left"})  # and Shift+Tab
MOVE_KEYS = NEXT_KEYS | PREVIOUS_KEYS


def reading_order(frame: Frame) -> list[Placed]:
    """Every control of the frame as a finger finds it: the banner's first, then by rows."""
    banner = [p for p in frame.buttons if p.widget is frame.banner_widget]
    rest = sorted((p for p in frame.buttons if p.widget is not frame.banner_widget),
                  key=lambda p: (p.box.y, p.box.x))
    return banner + rest


@dataclass
class Focus:
    widget_id: str = ""  # "" for none

    def move(self, frame: Frame, step: int) -> Widget | None:
        """The next (+1) or previous (-1) control, wrapping round; None on an empty frame."""
        order = reading_order(frame)
        if not order:
            self.widget_id = ""
            return None
        ids = [p.widget.id for p in order]
        if self.widget_id in ids:
            at = (ids.index(self.widget_id) + step) % len(ids)
        else:
            at = 0 if step > 0 else len(ids) - 1
        self.widget_id = ids[at]
        return order[at].widget

    def current(self, frame: Frame | None) -> Placed | None:
        """The focused control if it is on this frame."""
        if frame is None or not self.widget_id:
            return None
        return next((p for p in frame.buttons if p.widget.id == self.widget_id), None)

    def clear(self) -> None:
        self.widget_id = ""
