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

A picture (the face to approve, the camera's live preview, the hands or a face with both
eyes, the labels of its halves under it) stands beside the text in landscape with its quality
bars (label over bar) under it when the choices can stay put below both; else the bars go
into the text and the choices under the picture; else the choices go beside it; otherwise the
picture comes first under the title and runs onto the pages with the text. Quality bars
without a picture stand beside the text the same way. A picture is never drawn under
`PICTURE_MIN` px, and neither a picture nor a bar under a button (`fits` says so).
"""

from __future__ import annotations

import dataclasses

from kiosk.ui.geometry import (
    MIN_TARGET,
    Box,
    Cap,
    Frame,
    Measure,
    Placed,
    Text,
    nominal_cap,
    text_size,
    wrap,
)
from kiosk.ui.pages import Block, paginate
from kiosk.ui.panel import Panel, default_panel
from kiosk.ui.views import View, Widget

__all__ = ["LAYOUTS", "MIN_TARGET", "Box", "Frame", "Placed", "Text", "layout"]

LARGE_TEXT = 1.35  # large text's designed size over normal's, where the panel leaves room
LAYOUTS = ((800, 480), (720, 1280), (1920, 1080))
BAR_GROUP = 100  # page groups from here on: a bar with its label (1 and 2 are the keys and the slots)
PICTURE_MIN = 2 * MIN_TARGET  # px: a picture, the live preview, the hands, never drawn smaller


def layout(view: View, width: int, height: int, measure: Measure, *, panel: Panel | None = None,
           cap: Cap = nominal_cap) -> Frame:
    return _Layout(view, width, height, measure, panel or default_panel(width, height), cap).place()


class _Layout:
    def __init__(self, view: View, width: int, height: int, measure: Measure, panel: Panel, cap: Cap) -> None:
        self.view, self.width, self.height, self.measure, self.cap = view, width, height, measure, cap
        scale = min(width, height) / 480
        factor = LARGE_TEXT if view.large_text else 1.0
        self.m, self.gap = max(6, round(8 * scale)), max(4, round(5 * scale))
        floor = text_size(panel.min_cap_px(view.large_text), cap)
        self.body = max(floor, round(22 * scale * factor))
        self.title = max(self.body, round(22 * scale * factor * 1.3))
        self.line_h = round(self.body * 1.22)
        self.pad = max(4, self.body // 5)  # inside a button, each side
        label_h = cap(self.body) + 2 * self.pad + self.gap
        self.target = max(MIN_TARGET, label_h, round(46 * scale))
        self.key_h = max(MIN_TARGET, cap(self.body) + 2 * self.pad)
        self.portrait = width < height
        self.texts: list[Text] = []
        self.buttons: list[Placed] = []
        self.fits = True
        self._field_box: Box | None = None
        self._qr_box: Box | None = None
        self._photo_box: Box | None = None
        self._bars_placed: list[tuple[int, Box]] = []
        self._keypad_w = 0
        self.cx = self.right_w = self.picture_floor = 0
        self.side_keys = self.typed_low = self.notice_here = False
        self.beside: Block | None = None  # the picture beside the text, its bars under it
        self.bare: Block | None = None  # the same without the bars

    # ---- pieces ------------------------------------------------------------------------------
    def _label(self, widget: Widget, box: Box) -> Placed:
        room = box.w - (2 * self.pad if len(widget.label) > 1 else 4)  # a key's one letter needs no more
        lines = wrap(widget.label, self.body, room, self.measure)
        if self._lines_h(len(lines)) > box.h or any(self.measure(line, self.body) > room for line in lines):
            self.fits = False
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
        slots = (view.home, *view.top)
        tight = max(MIN_TARGET, self._lines_h(1) + 4)  # rows this low when the bottom bar is tall
        share = max(tight, (nav_y - gap - m - gap * (len(slots) - 1)) // len(slots))
        for w in slots:
            h = self._label_h(w.label, side_w) if w is not None else self._label_h(view.top[0].label, side_w)
            h = min(h, max(share, self._lines_h(len(wrap(w.label, self.body, side_w - 2 * self.pad, self.measure))) + 4)
                    if w is not None else share)
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
        if not self.portrait and left is not None:  # and a long staff label what Help leaves
            left_w = max(left_w, min(self.width - 2 * m - 2 * gap - nav_w, self.measure(left.label, self.body) + 2 * self.pad))
        bar_h = max([self._label_h(w.label, nav_w if w is right else left_w)
                     for w in (view.back, view.corner, view.help) if w is not None] + [self.target])
        y = self.height - m - bar_h
        for w, x, bw in ((left, m, left_w), (right, self.width - m - nav_w, nav_w)):
            if w is not None:
                self.buttons.append(self._label(w, Box(x, y, bw, bar_h)))
        return y, self.width - 2 * m - (left_w + nav_w + 2 * gap)

    # ---- the content -------------------------------------------------------------------------
    def _paragraph(self, text: str, width: int, style: str, size: int | None = None) -> Block:
        size = size or self.body
        step = round(size * 1.22)
        lines = wrap(text, size, width, self.measure)
        return Block(h=len(lines) * step, texts=[Text(text=line, x=0, y=i * step, size=size, style=style)
                                                   for i, line in enumerate(lines)])

    def _lines(self, text: str, width: int, style: str, size: int | None = None) -> list[Block]:
        """A paragraph, one block a line, so it can run onto the next page."""
        size = size or self.body
        return [Block(h=round(size * 1.22), texts=[Text(text=line, x=0, y=0, size=size, style=style)])
                for line in wrap(text, size, width, self.measure)]

    def _picture(self, side: int, wide: int = 0) -> Block:
        """The photo for approval or the live preview (`side` square), or a picture in halves
        (both hands, a face with both eyes) up to `wide` across with a label under each half,
        wrapped at the text's size (never smaller) where it is too long for its half."""
        view = self.view
        w = max(side, wide) if view.halves else side
        half = w // 2 - self.gap
        labels = [wrap(label, self.body, half, self.measure) for label in view.hand_labels] if view.halves else []
        label_h = self._halves_h(w)
        texts = []
        for i, lines in enumerate(labels):
            for n, line in enumerate(lines):
                lx = i * w // 2 + (w // 2 - self.measure(line, self.body)) // 2
                texts.append(Text(text=line, x=lx, y=side - label_h + self.gap // 2 + n * self.line_h,
                                  size=self.body, style="text"))
                if self.measure(line, self.body) > half:
                    self.fits = False
        if side - label_h < PICTURE_MIN:
            self.fits = False
        return Block(h=side + self.gap, texts=texts, picture=Box(0, 0, w, side - label_h))

    def _bars(self, width: int) -> list[Block]:
        """Each quality bar under its label, wrapped at the text's size: a block a line, the last
        one with the bar, so a bar never starts a page alone and a long label runs on from the
        page before only where a page cannot hold it all. The renderer fills the bar to the
        value and ticks the threshold a third of the bar's height above and below it."""
        bar_h = max(12, self.body * 2 // 3)
        tick = bar_h // 3
        out = []
        for i, bar in enumerate(self.view.bars):
            group = BAR_GROUP + i
            *lines, last = [dataclasses.replace(line, group=group) for line in self._lines(bar.label, width, "text")]
            out.extend(lines)  # the last line goes with the bar: a bar never starts a page alone
            out.append(Block(h=last.h + bar_h + 2 * tick, group=group, texts=last.texts,
                             bars=[(i, Box(0, last.h + tick, width, bar_h))]))
        return out

    def _stack(self, blocks: list[Block]) -> Block:
        """Blocks one under the other as one (the picture beside the text with its bars)."""
        out, y = Block(h=0), 0
        for block in blocks:
            moved = block.moved(0, y)
            out.texts.extend(moved.texts)
            out.bars.extend(moved.bars)
            out.picture = out.picture or moved.picture
            y += block.h + self.gap
        out.h = y - self.gap
        return out

    def _field(self, width: int, group: int) -> Block:
        """The typed field; a value too long to show whole shows its end."""
        shown, room = self.view.field or "", width - 2 * self.pad
        while shown and self.measure(shown, self.body) > room:
            shown = "…" + shown[2:] if shown.startswith("…") else "…" + shown[1:]
        h = max(MIN_TARGET, self.cap(self.body) + 2 * self.pad)
        return Block(h=h, field=Box(0, 0, width, h), group=group,
                      texts=[Text(text=shown, x=self.pad, y=(h - self.cap(self.body)) // 2, size=self.body, style="field")])

    def _grid(self, widgets: tuple[Widget | None, ...], width: int, cols: int, row_h: int | None,
              group: int, spans: bool = False, uniform: bool = False) -> list[Block]:
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
        if uniform:  # fixed slots: every row as tall as the tallest label they may hold needs
            labels = [w.label for w in widgets if w is not None] + list(self.view.slot_labels)
            row_h = max([row_h or 0] + [self._label_h(label, cell) for label in labels])
        for row in rows:
            placed = [(c, s, w) for c, s, w in row if w is not None]
            h = row_h or max((self._label_h(w.label, s * cell + (s - 1) * gap) for _c, s, w in placed),
                             default=self.target)
            out.append(Block(h=h, group=group, low=True, buttons=[
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
        view = self.view
        top, bottom, banner_box = self._frame()
        width = self.width - self.m - self.cx
        qr_box = self._right_side(width, top, bottom)
        col_w = width - (self.right_w + self.m if self.right_w else 0)
        self.typed_low = bool(view.keys) and not self.side_keys  # the field goes with the keyboard
        self._settle(width, col_w, top, bottom, beside_ok=qr_box is None and not self.side_keys)
        drawn = [b for b in (self._photo_box, *(box for _i, box in self._bars_placed)) if b is not None]
        if any(d.overlaps(p.box) for d in drawn for p in self.buttons):
            self.fits = False  # a picture or a bar under a button
        if banner_box is not None:
            banner_box = self._banner(banner_box)
        return Frame(width=self.width, height=self.height, texts=tuple(self.texts), buttons=tuple(self.buttons),
                     field_box=self._field_box, banner_box=banner_box, banner_widget=view.banner_action,
                     qr_box=qr_box or self._qr_box, photo_box=self._photo_box,
                     bar_boxes=tuple(box for _i, box in self._bars_placed), bar_ids=tuple(i for i, _box in self._bars_placed),
                     page=self.page, pages=self.pages, fits=self.fits)

    def _frame(self) -> tuple[int, int, Box | None]:
        """The bars, the settings and the notice; returns the content area's top and bottom and
        the banner's place (over the top bar)."""
        view, gap, m = self.view, self.gap, self.m
        nav_y, between = self._bottom_bar()
        if self.portrait:
            top, self.cx = self._top_bar(), m
        else:
            side_w = self._side_w()
            self._sidebar(side_w, nav_y)
            top, self.cx = m, 2 * m + side_w
        bottom = nav_y - gap
        if view.corner is not None:  # the staff button stands apart: nothing right above it
            bottom -= MIN_TARGET // 2
        if view.notice:
            if not self.portrait and self.measure(view.notice, self.body) <= between:
                self.texts.append(Text(text=view.notice, x=self.cx + (between - self.measure(view.notice, self.body)) // 2,
                                       y=nav_y + (self.target - self.cap(self.body)) // 2, size=self.body,
                                       style="notice"))
            elif self.portrait:
                para = self._paragraph(view.notice, self.width - 2 * m, "notice")
                self.texts.extend(t for t in para.moved(m, bottom - para.h).texts)
        if self.portrait:  # a line kept for the notice on every screen: nothing moves when it comes
            lines = max(1, len(wrap(view.notice, self.body, self.width - 2 * m, self.measure)))
            bottom -= lines * self.line_h + gap
        self.notice_here = bool(view.notice) and not self.portrait and not any(t.style == "notice" for t in self.texts)
        return top, bottom, Box(0, 0, self.width, top) if view.banner else None

    def _right_side(self, width: int, top: int, bottom: int) -> Box | None:
        """What stands on the right, on every page: the keypad (when the text column beside it
        can hold the longest word), or in landscape the picture (placed only if the choices
        can stay put under it) or the QR; returns the QR's box."""
        view, right_edge = self.view, self.width - self.m
        self.side_keys = bool(view.keys) and not self.portrait and view.key_columns <= 3
        if self.side_keys:
            longest = max((self.measure(word, self.title) for text in (view.title, *view.lines, view.error)
                           for word in text.split()), default=0)
            self.side_keys = width - self._keypad_width(width) - self.m >= longest + 2 * self.pad
        self.right_w, self.beside, self.bare, self.picture_floor = 0, None, None, top
        if self.side_keys:
            self._keypad(right_edge, width, top, bottom)
            self.right_w = self._keypad_w
        elif (view.picture or view.bars) and not self.portrait and self._beside(width) and (
                side := self._beside_side(width, top, bottom)):
            wide = self._picture_wide(width)
            self.right_w = max(side, wide) if view.halves or not view.picture else side
            picture = [self._picture(side, wide)] if view.picture else []
            self.beside = self._stack([*picture, *self._bars(self.right_w)]).moved(right_edge - self.right_w, top)
            self.bare = picture[0].moved(right_edge - self.right_w, top) if picture else None
            self.picture_floor = top + self.beside.h + self.gap  # choices under the picture start below this
        elif view.qr and not self.portrait:
            side = min(bottom - top, width // 3)
            self.right_w = side
            return Box(right_edge - side, bottom - side, side, side)
        return None

    def _texts(self, cw: int, picture: bool, top: int, bottom: int, bars: bool = True) -> list[Block]:
        """The text column: title, the picture where it is not beside the text, the quality
        bars where they are not under it, what is wrong with what was typed, the notice, the
        lines."""
        view = self.view
        out = self._lines(view.title, cw, "title", self.title)
        if picture:  # the face to approve or aim, the hands or eyes to choose: first, under the title
            side = min(cw, round(self.width * 0.5), (bottom - top) // 3)
            out.append(self._picture(min(cw, max(side, PICTURE_MIN + self._halves_h(cw))), cw))
        if bars:  # the quality bars, under the picture or in its place
            out.extend(self._bars(cw))
        if self.typed_low and view.error:
            out.extend(self._lines(view.error, cw, "error"))
        if self.notice_here:
            out.extend(self._lines(view.notice, cw, "notice"))
        for line in view.lines:
            out.extend(self._lines(line, cw, "text"))
        if view.qr and self.portrait:
            side = min(cw, (bottom - top) // 3)
            out.append(Block(h=side, qr=Box(0, 0, side, side)))
        if not self.typed_low:
            if view.field is not None:
                out.append(self._field(cw, 0))
            if view.error:
                out.extend(self._lines(view.error, cw, "error"))
        return out

    def _lows(self, w: int, key_cols: int) -> list[Block]:
        """What is anchored above the bottom bar: the typed field and the keyboard, the choices."""
        view, gap = self.view, self.gap
        out: list[Block] = []
        if self.typed_low:
            if view.field is not None:
                out.append(self._field(w, 1))
            widest = max(self.measure(k.label, self.body) for k in view.keys if k.span == 1) + 6

            def cramped(cols: int) -> bool:  # fewer keys a row where the row is too narrow
                cell = (w - gap * (cols - 1)) // cols
                return cell < max(MIN_TARGET, widest) or any(
                    k.span * cell + (k.span - 1) * gap < self.measure(k.label, self.body) + 2 * self.pad
                    for k in view.keys if k.span > 1)

            cols = key_cols
            while cols > 3 and cramped(cols):
                cols -= 1
            out.extend(self._grid(view.keys, w, cols, self.key_h, 1, spans=True))
        if view.actions:
            fixed = round(self.target * 1.1) if view.action_columns else None
            if len(view.actions) == 1:  # one big button (Start)
                fixed = max(round(self.target * 1.6), self._label_h(view.actions[0].label if view.actions[0] else "", w))
            cols = self._action_columns(w)
            actions = view.actions if cols > 1 else tuple(a for a in view.actions if a)
            slots = 2 if view.action_columns else 0  # fixed slots stay together; a list may run on
            out.extend(self._grid(actions, w, cols, fixed, slots, uniform=bool(view.action_columns)))
        for b in out:
            b.low = True
        return out

    def _pager_h(self, w: int) -> int:
        view = self.view
        return max((self._label_h(p.label, (w - self.gap) // 2) for p in view.pager), default=0) if view.pager else 0

    def _top_min(self, tops: list[Block], w: int, top: int, bottom: int) -> int:
        """Above choices that stay put: the title, a line and the pager at least, and half the
        height for reading where the choices could page along instead; above fixed slots or a
        keyboard, which stay put, the title and the pager."""
        view, gap = self.view, self.gap
        staying = self.typed_low or bool(view.action_columns)
        least = tops[0].h + self._pager_h(w) + 2 * gap + (0 if staying else self.line_h + gap)
        return least if staying else max(least, (bottom - top) // 2)

    def _settle(self, width: int, col_w: int, top: int, bottom: int, *, beside_ok: bool) -> None:
        """The choices and keys stay put above the bottom bar while the text pages above them,
        at the first of these that leaves the text room: full width under a picture and its
        bars, full width under the picture with its bars in the text, the text column's width,
        and for a keypad two rows of five. Otherwise everything pages, a picture and its bars
        running with the text."""
        view, gap = self.view, self.gap
        beside = self.beside
        options = [(col_w, top, view.key_columns, beside)]
        if width != col_w and beside_ok:
            options.insert(0, (width, self.picture_floor, view.key_columns, beside))
            if beside is not None and beside.bars:  # the bars into the text, the choices under the picture
                bare_floor = top + self.bare.h + gap if self.bare is not None else top
                options.insert(1, (width, bare_floor, view.key_columns, self.bare))
        if self.typed_low and view.key_columns == 3:  # a keypad too tall for the screen
            options += [(w, floor, 6, b) for w, floor, _cols, b in options]
        for w, floor, key_cols, self.beside in options:
            fits, placed = self.fits, len(self.buttons)
            text_w = width if beside is not None and self.beside is None else col_w  # bars alone: no column
            tops = self._texts(text_w, view.picture and beside is None, top, bottom,
                               bars=self.beside is None or not self.beside.bars)
            low = self._lows(w, key_cols)
            low_h = sum(b.h + gap for b in low)
            pw = w if bottom - low_h - self._pager_h(w) >= floor else text_w  # a pager under the picture: full width
            if low_h > bottom - max(floor, top + self._top_min(tops, pw, top, bottom)) + gap:
                self.fits = fits  # not this way: what it found does not count
                del self.buttons[placed:]
                continue
            y = bottom
            for b in reversed(low):
                y -= b.h
                self._put(b.moved(self.cx, y))
                y -= gap
            self._pages(tops, top, y if low else bottom, pw)
            if self.beside is not None:
                self._photo_box = self.beside.picture
                self.texts.extend(self.beside.texts)
                self._bars_placed.extend(self.beside.bars)
            return
        self.beside = None  # the picture and its bars run with the text
        if beside is not None:
            col_w = width
        tops = self._texts(col_w, view.picture, top, bottom)
        self._pages(tops + self._lows(col_w, options[-1][2]), top, bottom, col_w)

    def _picture_wide(self, width: int) -> int:
        """Both hands side by side with their labels, or the photo, on the right in landscape."""
        view = self.view
        labels = max((self.measure(label, self.body) for label in view.hand_labels), default=0) if view.halves else 0
        return min(width * 65 // 100, max(width * 45 // 100, 2 * labels + 2 * self.gap))

    def _beside_side(self, width: int, top: int, bottom: int) -> int:
        """How tall the picture beside the text is, its bars under it: a third of the screen
        at most; 0 where that would leave it less than two targets tall. Bars alone: their
        width, 0 where they are taller than the content area."""
        wide = self._picture_wide(width)
        if not self.view.picture:
            return wide if sum(b.h + self.gap for b in self._bars(wide)) <= bottom - top else 0
        side = min(wide, round(self.height / 3))
        for _ in range(3):  # narrower bars may wrap onto more lines
            bars_h = sum(b.h + self.gap for b in self._bars(max(side, wide) if self.view.halves else side))
            side = min(side, bottom - top - bars_h)
        return side if side >= PICTURE_MIN + self._halves_h(wide) else 0

    def _halves_h(self, w: int) -> int:
        """The labels under a picture in halves, wrapped to their half."""
        if not self.view.halves:
            return 0
        half = w // 2 - self.gap
        return max(len(wrap(label, self.body, half, self.measure)) for label in self.view.hand_labels) * self.line_h

    def _beside(self, width: int) -> bool:
        """A picture goes beside the text when that leaves the text half the width."""
        return width - self._picture_wide(width) - self.m >= width // 2

    def _keypad_width(self, width: int) -> int:
        cols, gap = self.view.key_columns, self.gap
        widest = max(-(-(self.measure(k.label, self.body) + 2 * self.pad) // k.span) for k in self.view.keys)
        return min(width * 6 // 10, max(width * 35 // 100, cols * widest + (cols - 1) * gap))

    def _keypad(self, right_edge: int, width: int, top: int, bottom: int) -> None:
        """The keypad on the right in landscape, as tall as the content area allows."""
        view, gap = self.view, self.gap
        cols = view.key_columns
        self._keypad_w = right_w = self._keypad_width(width)
        rows = len(self._grid(view.keys, right_w, cols, self.key_h, 0, spans=True))
        key_h = max(self.key_h, min(round(self.target * 1.5), (bottom - top - gap * (rows - 1)) // rows))
        y = top
        for block in self._grid(view.keys, right_w, cols, key_h, 0, spans=True):
            self.buttons.extend(block.moved(right_edge - right_w, y).buttons)
            y += block.h + gap
        if y - gap > bottom:
            self.fits = False

    def _pages(self, blocks: list[Block], top: int, bottom: int, pager_w: int) -> None:
        """Blocks into pages between `top` and `bottom`, the view's page placed: text from the
        top, choices and keys (when they page too) from the bottom up; the pager under them."""
        view, gap = self.view, self.gap
        room = bottom - top
        pages = paginate(blocks, room, gap)
        col_w = pager_w
        w = (col_w - gap) // 2
        pager_h, stacked = 0, False
        if len(pages) > 1 and view.pager:
            # side by side; in a narrow column one over the other ("More ›" below, in its place)
            stacked = any(self.measure(word, self.body) > w - 2 * self.pad for p in view.pager for word in p.label.split())
            w = col_w if stacked else w
            row_h = max(self._label_h(p.label, w) for p in view.pager)
            pager_h = 2 * row_h + gap if stacked else row_h
            pages = paginate(blocks, room - pager_h - gap, gap)
            bottom -= pager_h + gap
        self.pages = len(pages)
        self.page = max(0, min(view.page, self.pages - 1))
        if self.pages > 1 and view.pager:
            prev, nxt = view.pager
            y = bottom + gap
            if self.page > 0:
                self.buttons.append(self._label(prev, Box(self.cx, y, w, row_h)))
            if self.page < self.pages - 1:
                x, ny = (self.cx, y + row_h + gap) if stacked else (self.cx + col_w - w, y)
                self.buttons.append(self._label(nxt, Box(x, ny, w, row_h)))
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

    def _put(self, block: Block) -> None:
        self.texts.extend(block.texts)
        self.buttons.extend(block.buttons)
        self._field_box = block.field or self._field_box
        self._qr_box = block.qr or self._qr_box
        self._photo_box = block.picture or self._photo_box
        self._bars_placed.extend(block.bars)

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
