"""Where everything goes on a screen of a given size. Pure: text is measured by callables.

Text is sized in millimetres on the kiosk's panel (`kiosk.ui.panel`): every text, button
label included, has capitals at least as tall as its mode asks (4.8 mm normal, 0.7° large).
Text never shrinks below that, and no target below `MIN_TARGET` px: the layout reflows
instead. A label too long for its button wraps onto more lines; a bar with too many buttons
for one row takes two; choices take fewer columns; what still does not fit goes onto pages
with a "‹ Previous" / "More ›" pair (`View.pager`) just above the bottom bar.

The frame is fixed: top bar (Exit first, then language, large text, contrast, audio), bottom
bar (Back or a staff button left, Call an officer right). A notice sits between them when it
fits there, on its own line above the bottom bar in portrait, else under the title. The
timeout warning is drawn over the top bar (further down when its text needs it) and takes any
touch on it as "more time": nothing else moves when it appears. The screen's choices and keys
are anchored above the bottom bar, within reach in portrait; text starts at the top.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.ui.panel import Panel, default_panel
from kiosk.ui.views import View, Widget

MIN_TARGET = 44  # px, WCAG 2.5.5 / EN 301 549
LARGE_TEXT = 1.35  # large text's designed size over normal's, where the panel leaves room
LAYOUTS = ((800, 480), (720, 1280), (1920, 1080))
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
    photo_box: Box | None = None
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


@dataclass(kw_only=True)
class _Block:
    """One piece of the content column: placed at y=0, moved to its page's place."""

    h: int
    texts: list[Text] = dataclasses.field(default_factory=list)
    buttons: list[Placed] = dataclasses.field(default_factory=list)
    field: Box | None = None
    qr: Box | None = None
    picture: Box | None = None
    group: int = 0  # a group keeps to one page when a page can hold it
    low: bool = False  # anchored at the bottom of the page (choices, keys)

    def moved(self, dx: int, dy: int) -> _Block:
        def box(b: Box) -> Box:
            return Box(b.x + dx, b.y + dy, b.w, b.h)

        return _Block(
            h=self.h, group=self.group, low=self.low,
            texts=[dataclasses.replace(t, x=t.x + dx, y=t.y + dy) for t in self.texts],
            buttons=[dataclasses.replace(p, box=box(p.box)) for p in self.buttons],
            field=box(self.field) if self.field else None, qr=box(self.qr) if self.qr else None,
            picture=box(self.picture) if self.picture else None,
        )


def layout(view: View, width: int, height: int, measure: Measure, *, panel: Panel | None = None,
           cap: Cap = nominal_cap) -> Frame:
    return _Layout(view, width, height, measure, panel or default_panel(width, height), cap).place()


class _Layout:
    def __init__(self, view: View, width: int, height: int, measure: Measure, panel: Panel, cap: Cap) -> None:
        self.view, self.width, self.height, self.measure, self.cap = view, width, height, measure, cap
        scale = min(width, height) / 480
        factor = LARGE_TEXT if view.large_text else 1.0
        self.m, self.gap = max(6, round(10 * scale)), max(4, round(6 * scale))
        floor = text_size(panel.min_cap_px(view.large_text), cap)
        self.body = max(floor, round(22 * scale * factor))
        self.title = max(self.body, round(22 * scale * factor * 1.3))
        self.line_h = round(self.body * 1.22)
        self.pad = max(4, self.body // 5)  # inside a button, each side
        label_h = cap(self.body) + 2 * self.pad + self.gap
        self.target = max(MIN_TARGET, label_h, round(46 * scale))
        self.key_h = max(MIN_TARGET, label_h)
        self.portrait = width < height
        self.texts: list[Text] = []
        self.buttons: list[Placed] = []
        self.fits = True
        self.why: list[str] = []

    # ---- pieces ------------------------------------------------------------------------------
    def _label(self, widget: Widget, box: Box) -> Placed:
        room = box.w - 2 * self.pad
        lines = wrap(widget.label, self.body, room, self.measure)
        if self._lines_h(len(lines)) > box.h or any(self.measure(line, self.body) > room for line in lines):
            self.fits = False
            self.why.append(f"label {widget.id} {box}")
        return Placed(widget=widget, box=box, size=self.body, lines=tuple(lines))

    def _lines_h(self, n: int) -> int:
        """What n lines of a label take, the first line's capitals to the last one's descenders."""
        return (n - 1) * self.line_h + self.cap(self.body) + self.body // 5

    def _label_h(self, label: str, w: int) -> int:
        n = len(wrap(label, self.body, w - 2 * self.pad, self.measure))
        return max(self.target, self._lines_h(n) + 2 * self.pad)

    def _cells(self, labels: list[str], room: int, most: int) -> int:
        """How many equal cells per row, at most `most`, fit every label on one line."""
        widest = max((self.measure(s, self.body) for s in labels), default=0) + 2 * self.pad
        for cols in range(most, 1, -1):
            if (room - self.gap * (cols - 1)) // cols >= widest:
                return cols
        return 1

    # ---- the frame ---------------------------------------------------------------------------
    def _top_bar(self) -> int:
        """Portrait: Exit's cell first (kept empty where there is no Exit), then the settings,
        in rows of as many equal cells as their labels fit; returns where the bar ends."""
        view, m, gap = self.view, self.m, self.gap
        slots: list[Widget | None] = [view.home, *view.top]
        room = self.width - 2 * m
        cols = self._cells([w.label for w in slots if w], room, len(slots))
        cell = (room - gap * (cols - 1)) // cols
        row_h = max((self._label_h(w.label, cell) for w in slots if w), default=self.target)
        for i, w in enumerate(slots):
            r, c = divmod(i, cols)
            if w is not None:
                self.buttons.append(self._label(w, Box(m + c * (cell + gap), m + r * (row_h + gap), cell, row_h)))
        rows = -(-len(slots) // cols)
        return m + rows * row_h + (rows - 1) * gap + gap

    def _side_w(self) -> int:
        """Landscape: the left column's width (Exit, the settings, Back under them)."""
        view = self.view
        labels = [w.label for w in (view.home, *view.top, view.back, view.corner) if w is not None]
        widest = max((self.measure(s, self.body) for s in labels), default=0) + 2 * self.pad
        return min(widest, self.width * 42 // 100)

    def _sidebar(self, side_w: int, nav_y: int) -> None:
        """Landscape: Exit at the top left, the settings under it (Exit's place kept empty
        where there is none); there is more room across than down."""
        view, m, gap = self.view, self.m, self.gap
        y = m
        for w in (view.home, *view.top):
            h = self._label_h(w.label, side_w) if w is not None else self._label_h(view.top[0].label, side_w)
            if w is not None:
                self.buttons.append(self._label(w, Box(m, y, side_w, h)))
            y += h + gap
        if y - gap > nav_y - gap:
            self.fits = False

    def _bottom_bar(self) -> tuple[int, int]:
        """Back (or the staff button) left, Call an officer right; returns the bar's top and
        the room left between them."""
        view, m, gap = self.view, self.m, self.gap
        left, right = view.back or view.corner, view.help
        labels = [w.label for w in (view.back, view.corner, view.help) if w is not None]
        half = (self.width - 2 * m - gap) // 2
        nav_w = min(half, max((self.measure(s, self.body) for s in labels), default=0) + 4 * self.pad)
        left_w = nav_w if self.portrait else self._side_w()
        if not self.portrait and right is not None:  # Call an officer may take what Back leaves
            nav_w = min(self.width - 2 * m - gap - left_w, self.measure(right.label, self.body) + 4 * self.pad)
        bar_h = max([self._label_h(w.label, nav_w if w is right else left_w)
                     for w in (view.back, view.corner, view.help) if w is not None] + [self.target])
        y = self.height - m - bar_h
        for w, x, bw in ((left, m, left_w), (right, self.width - m - nav_w, nav_w)):
            if w is not None:
                self.buttons.append(self._label(w, Box(x, y, bw, bar_h)))
        return y, self.width - 2 * m - (left_w + nav_w + 2 * gap)

    # ---- the content -------------------------------------------------------------------------
    def _paragraph(self, text: str, width: int, style: str, size: int | None = None) -> _Block:
        size = size or self.body
        step = round(size * 1.22)
        lines = wrap(text, size, width, self.measure)
        return _Block(h=len(lines) * step, texts=[Text(text=line, x=0, y=i * step, size=size, style=style)
                                                   for i, line in enumerate(lines)])

    def _lines(self, text: str, width: int, style: str, size: int | None = None) -> list[_Block]:
        """A paragraph, one block a line, so it can run onto the next page."""
        size = size or self.body
        return [_Block(h=round(size * 1.22), texts=[Text(text=line, x=0, y=0, size=size, style=style)])
                for line in wrap(text, size, width, self.measure)]

    def _picture(self, width: int) -> _Block:
        """The photo for approval, or both hands with their labels under them."""
        view = self.view
        side = min(width, round(min(self.width, self.height) * 0.4))
        label_h = self.line_h if view.hands else 0
        texts = []
        for i, label in enumerate(view.hand_labels if view.hands else ()):
            lx = i * side // 2 + (side // 2 - self.measure(label, self.body)) // 2
            texts.append(Text(text=label, x=lx, y=side - label_h + self.gap // 2, size=self.body, style="text"))
        return _Block(h=side + self.gap, texts=texts, picture=Box(0, 0, side, side - label_h))

    def _field(self, width: int, group: int) -> _Block:
        """The typed field; a value too long to show whole shows its end."""
        shown, room = self.view.field or "", width - 2 * self.pad
        while shown and self.measure(shown, self.body) > room:
            shown = "…" + shown[2:] if shown.startswith("…") else "…" + shown[1:]
        h = max(MIN_TARGET, self.cap(self.body) + 2 * self.pad + self.gap)
        return _Block(h=h, field=Box(0, 0, width, h), group=group,
                      texts=[Text(text=shown, x=self.pad, y=(h - self.cap(self.body)) // 2, size=self.body, style="field")])

    def _grid(self, widgets: tuple[Widget | None, ...], width: int, cols: int, row_h: int | None,
              group: int, spans: bool = False, uniform: bool = False) -> list[_Block]:
        """Rows of buttons, one block a row; a label wraps and its row grows to hold it. With
        `spans`, a widget takes `span` cells and a row ends where the next one does not fit."""
        gap = self.gap
        cell = (width - gap * (cols - 1)) // cols
        rows: list[list[tuple[int, int, Widget | None]]] = [[]]
        col = 0
        for w in widgets:
            span = min(cols, w.span if (spans and w is not None) else 1)
            if col + span > cols:
                rows.append([])
                col = 0
            rows[-1].append((col, span, w))
            col += span
        out = []
        if uniform:  # fixed slots: every row as tall as the tallest needs
            row_h = max([row_h or 0] + [self._label_h(w.label, cell) for w in widgets if w is not None])
        for row in rows:
            placed = [(c, s, w) for c, s, w in row if w is not None]
            h = row_h or max((self._label_h(w.label, s * cell + (s - 1) * gap) for _c, s, w in placed),
                             default=self.target)
            out.append(_Block(h=h, group=group, low=True, buttons=[
                self._label(w, Box(c * (cell + gap), 0, s * cell + (s - 1) * gap, h)) for c, s, w in placed]))
        return out

    def _action_columns(self, width: int) -> int:
        view = self.view
        if view.action_columns:  # fixed slots, unless a word is too wide for half the width
            words = [word for w in view.actions if w for word in w.label.split()]
            return 1 if self._cells(words, width, view.action_columns) < view.action_columns else view.action_columns
        if self.portrait or len(view.actions) <= 3:
            return 1
        return self._cells([w.label for w in view.actions if w], width, 2)

    # ---- the whole ---------------------------------------------------------------------------
    def place(self) -> Frame:
        view, gap = self.view, self.gap
        nav_y, between = self._bottom_bar()
        if self.portrait:
            top = self._top_bar()
            left, m = self.m, self.m
        else:
            side_w = self._side_w()
            self._sidebar(side_w, nav_y)
            top, left = self.m, 2 * self.m + side_w
        m = self.m
        self.cx, right_edge = left, self.width - m
        banner_box = Box(0, 0, self.width, top) if view.banner else None
        bottom = nav_y - gap
        notice_blocks: list[_Block] = []
        if view.notice:
            if not self.portrait and self.measure(view.notice, self.body) <= between:
                self.texts.append(Text(text=view.notice, x=left + (between - self.measure(view.notice, self.body)) // 2,
                                       y=nav_y + (self.target - self.cap(self.body)) // 2, size=self.body,
                                       style="notice"))
            elif self.portrait:
                para = self._paragraph(view.notice, self.width - 2 * m, "notice")
                self.texts.extend(t for t in para.moved(m, bottom - para.h).texts)
        if self.portrait:  # a line kept for the notice on every screen: nothing moves when it comes
            lines = max(1, len(wrap(view.notice, self.body, self.width - 2 * m, self.measure)))
            bottom -= lines * self.line_h + gap
        elif view.notice and not any(t.style == "notice" for t in self.texts):
            notice_blocks = self._lines(view.notice, right_edge - left, "notice")

        # what stands on the right, on every page: the keypad, the picture, the QR
        side_keys = bool(view.keys) and not self.portrait and view.key_columns <= 3
        right_w, qr_box = 0, None
        if side_keys:
            cols = view.key_columns
            widest = max(-(-(self.measure(k.label, self.body) + 2 * self.pad) // k.span) for k in view.keys)
            right_w = min((right_edge - left) * 6 // 10, max((right_edge - left) * 45 // 100, cols * widest + (cols - 1) * gap))
            rows = len(self._grid(view.keys, right_w, cols, self.key_h, 0, spans=True))
            key_h = max(self.key_h, min(round(self.target * 1.5), (bottom - top - gap * (rows - 1)) // rows))
            y = top
            for block in self._grid(view.keys, right_w, cols, key_h, 0, spans=True):
                self.buttons.extend(block.moved(self.width - m - right_w, y).buttons)
                y += block.h + gap
            if y - gap > bottom:
                self.fits = False
                self.why.append("keypad")
        elif view.qr and not self.portrait:
            side = min(bottom - top, self.width // 3)
            qr_box = Box(self.width - m - side, bottom - side, side, side)
            right_w = side
        col_w = right_edge - left - (right_w + m if right_w else 0)

        blocks: list[_Block] = [self._paragraph(view.title, col_w, "title", self.title), *notice_blocks]
        for line in view.lines:
            blocks.extend(self._lines(line, col_w, "text"))
        group = 1
        if view.photo or view.hands:
            blocks.append(self._picture(col_w))
        if view.field is not None:
            blocks.append(self._field(col_w, group))
        if view.error:
            for b in self._lines(view.error, col_w, "error"):
                b.group = group
                blocks.append(b)
        if view.keys and not side_keys:  # fewer keys a row where the row is too narrow
            widest = max(self.measure(k.label, self.body) for k in view.keys if k.span == 1) + 2 * self.pad
            cols = view.key_columns
            while cols > 3 and (col_w - gap * (cols - 1)) // cols < max(MIN_TARGET, widest):
                cols -= 1
            blocks.extend(self._grid(view.keys, col_w, cols, None, group, spans=True))
        if view.qr and self.portrait:
            side = min(self.width - 2 * m, (bottom - top) // 2)
            blocks.append(_Block(h=side, qr=Box(0, 0, side, side)))
        if view.actions:
            fixed = round(self.target * 1.1) if view.action_columns else None
            cols = self._action_columns(col_w)
            actions = view.actions if cols > 1 else tuple(a for a in view.actions if a)
            blocks.extend(self._grid(actions, col_w, cols, fixed, 2, uniform=bool(view.action_columns)))
        self._pages(blocks, top, bottom, col_w)
        if banner_box is not None:
            banner_box = self._banner(banner_box)
        return Frame(width=self.width, height=self.height, texts=tuple(self.texts), buttons=tuple(self.buttons),
                     field_box=self._field_box, banner_box=banner_box, banner_widget=view.banner_action,
                     qr_box=qr_box or self._qr_box, photo_box=self._photo_box, page=self.page, pages=self.pages,
                     fits=self.fits)

    def _pages(self, blocks: list[_Block], top: int, bottom: int, col_w: int) -> None:
        """Blocks into pages; the view's page placed: text from the top, choices and keys from
        the bottom up."""
        view, gap = self.view, self.gap
        self._field_box: Box | None = None
        self._qr_box: Box | None = None
        self._photo_box: Box | None = None
        room = bottom - top
        pages = _paginate(blocks, room, gap)
        if len(pages) > 1 and view.pager:
            w = (col_w - gap) // 2
            pager_h = max(self._label_h(p.label, w) for p in view.pager)
            pages = _paginate(blocks, room - pager_h - gap, gap)
            bottom -= pager_h + gap
        self.pages = len(pages)
        self.page = max(0, min(view.page, self.pages - 1))
        if self.pages > 1 and view.pager:
            prev, nxt = view.pager
            y = bottom + gap
            if self.page > 0:
                self.buttons.append(self._label(prev, Box(self.cx, y, w, pager_h)))
            if self.page < self.pages - 1:
                self.buttons.append(self._label(nxt, Box(self.cx + col_w - w, y, w, pager_h)))
        y_top = top
        y_low = bottom
        page = pages[self.page] if pages else []
        for block in reversed([b for b in page if b.low]):
            y_low -= block.h
            self._put(block.moved(self.cx, y_low))
            y_low -= gap
        for block in (b for b in page if not b.low):
            self._put(block.moved(self.cx, y_top))
            y_top += block.h + gap
        if y_top - gap > y_low + gap:
            self.fits = False
            self.why.append(f"page {y_top} {y_low}")

    def _put(self, block: _Block) -> None:
        self.texts.extend(block.texts)
        self.buttons.extend(block.buttons)
        self._field_box = block.field or self._field_box
        self._qr_box = block.qr or self._qr_box
        self._photo_box = block.picture or self._photo_box

    def _banner(self, box: Box) -> Box:
        """The timeout warning over the top bar, with its "more time" button; drawn last. It
        reaches further down when its text needs more room."""
        view, m, gap = self.view, self.m, self.gap
        room = self.width - 2 * m
        bw = 0
        if view.banner_action:
            bw = min(room // 2, self.measure(view.banner_action.label, self.body) + 4 * self.pad)
            room -= bw + gap
        lines = wrap(view.banner, self.body, room, self.measure)
        need = max(len(lines) * self.line_h, self._label_h(view.banner_action.label, bw) if view.banner_action else 0)
        h = max(box.h, need + 2 * m)
        if view.banner_action:
            self.buttons.append(self._label(view.banner_action, Box(self.width - m - bw, m, bw, h - 2 * m)))
        by = (h - len(lines) * self.line_h) // 2
        for i, line in enumerate(lines):
            self.texts.append(Text(text=line, x=m, y=by + i * self.line_h, size=self.body, style="banner"))
        return Box(0, 0, self.width, h)


def _paginate(blocks: list[_Block], room: int, gap: int) -> list[list[_Block]]:
    """Greedy, in order; a group (`group` > 0) that a fresh page can hold is not split."""
    pages: list[list[_Block]] = [[]]
    used, i = 0, 0
    while i < len(blocks):
        j = i
        while blocks[i].group > 0 and j + 1 < len(blocks) and blocks[j + 1].group == blocks[i].group:
            j += 1
        run, i = blocks[i:j + 1], j + 1
        need = sum(b.h + gap for b in run)
        if used + need <= room + gap:
            pages[-1].extend(run)
            used += need
            continue
        if need <= room + gap:
            pages.append(list(run))
            used = need
            continue
        for b in run:  # taller than a page: one block at a time
            if used + b.h > room and pages[-1]:
                pages.append([])
                used = 0
            pages[-1].append(b)
            used += b.h + gap
    return [p for p in pages if p] or [[]]
