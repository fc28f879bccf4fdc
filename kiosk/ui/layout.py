"""Where everything goes on a screen of a given size. Pure: text is measured by a callable.

Three layouts are designed for: 800x480 (small landscape), 720x1280 (portrait) and
1920x1080; any size works. Every touch target is at least `MIN_TARGET` px in both directions;
large-text mode scales fonts by `LARGE_TEXT`, shrinking back only as far as the screen needs.

The frame is fixed: top bar (Exit left; language, large text, audio right), bottom bar (Back
left, Call an officer right, a notice between). The timeout warning is drawn over the top bar
and takes any touch on it as "more time": nothing else moves when it appears.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.ui.views import View, Widget

MIN_TARGET = 44  # px, WCAG 2.5.5 / EN 301 549
LARGE_TEXT = 1.35
LAYOUTS = ((800, 480), (720, 1280), (1920, 1080))
Measure = Callable[[str, int], int]  # (text, font px) -> width px


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    def contains(self, px: int, py: int) -> bool:
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2


@dataclass(frozen=True, kw_only=True)
class Text:
    text: str
    x: int
    y: int
    size: int
    style: str  # "title" | "text" | "muted" | "error" | "field" | "notice" | "banner"


@dataclass(frozen=True, kw_only=True)
class Placed:
    widget: Widget
    box: Box
    size: int  # label font px


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
    photo_box: Box | None = None  # the photo, the live preview or the hands
    bar_boxes: tuple[Box, ...] = ()  # one a `View.bars`, under their labels (in `texts`)

    def hit(self, px: int, py: int) -> Widget | None:
        if self.banner_box and self.banner_box.contains(px, py):  # the banner lies on top
            return self.banner_widget
        for placed in reversed(self.buttons):
            if placed.box.contains(px, py):
                return placed.widget
        return None


def _overlaps(a: Box, b: Box) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


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


def _grid(widgets: tuple[Widget | None, ...], area: Box, cols: int, row_h: int, gap: int, size: int) -> list[Placed]:
    rows = max(1, -(-len(widgets) // cols))
    row_h = max(MIN_TARGET, min(row_h, (area.h - gap * (rows - 1)) // rows))
    col_w = (area.w - gap * (cols - 1)) // cols
    out = []
    for i, w in enumerate(widgets):
        if w is None:  # an empty slot keeps its place
            continue
        r, c = divmod(i, cols)
        out.append(Placed(widget=w, box=Box(area.x + c * (col_w + gap), area.y + r * (row_h + gap), col_w, row_h), size=size))
    return out


def layout(view: View, width: int, height: int, measure: Measure) -> Frame:
    """Text as large as the mode asks, shrunk step by step until everything fits; at the last
    step the frame is taken as it comes."""
    scale = min(width, height) / 480
    factor = LARGE_TEXT if view.large_text else 1.0
    for shrink in (1.0, 0.9, 0.8, 0.7, 0.6):
        frame, fits = _Pass(view, width, height, measure, scale, factor * shrink, factor).place()
        if fits:
            return frame
    return _Pass(view, width, height, measure, scale, 0.5, factor).place()[0]


class _Pass:
    """One try at a text size. `factor` sizes the text; `base` (the text mode alone) sizes the
    targets and the top and bottom bars, which never shrink or move. Each part is placed in
    turn, top to bottom; `fits` turns False when one does not fit."""

    def __init__(self, view: View, width: int, height: int, measure: Measure, scale: float,
                 factor: float, base: float) -> None:
        self.view, self.width, self.height, self.measure = view, width, height, measure
        self.m, self.gap = round(12 * scale), round(8 * scale)
        self.body = max(14, round(22 * scale * factor))
        self.title = round(self.body * 1.35)
        self.btn = max(14, round(21 * scale * factor))
        self.bar = max(14, round(21 * scale * base))  # label size in the bars
        self.target = max(MIN_TARGET, round(54 * scale * min(base, 1.1)))
        self.texts: list[Text] = []
        self.buttons: list[Placed] = []
        self.fits = True
        self.y = 0  # the text column's next line
        self.bottom = 0  # where the content area ends, above the bottom bar (and notice line)

    def place(self) -> tuple[Frame, bool]:
        view = self.view
        self._top_bar()
        banner_box = Box(0, 0, self.width, self.y) if view.banner else None  # over the top bar
        nav_w = self._bottom_bar()
        self._notice(nav_w)
        side_by_side = bool(view.keys) and self.width > self.height and view.key_columns <= 3
        text_w = (self.width * 45 // 100 - 2 * self.m) if side_by_side else self.width - 2 * self.m
        photo_box = self._picture()
        if photo_box is not None:
            text_w -= photo_box.w + self.m
        bar_boxes = self._bars(photo_box)
        if photo_box is not None and not view.picture:
            photo_box = None  # the column holds bars only
        field_box = self._text_column(text_w)
        qr_box = self._qr()
        if view.keys:
            self._keys(side_by_side)
        if view.actions:
            self._actions(qr_box)
        if any(_overlaps(b, p.box) for b in bar_boxes for p in self.buttons):
            self.fits = False
        if any(t.y + t.size > self.bottom for t in self.texts if t.style != "notice"):
            self.fits = False
        if banner_box is not None:
            self._banner(banner_box)
        frame = Frame(width=self.width, height=self.height, texts=tuple(self.texts),
                      buttons=tuple(self.buttons), field_box=field_box, banner_box=banner_box,
                      banner_widget=view.banner_action, qr_box=qr_box, photo_box=photo_box,
                      bar_boxes=bar_boxes)
        return frame, self.fits

    def _label_size(self, label: str, room: int) -> int:
        """The bar's size, or three quarters of it for a label too long for its place."""
        return self.bar if self.measure(label, self.bar) <= room - self.gap else max(12, self.bar * 3 // 4)

    def _top_bar(self) -> None:
        """Exit at the left; language, large text and audio at the right."""
        view, m, gap = self.view, self.m, self.gap
        top_all = (*view.top, *((view.home,) if view.home else ()))
        slots = len(view.top) + 1  # Exit's place is kept even where there is no Exit
        top_w = max(self.measure(w.label, self.bar) for w in top_all) + 2 * m if top_all else 0
        top_w = min(top_w, (self.width - 2 * m - gap * (slots - 1)) // slots)
        x = self.width - m
        for w in reversed(view.top):
            x -= top_w
            self.buttons.append(Placed(widget=w, box=Box(x, m, top_w, self.target), size=self._label_size(w.label, top_w)))
            x -= gap
        if view.home:
            self.buttons.append(Placed(widget=view.home, box=Box(m, m, top_w, self.target),
                                       size=self._label_size(view.home.label, top_w)))
        self.y = m + self.target + gap

    def _bottom_bar(self) -> int:
        """Back (or, where there is none, a staff-only button) at the left, Call an officer at
        the right; returns their width."""
        view, m, gap = self.view, self.m, self.gap
        self.nav_y = self.height - m - self.target
        frame_nav = [w for w in (view.back, view.corner, view.help) if w is not None]
        nav_w = max(self.measure(w.label, self.bar) for w in frame_nav) + 4 * m if frame_nav else 0
        nav_w = min(nav_w, (self.width - 2 * m - gap) // 2)
        for slot, nx in ((view.back or view.corner, m), (view.help, self.width - m - nav_w)):
            if slot is not None:
                self.buttons.append(Placed(widget=slot, box=Box(nx, self.nav_y, nav_w, self.target),
                                           size=self._label_size(slot.label, nav_w)))
        # in portrait a line above the bottom bar is kept for the notice on every screen, so
        # nothing moves when it appears
        above = self.width < self.height
        self.bottom = self.nav_y - gap - (round(self.bar * 1.4) + gap if above else 0)
        return nav_w

    def _notice(self, nav_w: int) -> None:
        """Between Back and Help when it fits there (landscape); on its own line in portrait."""
        view, m, gap = self.view, self.m, self.gap
        if not view.notice:
            return
        above = self.width < self.height
        room = self.width - 2 * m if above else self.width - 2 * m - 2 * (nav_w + gap)
        size = self.bar if above else self.body
        while self.measure(view.notice, size) > room and size > 12:
            size -= 1
        nx = (self.width - min(room, self.measure(view.notice, size))) // 2
        ny = (self.bottom + gap + (round(self.bar * 1.4) - size) // 2 if above
              else self.nav_y + (self.target - size) // 2)
        self.texts.append(Text(text=view.notice, x=nx, y=ny, size=size, style="notice"))

    def _picture(self) -> Box | None:
        """A picture top right, beside the text: the photo, or the hands with their labels."""
        view, m, gap = self.view, self.m, self.gap
        if not (view.picture or view.bars):
            return None
        wide = view.preview or not view.picture  # a face to aim; bars with labels
        side = round(min(self.width, self.height) * (0.4 if not wide else 0.5 if view.preview else 0.6))
        box = Box(self.width - m - side, self.y, side, side - (self.body + gap if view.halves else 0))
        if view.action_columns and view.picture and not view.bars:  # stays above fixed slots
            rows = -(-len(view.actions) // view.action_columns)
            slots_top = self.bottom - rows * round(self.target * 1.1) - (rows - 1) * gap
            room = slots_top - gap - box.y - (self.body + gap if view.halves else 0)
            box = Box(box.x, box.y, side, max(MIN_TARGET, min(box.h, room)))
        if view.bars:  # the bars go under the picture, or fill its place
            image = view.picture
            box = Box(box.x, box.y, side, max(side // 2, side - self._bars_height(side)) if image else 0)
        if view.halves:  # "left hand", "right hand" (or eye) under the picture
            size = self.body
            while max(self.measure(label, size) for label in view.hand_labels) > side // 2 - gap and size > 12:
                size -= 1
            for i, label in enumerate(view.hand_labels):
                lx = box.x + i * side // 2 + (side // 2 - self.measure(label, size)) // 2
                self.texts.append(Text(text=label, x=lx, y=box.y + box.h + gap // 2, size=size, style="text"))
        return Box(box.x, box.y, side, box.h)

    def _bar_lines(self, width: int) -> list[list[str]]:
        return [wrap(bar.label, self.body, width, self.measure) for bar in self.view.bars]

    def _bars_height(self, width: int) -> int:
        per_line, bar_h = round(self.body * 1.25), max(10, self.body * 2 // 3)
        return sum(len(lines) * per_line + bar_h + self.gap for lines in self._bar_lines(width))

    def _bars(self, column: Box | None) -> tuple[Box, ...]:
        """Each bar's label (wrapped) over the bar itself, down the picture's column under the
        picture; a column too short for them does not fit."""
        if not self.view.bars or column is None:
            return ()
        per_line, bar_h = round(self.body * 1.25), max(10, self.body * 2 // 3)
        y, boxes = column.y + column.h + (self.gap if column.h else 0), []
        for lines in self._bar_lines(column.w):
            for line in lines:
                self.texts.append(Text(text=line, x=column.x, y=y, size=self.body, style="text"))
                y += per_line
            boxes.append(Box(column.x, y, column.w, bar_h))
            y += bar_h + self.gap
        if y > self.bottom:
            self.fits = False
        return tuple(boxes)

    def _text_column(self, text_w: int) -> Box | None:
        """Title, lines, the typed field and the error, down the left; returns the field's box."""
        view, m, gap = self.view, self.m, self.gap
        for line in wrap(view.title, self.title, text_w, self.measure):
            self.texts.append(Text(text=line, x=m, y=self.y, size=self.title, style="title"))
            self.y += round(self.title * 1.2)
        self.y += gap
        for para in view.lines:
            self._paragraph(para, text_w, "text")
        field_box = None
        if view.field is not None:
            self.y += gap
            field_box = Box(m, self.y, text_w, self.target)
            self.texts.append(Text(text=view.field, x=m + m, y=self.y + (self.target - self.body) // 2,
                                   size=self.body, style="field"))
            self.y += self.target + gap
        if view.error:
            self._paragraph(view.error, text_w, "error")
        self.y += gap
        return field_box

    def _paragraph(self, text: str, width: int, style: str) -> None:
        for line in wrap(text, self.body, width, self.measure):
            self.texts.append(Text(text=line, x=self.m, y=self.y, size=self.body, style=style))
            self.y += round(self.body * 1.25)

    def _qr(self) -> Box | None:
        """The receipt's QR: bottom right in landscape, under the text in portrait."""
        if not self.view.qr:
            return None
        landscape = self.width > self.height
        side = min(self.bottom - self.y, self.width // 3)
        if side < 120:
            self.fits = False
        box = (Box(self.width - self.m - side, max(self.y, self.bottom - side), side, side) if landscape
               else Box(self.m, self.y, side, side))
        if not landscape:
            self.y += side + self.gap
        return box

    def _keys(self, side_by_side: bool) -> None:
        """The keypad (beside the text in landscape) or the keyboard (under it)."""
        view, m, gap = self.view, self.m, self.gap
        if side_by_side:
            top = m + self.target + gap
            area = Box(self.width * 45 // 100 + m, top, self.width * 55 // 100 - 2 * m, self.bottom - top)
        else:
            area = Box(m, self.y, self.width - 2 * m, self.bottom - self.y)
        rows = -(-len(view.keys) // view.key_columns)
        if area.h < rows * MIN_TARGET + (rows - 1) * gap:
            self.fits = False
        self.buttons.extend(_grid(view.keys, area, view.key_columns, round(self.target * 1.5), gap, self.btn))

    def _actions(self, qr_box: Box | None) -> None:
        """The screen's choices: fixed slots anchored above the bottom bar, or a grid under the
        text; a label too long for its button is set smaller."""
        view, m, gap = self.view, self.m, self.gap
        cols = view.action_columns or (1 if self.width < self.height or len(view.actions) <= 3 else 2)
        rows = -(-len(view.actions) // cols)
        row_h = round(self.target * 1.3)
        if view.action_columns:  # fixed slots: anchored above the bottom bar, never sliding
            row_h = round(self.target * 1.1)
            top = self.bottom - rows * row_h - (rows - 1) * gap
            if self.y > top:
                self.fits = False
            self.y = max(self.y, top)
        beside_qr = qr_box is not None and self.width >= self.height
        avail_w = self.width - 3 * m - qr_box.w if beside_qr and qr_box is not None else self.width - 2 * m
        avail = Box(m, self.y, avail_w, self.bottom - self.y)
        if avail.h < rows * MIN_TARGET + (rows - 1) * gap:
            self.fits = False
        for p in _grid(view.actions, avail, cols, row_h, gap, self.btn):
            fits = self.measure(p.widget.label, p.size) <= p.box.w - 2 * gap
            self.buttons.append(p if fits else Placed(widget=p.widget, box=p.box, size=max(12, p.size * 3 // 4)))

    def _banner(self, banner_box: Box) -> None:
        """The timeout warning over the top bar, with its "more time" button; drawn last."""
        view, m, gap = self.view, self.m, self.gap
        room = self.width - 2 * m
        if view.banner_action:
            bw = self.measure(view.banner_action.label, self.bar) + 3 * m
            self.buttons.append(Placed(widget=view.banner_action, box=Box(self.width - m - bw, m, bw, self.target),
                                       size=self.bar))
            room -= bw + gap
        size = self.body
        while size > 12 and len(wrap(view.banner, size, room, self.measure)) * round(size * 1.15) > banner_box.h - gap:
            size -= 1
        lines = wrap(view.banner, size, room, self.measure)
        by = (banner_box.h - len(lines) * round(size * 1.15)) // 2
        for i, line in enumerate(lines):
            self.texts.append(Text(text=line, x=m, y=by + i * round(size * 1.15), size=size, style="banner"))
