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
    photo_box: Box | None = None

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
    scale = min(width, height) / 480
    factor = LARGE_TEXT if view.large_text else 1.0
    for shrink in (1.0, 0.9, 0.8, 0.7, 0.6):
        frame = _layout(view, width, height, measure, scale, factor * shrink, factor)
        if frame is not None:
            return frame
    return _layout(view, width, height, measure, scale, 0.5, factor, force=True) or Frame(width=width, height=height, texts=(), buttons=())


def _layout(view: View, width: int, height: int, measure: Measure, scale: float, factor: float,
            base: float, force: bool = False) -> Frame | None:
    """`factor` sizes the text (shrunk as far as the screen needs); `base` (the text mode
    alone) sizes the targets and the top and bottom bars, which never shrink or move."""
    m, gap = round(12 * scale), round(8 * scale)
    body = max(14, round(22 * scale * factor))
    title = round(body * 1.35)
    btn = max(14, round(21 * scale * factor))
    bar = max(14, round(21 * scale * base))  # label size in the bars
    target = max(MIN_TARGET, round(54 * scale * min(base, 1.1)))
    texts: list[Text] = []
    buttons: list[Placed] = []

    # top bar: Exit at the left; language, large text and audio at the right
    top_all = (*view.top, *((view.home,) if view.home else ()))
    slots = len(view.top) + 1  # Exit's place is kept even where there is no Exit
    top_w = max(measure(w.label, bar) for w in top_all) + 2 * m if top_all else 0
    top_w = min(top_w, (width - 2 * m - gap * (slots - 1)) // slots)

    def top_button(w: Widget, x: int) -> Placed:
        size = bar if measure(w.label, bar) <= top_w - gap else max(12, bar * 3 // 4)
        return Placed(widget=w, box=Box(x, m, top_w, target), size=size)

    x = width - m
    for w in reversed(view.top):
        x -= top_w
        buttons.append(top_button(w, x))
        x -= gap
    if view.home:
        buttons.append(top_button(view.home, m))
    y = m + target + gap
    banner_box = None
    if view.banner:  # over the top bar; drawn last
        banner_box = Box(0, 0, width, y)

    nav_y = height - m - target
    frame_nav = [w for w in (view.back, view.corner, view.help) if w is not None]
    nav_w = max(measure(w.label, bar) for w in frame_nav) + 4 * m if frame_nav else 0
    nav_w = min(nav_w, (width - 2 * m - gap) // 2)
    for slot, nx in ((view.back or view.corner, m), (view.help, width - m - nav_w)):
        if slot is not None:
            size = bar if measure(slot.label, bar) <= nav_w - gap else max(12, bar * 3 // 4)
            buttons.append(Placed(widget=slot, box=Box(nx, nav_y, nav_w, target), size=size))
    # the notice goes between Back and Help when it fits there (landscape); in portrait a line
    # above the bottom bar is kept for it on every screen, so nothing moves when it appears
    above = width < height
    bottom = nav_y - gap - (round(bar * 1.4) + gap if above else 0)
    if view.notice:
        room = width - 2 * m if above else width - 2 * m - 2 * (nav_w + gap)
        size = bar if above else body
        while measure(view.notice, size) > room and size > 12:
            size -= 1
        nx = (width - min(room, measure(view.notice, size))) // 2
        ny = bottom + gap + (round(bar * 1.4) - size) // 2 if above else nav_y + (target - size) // 2
        texts.append(Text(text=view.notice, x=nx, y=ny, size=size, style="notice"))

    side_by_side = bool(view.keys) and width > height and view.key_columns <= 3
    text_w = (width * 45 // 100 - 2 * m) if side_by_side else width - 2 * m
    photo_box = None
    if view.photo or view.hands:  # a picture top right, beside the text: the photo, or the hands
        side = round(min(width, height) * 0.4)
        photo_box = Box(width - m - side, y, side, side - (body + gap if view.hands else 0))
        text_w -= side + m
        if view.hands:  # "left hand", "right hand" under the picture
            size = body
            while max(measure(label, size) for label in view.hand_labels) > side // 2 - gap and size > 12:
                size -= 1
            for i, label in enumerate(view.hand_labels):
                lx = photo_box.x + i * side // 2 + (side // 2 - measure(label, size)) // 2
                texts.append(Text(text=label, x=lx, y=photo_box.y + photo_box.h + gap // 2, size=size, style="text"))
    for line in wrap(view.title, title, text_w, measure):
        texts.append(Text(text=line, x=m, y=y, size=title, style="title"))
        y += round(title * 1.2)
    y += gap
    for para in view.lines:
        for line in wrap(para, body, text_w, measure):
            texts.append(Text(text=line, x=m, y=y, size=body, style="text"))
            y += round(body * 1.25)
    field_box = None
    if view.field is not None:
        y += gap
        field_box = Box(m, y, text_w, target)
        texts.append(Text(text=view.field, x=m + m, y=y + (target - body) // 2, size=body, style="field"))
        y += target + gap
    if view.error:
        for line in wrap(view.error, body, text_w, measure):
            texts.append(Text(text=line, x=m, y=y, size=body, style="error"))
            y += round(body * 1.25)
    y += gap

    qr_box = None
    if view.qr:
        side = min(bottom - y, width // 3)
        if side < 120 and not force:
            return None
        qr_box = Box(width - m - side, max(y, bottom - side), side, side) if width > height else Box(m, y, side, side)
        y = y if width > height else y + side + gap

    if view.keys:
        if side_by_side:
            area = Box(width * 45 // 100 + m, m + target + gap, width * 55 // 100 - 2 * m, 0)
            area = Box(area.x, area.y, area.w, bottom - area.y)
        else:
            area = Box(m, y, width - 2 * m, bottom - y)
        rows = -(-len(view.keys) // view.key_columns)
        if area.h < rows * MIN_TARGET + (rows - 1) * gap and not force:
            return None
        buttons.extend(_grid(view.keys, area, view.key_columns, round(target * 1.5), gap, btn))
    if view.actions:
        cols = view.action_columns or (1 if width < height or len(view.actions) <= 3 else 2)
        rows = -(-len(view.actions) // cols)
        row_h = round(target * 1.3)
        if view.action_columns:  # fixed slots: anchored above the bottom bar, never sliding
            row_h = round(target * 1.1)
            top = bottom - rows * row_h - (rows - 1) * gap
            if y > top and not force:
                return None
            y = max(y, top)
        avail = Box(m, y, (width - 2 * m) if not qr_box or width < height else width - 3 * m - qr_box.w, bottom - y)
        if avail.h < rows * MIN_TARGET + (rows - 1) * gap and not force:
            return None
        for p in _grid(view.actions, avail, cols, row_h, gap, btn):
            fits = measure(p.widget.label, p.size) <= p.box.w - 2 * gap
            buttons.append(p if fits else Placed(widget=p.widget, box=p.box, size=max(12, p.size * 3 // 4)))
    if not force and any(t.y + t.size > bottom for t in texts if t.style != "notice"):
        return None
    if view.banner and banner_box:
        room = width - 2 * m
        if view.banner_action:
            bw = measure(view.banner_action.label, bar) + 3 * m
            buttons.append(Placed(widget=view.banner_action, box=Box(width - m - bw, m, bw, target), size=bar))
            room -= bw + gap
        size = body
        while size > 12 and len(wrap(view.banner, size, room, measure)) * round(size * 1.15) > banner_box.h - gap:
            size -= 1
        lines = wrap(view.banner, size, room, measure)
        by = (banner_box.h - len(lines) * round(size * 1.15)) // 2
        for i, line in enumerate(lines):
            texts.append(Text(text=line, x=m, y=by + i * round(size * 1.15), size=size, style="banner"))
    return Frame(width=width, height=height, texts=tuple(texts), buttons=tuple(buttons),
                 field_box=field_box, banner_box=banner_box, banner_widget=view.banner_action,
                 qr_box=qr_box, photo_box=photo_box)
