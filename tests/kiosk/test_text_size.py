"""Text sized in millimetres on each layout's panel: every screen at 800x480, 720x1280 and
1920x1080, large text on and off, id and en. Every text and every label has capitals at least
4.8 mm tall (ADA 707.7.2), 0.7° at the viewing distance with large text (EN 301 549 §5.1.4);
every target is at least 44 px; no two buttons overlap, nor a button a picture or a quality
bar; the timeout warning moves nothing. The screens include the face guide with its live
preview (and before the camera's first frame), the results with their quality bars and the
exception screens with the hands or a face with both eyes. Measured on the real typeface
through pygame (SDL dummy driver)."""

from __future__ import annotations

import dataclasses
import math
import os

import pytest

from kiosk.i18n import LANGS
from kiosk.ui.layout import LAYOUTS, MIN_TARGET
from kiosk.ui.panel import PANELS, Panel, default_panel
from kiosk.ui.screen import Renderer
from kiosk.ui.views import build_view
from tests.kiosk.screens import every_screen, every_view


def test_the_minimum_capital_height_follows_the_viewing_distance() -> None:
    panel = default_panel(800, 480)
    assert panel.min_cap_mm(False) == 4.8
    assert round(panel.min_cap_mm(True), 2) == 6.11  # 0.7° at 50 cm
    far = dataclasses.replace(panel, distance_mm=1000)
    assert round(far.min_cap_mm(True), 2) == 12.22
    assert round(panel.px_per_mm, 3) == round(480 / 85.9, 3)  # the official 7" panel


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, 0.0, 1e9])
def test_a_panel_refuses_nonsense(bad: float) -> None:
    with pytest.raises(ValueError):
        Panel(height_mm=bad, height_px=480)
    with pytest.raises(ValueError):
        Panel.from_diagonal(800, 480, bad)
    with pytest.raises(ValueError):
        Panel.from_px_per_mm(480, bad)


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_text_is_tall_enough_every_target_big_enough_and_nothing_overlaps(size) -> None:
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    r = Renderer(*size, panel=PANELS[size])
    try:
        for lang in LANGS:
            for large in (False, True):
                need_mm = r.panel.min_cap_mm(large)
                for name, built in every_view(lang):
                    view = dataclasses.replace(built, large_text=large)
                    frame = r.draw(view)
                    sizes = [t.size for t in frame.texts] + [p.size for p in frame.buttons]
                    for px in set(sizes):
                        cap_mm = r.cap_height(px) / r.panel.px_per_mm
                        assert cap_mm >= need_mm - 1e-9, (name, lang, large, px, cap_mm)
                    boxes = [p for p in frame.buttons if p.widget is not frame.banner_widget]
                    for p in boxes:
                        assert p.box.w >= MIN_TARGET and p.box.h >= MIN_TARGET, (name, p.widget.id, p.box)
                        assert 0 <= p.box.x and p.box.x + p.box.w <= size[0] and 0 <= p.box.y
                        assert p.box.y + p.box.h <= size[1], (name, p.widget.id, p.box)
                    assert frame.fits, (name, lang, large)  # every label within its button, every word whole
                    for i, a in enumerate(boxes):
                        for b in boxes[i + 1:]:
                            assert not a.box.overlaps(b.box), (name, lang, large, a.widget.id, b.widget.id)
                    drawn = [d for d in (frame.photo_box, *frame.bar_boxes) if d is not None]
                    assert not [(d, p.widget.id) for d in drawn for p in boxes if d.overlaps(p.box)], (name, lang, large)
                    if view.picture and frame.pages == 1:
                        assert frame.photo_box is not None, (name, lang, large)
                    if frame.pages == 1:
                        assert len(frame.bar_boxes) == len(view.bars), (name, lang, large)
    finally:
        r.close()


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_the_timeout_warning_moves_nothing(size, large) -> None:
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    r = Renderer(*size, panel=PANELS[size])
    try:
        views = {name: build_view(flow, now) for name, flow, now in every_screen("id")}
        calm = r.draw(dataclasses.replace(views["review"], large_text=large))
        warned = r.draw(dataclasses.replace(views["timeout_warning"], large_text=large))
        assert warned.banner_box is not None
        assert [t for t in warned.texts if t.style != "banner"] == list(calm.texts)
        assert [p for p in warned.buttons if p.widget is not warned.banner_widget] == list(calm.buttons)
    finally:
        r.close()


def test_long_content_goes_onto_pages_instead_of_shrinking() -> None:
    """The 7" panel with large text: the review runs over pages; "More ›" leads on, the
    last page has no "More ›", and every page keeps the text at its size."""
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    r = Renderer(800, 480)
    try:
        view = next(build_view(f, n) for name, f, n in every_screen("en") if name == "review")
        view = dataclasses.replace(view, large_text=True)
        first = r.draw(view)
        assert first.pages > 1
        ids = {p.widget.id for p in first.buttons}
        assert "page:next" in ids and "page:prev" not in ids
        last = r.draw(dataclasses.replace(view, page=first.pages + 5))  # kept within the pages
        assert last.page == first.pages - 1
        ids = {p.widget.id for p in last.buttons}
        assert "page:prev" in ids and "page:next" not in ids and "submit" in ids
        seen = {t.text for page in range(first.pages) for t in r.draw(dataclasses.replace(view, page=page)).texts}
        assert all(line.split()[0] in " ".join(seen) for line in view.lines)
        assert math.isclose(min(t.size for t in first.texts), min(p.size for p in last.buttons))
    finally:
        r.close()
