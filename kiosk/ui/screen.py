"""pygame drawing: a `Frame` onto a surface, touches back to widgets, screenshots.

Headless with SDL_VIDEODRIVER=dummy. Only the display and font modules are started (no
audio: a kiosk speaks through espeak-ng, not SDL).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner on the journal's stdout

import pygame  # noqa: E402
import segno  # noqa: E402

from drivers.imaging import FaceHint
from drivers.peripherals import FacePreview
from kiosk.ui.geometry import Frame, Placed, Text
from kiosk.ui.layout import layout
from kiosk.ui.palette import HIGH_CONTRAST, STANDARD, Palette
from kiosk.ui.panel import Panel, default_panel
from kiosk.ui.views import Bar, View, Widget

try:  # Atkinson Hyperlegible: drawn for low-vision readers, full Latin coverage for Indonesian
    from fontpkg_atkinson_hyperlegible import ROOT as _ATKINSON

    FACES: dict[bool, Path] | None = {
        False: _ATKINSON / "files" / "AtkinsonHyperlegible-Regular.ttf",
        True: _ATKINSON / "files" / "AtkinsonHyperlegible-Bold.ttf",
    }
except ImportError:  # pragma: no cover - a dependency; pygame's own font stands in
    FACES = None
BOLD_STYLES = ("title", "notice")


class Renderer:
    def __init__(self, width: int, height: int, *, headless: bool = True, panel: Panel | None = None) -> None:
        if headless:
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        pygame.display.init()
        pygame.font.init()
        self.width, self.height = width, height
        self.panel = panel or default_panel(width, height)
        self.surface = pygame.display.set_mode((width, height))
        pygame.display.set_caption("Anjungan e-KTP")
        self._fonts: dict[tuple[int, bool], pygame.font.Font] = {}
        self.frame: Frame | None = None
        self.frame_ms: list[float] = []

    def font(self, size: int, bold: bool = False) -> pygame.font.Font:
        """`size` is the layout's px size: a capital letter about 0.65 × size tall."""
        f = self._fonts.get((size, bold))
        if f is None:
            if FACES is not None:
                f = pygame.font.Font(str(FACES[bold]), size)
            else:
                f = pygame.font.Font(None, round(size * 1.3))  # freesans runs small
                f.set_bold(bold)
            self._fonts[(size, bold)] = f
        return f

    def cap_height(self, size: int) -> int:
        """How tall a capital 'H' is drawn at `size`, the smaller of the two cuts."""
        return min(int(self.font(size, bold).metrics("H")[0][3]) for bold in (False, True))

    def measure(self, text: str, size: int) -> int:
        """Width as drawn in bold, the wider cut: titles and notices are bold, and whatever the
        layout places must fit in either."""
        return int(self.font(size, True).size(text)[0])

    def draw(self, view: View, *, focus: str = "") -> Frame:
        """The view, with a thick ring round the control `focus` names (keyboard focus)."""
        t0 = time.perf_counter()
        pal = HIGH_CONTRAST if view.high_contrast else STANDARD
        frame = layout(view, self.width, self.height, self.measure, panel=self.panel, cap=self.cap_height)
        s = self.surface
        s.fill(pal.background)
        if frame.field_box:
            pygame.draw.rect(s, pal.field, _rect(frame.field_box))
            pygame.draw.rect(s, pal.border, _rect(frame.field_box), width=2)
        over = frame.banner_box
        for text in frame.texts:
            if text.style != "banner":
                self._text(text, pal)
        for placed in frame.buttons:
            if placed.widget is not frame.banner_widget:
                self._button(placed, pal)
        if frame.qr_box and view.qr:
            self._qr(view.qr, frame, pal)
        if frame.photo_box and view.preview:
            self._preview(view.preview, frame.photo_box, pal)
        elif frame.photo_box and view.photo:
            self._photo(view.photo, frame.photo_box, pal)
        elif frame.photo_box and view.hands:
            self._hands(set(view.hands), frame.photo_box, pal)
        elif frame.photo_box and view.figure == "hands":
            self._hands(set(view.lit), frame.photo_box, pal)
        elif frame.photo_box and view.figure == "eyes":
            self._eyes(set(view.lit), frame.photo_box, pal)
        for i, box in zip(frame.bar_ids, frame.bar_boxes, strict=True):
            self._bar(view.bars[i], box, pal)
        if over:  # the warning lies over the top bar; nothing under it moved
            pygame.draw.rect(s, pal.banner, _rect(over))
            for text in frame.texts:
                if text.style == "banner":
                    self._text(text, pal)
            for placed in frame.buttons:
                if placed.widget is frame.banner_widget:
                    self._button(placed, pal)
        focused = next((p for p in frame.buttons if p.widget.id == focus), None) if focus else None
        if focused is not None:  # a thick ring just outside the button, with a halo: seen on any fill
            pygame.draw.rect(s, pal.focus_halo, _rect(focused.box).inflate(16, 16), width=3, border_radius=12)
            pygame.draw.rect(s, pal.focus, _rect(focused.box).inflate(10, 10), width=5, border_radius=10)
        pygame.display.flip()
        self.frame_ms.append((time.perf_counter() - t0) * 1000)
        self.frame = frame
        return frame

    def _text(self, text: Text, pal: Palette) -> None:
        colour = {"title": pal.text, "text": pal.text, "muted": pal.muted, "error": pal.error,
                  "field": pal.on_field, "notice": pal.text, "banner": pal.on_banner}[text.style]
        font = self.font(text.size, text.style in BOLD_STYLES)
        # the layout's y is where the capitals start: lift the font's own leading above them
        lift = max(0, font.get_ascent() - font.metrics("H")[0][3] - round(text.size * 0.08))
        self.surface.blit(font.render(text.text, True, colour), (text.x, text.y - lift))

    def _button(self, placed: Placed, pal: Palette) -> None:
        role = placed.widget.role
        fill, ink = {
            "primary": (pal.primary, pal.on_primary), "key": (pal.key, pal.on_key),
            "selected": (pal.selected, pal.on_selected),
        }.get(role, (pal.action, pal.on_action))
        r = _rect(placed.box)
        pygame.draw.rect(self.surface, fill, r, border_radius=8)
        pygame.draw.rect(self.surface, pal.border, r, width=2, border_radius=8)
        font = self.font(placed.size)
        lines = placed.lines or (placed.widget.label,)
        step = round(placed.size * 1.22)
        top = r.centery - step * len(lines) // 2
        for i, line in enumerate(lines):
            label = font.render(line, True, ink)
            self.surface.blit(label, label.get_rect(center=(r.centerx, top + i * step + step // 2)))

    def _qr(self, payload: str, frame: Frame, pal: Palette) -> None:
        box = frame.qr_box
        assert box is not None
        qr = segno.make(payload, error="m")
        matrix = [list(row) for row in qr.matrix]
        n = len(matrix) + 8  # quiet zone of 4 modules each side
        module = max(1, box.w // n)
        pygame.draw.rect(self.surface, (255, 255, 255), _rect(box))
        ox = box.x + (box.w - module * len(matrix)) // 2
        oy = box.y + (box.h - module * len(matrix)) // 2
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    self.surface.fill((0, 0, 0), (ox + c * module, oy + r * module, module, module))

    def _photo(self, png: bytes, box: object, pal: Palette) -> None:
        """The face just taken, fitted into its box; an image pygame cannot read is left out."""
        try:
            image = pygame.image.load(io.BytesIO(png))
        except pygame.error:
            return
        r = _rect(box)
        scale = min(r.w / image.get_width(), r.h / image.get_height())
        size = (max(1, round(image.get_width() * scale)), max(1, round(image.get_height() * scale)))
        fitted = pygame.transform.smoothscale(image.convert(), size)
        self.surface.blit(fitted, fitted.get_rect(center=r.center))
        pygame.draw.rect(self.surface, pal.border, r, width=2)

    def _preview(self, frame: FacePreview, box: object, pal: Palette) -> None:
        """The live frame as a mirror (the resident moves left, the picture moves left), with
        the oval the face should fill: solid when the frame is good, dashed while it is not."""
        r = _rect(box)
        grey = pygame.image.frombuffer(frame.pixels, (frame.width, frame.height), "P")
        grey.set_palette([(i, i, i) for i in range(256)])
        scale = min(r.w / frame.width, r.h / frame.height)
        size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
        shown = pygame.transform.flip(pygame.transform.scale(grey.convert(), size), True, False)
        at = shown.get_rect(center=r.center)
        self.surface.blit(shown, at)
        oval = pygame.Rect(0, 0, round(at.w * 0.62), round(at.h * 0.68))
        oval.center = (at.centerx, at.y + round(at.h * 0.45))
        good = frame.hint is FaceHint.OK
        colour = pal.selected if good else pal.primary
        if good:
            pygame.draw.ellipse(self.surface, (255, 255, 255), oval.inflate(6, 6), width=2)
            pygame.draw.ellipse(self.surface, colour, oval, width=4)
        else:  # dashed: arcs with gaps
            for i in range(0, 24, 2):
                pygame.draw.arc(self.surface, (255, 255, 255), oval.inflate(6, 6), i * 0.2618, (i + 1) * 0.2618, 2)
                pygame.draw.arc(self.surface, colour, oval, i * 0.2618, (i + 1) * 0.2618, 4)
        pygame.draw.rect(self.surface, pal.border, at, width=2)

    def _bar(self, bar: Bar, box: object, pal: Palette) -> None:
        """Filled to the value in green (good) or red (too low), the threshold a bold tick
        across it; the label above says the same in words."""
        r = _rect(box)
        pygame.draw.rect(self.surface, pal.key, r, border_radius=r.h // 3)
        filled = pygame.Rect(r.x, r.y, round(r.w * max(0, min(100, bar.value)) / 100), r.h)
        if filled.w:
            pygame.draw.rect(self.surface, pal.selected if bar.ok else pal.error, filled, border_radius=r.h // 3)
        pygame.draw.rect(self.surface, pal.border, r, width=2, border_radius=r.h // 3)
        tick = r.x + round(r.w * bar.threshold / 100)
        pygame.draw.line(self.surface, pal.text, (tick, r.y - r.h // 3), (tick, r.bottom + r.h // 3), 3)

    def _hands(self, lit: set[str], box: object, pal: Palette) -> None:
        """Both hands palm down, as they lie on the scanner: the fingers to place are lit."""
        r = _rect(box)
        half = r.w // 2
        for side, x0 in (("left", r.x), ("right", r.x + half)):
            # seen from above, palm down: the left thumb points right, the right thumb left
            order = [f"{side}_{f}" for f in ("little", "ring", "middle", "index")]
            if side == "right":
                order.reverse()
            fw = half // 7
            palm = pygame.Rect(x0 + fw, r.y + r.h * 45 // 100, fw * 5, r.h * 50 // 100)
            pygame.draw.rect(self.surface, pal.key, palm, border_radius=fw)
            pygame.draw.rect(self.surface, pal.border, palm, width=2, border_radius=fw)
            for i, pos in enumerate(order):
                length = {"little": 55, "ring": 75, "middle": 85, "index": 78}[pos.split("_")[1]]
                h = r.h * 45 // 100 * length // 100
                finger = pygame.Rect(palm.x + i * fw * 5 // 4 + fw // 8, palm.y - h + fw // 2, fw, h)
                self._finger(finger, pos in lit, pal)
            thumb_x = palm.right - fw // 4 if side == "left" else palm.x - fw + fw // 4
            self._finger(pygame.Rect(thumb_x, palm.y + palm.h // 5, fw, palm.h * 55 // 100),
                         f"{side}_thumb" in lit, pal)

    def _eyes(self, lit: set[str], box: object, pal: Palette) -> None:
        """A face as in a mirror (the resident's left eye on the left), the chosen eyes lit."""
        r = _rect(box)
        head = pygame.Rect(0, 0, r.w * 3 // 4, r.h * 19 // 20)
        head.center = r.center
        pygame.draw.ellipse(self.surface, pal.key, head)
        pygame.draw.ellipse(self.surface, pal.border, head, width=2)
        for pos, cx in (("left_iris", r.x + r.w // 4 + r.w // 12), ("right_iris", r.x + r.w * 3 // 4 - r.w // 12)):
            eye = pygame.Rect(0, 0, r.w // 4, r.h // 7)
            eye.center = (cx, head.y + head.h * 2 // 5)
            pygame.draw.ellipse(self.surface, pal.primary if pos in lit else pal.field, eye)
            pygame.draw.ellipse(self.surface, pal.border, eye, width=2)
            pygame.draw.circle(self.surface, pal.on_primary if pos in lit else pal.text, eye.center, eye.h // 3)
        mouth = pygame.Rect(0, 0, head.w // 3, head.h // 8)
        mouth.center = (head.centerx, head.y + head.h * 3 // 4)
        pygame.draw.arc(self.surface, pal.border, mouth, 3.5, 5.9, 3)

    def _finger(self, rect: pygame.Rect, lit: bool, pal: Palette) -> None:
        pygame.draw.rect(self.surface, pal.primary if lit else pal.key, rect, border_radius=rect.w // 2)
        pygame.draw.rect(self.surface, pal.border, rect, width=2, border_radius=rect.w // 2)

    def hit(self, pos: tuple[int, int]) -> Widget | None:
        return self.frame.hit(*pos) if self.frame else None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self.surface, str(path))

    def close(self) -> None:
        pygame.display.quit()


def _rect(box: object) -> pygame.Rect:
    return pygame.Rect(box.x, box.y, box.w, box.h)  # type: ignore[attr-defined]
