"""Views, layouts and drawing: every screen, both languages, three sizes; targets, contrast,
touches mapping back to events; screenshots of every screen into the test artefacts."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from kiosk.flow.model import Screen
from kiosk.i18n import LANGS, STRINGS, t
from kiosk.ui.layout import LAYOUTS, MIN_TARGET
from kiosk.ui.palette import HIGH_CONTRAST, STANDARD, contrast
from kiosk.ui.screen import Renderer
from kiosk.ui.views import build_view
from tests.kiosk.screens import every_screen

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def test_every_string_exists_in_both_languages_and_formats_alike() -> None:
    for key, pair in STRINGS.items():
        assert len(pair) == len(LANGS) and all(p.strip() for p in pair), key
        fields = [sorted(re.findall(r"{(\w+)}", p)) for p in pair]
        assert fields[0] == fields[1], key


def test_walk_reaches_every_screen() -> None:
    seen = {flow.screen for lang in LANGS for _name, flow, _now in every_screen(lang)}
    missing = set(Screen) - seen - {Screen.ERROR}
    assert missing == set()


@pytest.mark.parametrize("palette", [STANDARD, HIGH_CONTRAST], ids=lambda p: p.name)
def test_every_text_colour_pair_has_contrast_at_least_4_5(palette) -> None:
    low = {k: round(contrast(fg, bg), 2) for k, (fg, bg) in palette.text_pairs().items()
           if contrast(fg, bg) < 4.5}
    assert low == {}


def test_contrast_formula_known_values() -> None:
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast((118, 118, 118), (255, 255, 255)), 2) == 4.54


@pytest.fixture(scope="module")
def renderers():
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    made: dict[tuple[int, int], Renderer] = {}

    def get(size: tuple[int, int]) -> Renderer:
        if size not in made:
            for r in made.values():
                r.close()
            made.clear()
            made[size] = Renderer(*size)
        return made[size]

    yield get
    for r in made.values():
        r.close()


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_screen_lays_out_with_big_targets_inside_the_screen_and_saves(renderers, size) -> None:
    r = renderers(size)
    w, h = size
    for lang in LANGS:
        for i, (name, flow, now) in enumerate(every_screen(lang)):
            view = build_view(flow, now)
            frames = _pages(r, view)
            every = {p.widget.id for f in frames for p in f.buttons} - {"page:prev", "page:next"}
            assert every == {w.id for w in view.widgets()}, (name, every)  # each on some page
            frame = r.draw(view)  # the first page again, for the touches below
            ids = [p.widget.id for p in frame.buttons]
            assert len(ids) == len(set(ids)), (name, ids)
            for p in frame.buttons:
                b = p.box
                assert b.w >= MIN_TARGET and b.h >= MIN_TARGET, (name, p.widget.id, b)
                assert b.x >= 0 and b.y >= 0 and b.x + b.w <= w and b.y + b.h <= h, (name, p.widget.id, b)
                under_banner = frame.banner_box is not None and frame.banner_box.contains(*b.center)
                expected = frame.banner_widget if under_banner else p.widget
                assert r.hit(b.center) == expected  # a touch at its centre is that button (or the banner)
            for text in frame.texts:
                assert 0 <= text.y and text.y + text.size <= h, (name, text)
            r.save(ARTIFACTS / f"{w}x{h}" / lang / f"{i:02d}_{name}.png")


def test_buttons_do_not_overlap_except_the_banner(renderers) -> None:
    r = renderers(LAYOUTS[0])
    for name, flow, now in every_screen("id"):
        frame = r.draw(build_view(flow, now))
        boxes = [p.box for p in frame.buttons if p.widget is not frame.banner_widget]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                overlap = a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h
                assert not overlap, (name, a, b)


def test_views_speak_the_chosen_language() -> None:
    for lang in LANGS:
        name, flow, now = next(every_screen(lang))
        assert build_view(flow, now).title == t("title_welcome", lang)


def _pages(r: Renderer, view):
    """A screen's frame on each of its pages."""
    first = r.draw(view)
    return [first] + [r.draw(dataclasses.replace(view, page=i)) for i in range(1, first.pages)]


def _merged(frame, more):
    """One frame holding the buttons and texts of all pages (for where-is-it questions)."""
    return dataclasses.replace(frame, buttons=tuple(p for f in more for p in f.buttons),
                               texts=tuple(t_ for f in more for t_ in f.texts),
                               photo_box=next((f.photo_box for f in more if f.photo_box), None))


def _frames(r: Renderer, lang: str = "id"):
    for name, flow, now in every_screen(lang):
        view = build_view(flow, now)
        pages = _pages(r, view)
        with_photo = next((f for f in pages if f.photo_box), None)
        if with_photo is not None:
            r.draw(dataclasses.replace(view, page=with_photo.page))  # the surface shows the picture
        yield name, view, _merged(pages[0], pages)


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_back_exit_and_help_each_keep_one_place_on_every_screen(renderers, size) -> None:
    r = renderers(size)
    places: dict[str, set[tuple[int, int]]] = {"back": set(), "home": set(), "help": set()}
    back_on = set()
    for name, view, frame in _frames(r):
        if view.large_text:
            continue  # a resident's own choice may resize the frame; it still holds still
        for p in frame.buttons:
            if p.widget.id in places:
                places[p.widget.id].add((p.box.x, p.box.y))
        if view.back is not None:
            back_on.add(view.screen)
        assert view.help is not None, name  # "call an officer" everywhere
    assert all(len(spots) == 1 for spots in places.values()), places
    assert len({next(iter(s)) for s in places.values()}) == 3  # three different places
    no_back = {Screen.WELCOME, Screen.SUBMITTING, Screen.DONE, Screen.FEEDBACK_SENT}
    assert back_on == set(Screen) - no_back


def test_the_timeout_warning_moves_nothing_and_a_touch_on_it_is_more_time(renderers) -> None:
    r = renderers(LAYOUTS[0])
    views = {name: build_view(flow, now) for name, flow, now in every_screen("id")}
    calm, warned = r.draw(views["review"]), r.draw(views["timeout_warning"])
    assert warned.banner_box is not None and calm.banner_box is None
    assert [t for t in warned.texts if t.style != "banner"] == list(calm.texts)
    assert [p for p in warned.buttons if p.widget is not warned.banner_widget] == list(calm.buttons)
    corner = (warned.banner_box.x + 2, warned.banner_box.y + 2)  # the language button lies under it
    assert r.hit(corner) == warned.banner_widget and warned.banner_widget.id == "extend"


def test_capture_buttons_keep_their_slots_between_consecutive_screens(renderers) -> None:
    """Next on a result never lands on anything on the next guide; Capture and Try again
    share a place; "Cannot do this" never moves."""
    r = renderers(LAYOUTS[0])
    spots: dict[str, dict[str, tuple[int, int]]] = {}
    for name, _view, frame in _frames(r):
        if name.startswith(("capture_guide", "capture_result")):
            spots[name] = {p.widget.id: p.box.center for p in frame.buttons}
    result, guide = spots["capture_result_ok"], spots["capture_guide_slap"]
    assert guide.get("begin_capture") == result["retry"]
    assert result["continue"] not in guide.values()
    assert len({s["exception"] for s in spots.values()}) == 1


def test_help_notice_and_officer_mode_sit_in_the_bottom_bar(renderers) -> None:
    r = renderers(LAYOUTS[0])
    for name, _view, frame in _frames(r):
        if name == "review_help_called_audio_on":
            notice = [t_ for t_ in frame.texts if t_.style == "notice"]
            assert " ".join(n.text for n in notice) == t("help_called", "id")
            audio = next(p for p in frame.buttons if p.widget.id == "audio")
            assert audio.widget.role == "selected"
            return
    raise AssertionError("walk lacks the help screen")


def test_high_contrast_is_its_own_choice_and_moves_nothing(renderers) -> None:
    r = renderers(LAYOUTS[0])
    views = {name: build_view(flow, now) for name, flow, now in every_screen("id")}
    plain, contrast_only = r.draw(views["review"]), r.draw(views["review_contrast"])
    assert not views["review_large_text"].high_contrast and views["review_contrast"].high_contrast
    assert [p.box for p in plain.buttons] == [p.box for p in contrast_only.buttons]
    assert tuple(r.surface.get_at((2, 240)))[:3] == HIGH_CONTRAST.background


def test_the_face_just_taken_is_shown_for_approval(renderers) -> None:
    r = renderers(LAYOUTS[0])
    for name, view, frame in _frames(r):
        if name == "capture_result_ok":
            assert view.photo.startswith(b"\x89PNG") and frame.photo_box is not None
            assert t("result_photo", "id") in view.lines
            box = frame.photo_box
            inside = {tuple(r.surface.get_at((box.x + dx, box.y + dy)))[:3]
                      for dx in range(10, box.w - 10, 7) for dy in range(10, box.h - 10, 7)}
            assert len(inside) > 20  # a picture, not an empty box
            assert "photo" not in repr(view) or "\\x89PNG" not in repr(view)
            return
    raise AssertionError("walk lacks the face result")


def test_a_finger_step_shows_both_hands_with_the_fingers_to_place_lit(renderers) -> None:
    r = renderers(LAYOUTS[0])
    for name, view, frame in _frames(r):
        if name == "capture_guide_slap":
            assert view.hands == ("right_index", "right_middle", "right_ring", "right_little")
            box = frame.photo_box
            assert box is not None
            colours = {tuple(r.surface.get_at((x, y)))[:3] for x in range(box.x, box.x + box.w, 3)
                       for y in range(box.y, box.y + box.h, 3)}
            assert STANDARD.primary in colours and STANDARD.key in colours  # lit and unlit fingers
            labels = [t_.text for t_ in frame.texts if box.y + box.h <= t_.y < box.y + box.h + t_.size
                      and t_.text in view.hand_labels]
            assert labels[:2] == [t("hand_left", "id"), t("hand_right", "id")]
            return
    raise AssertionError("walk lacks the slap guide")


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_officer_is_small_and_apart_from_start(renderers, size) -> None:
    """"Petugas" (and "Sign out" during an officer's visit) sits alone in the bottom-left
    corner, a fraction of Start's size and well away from it."""
    r = renderers(size)
    seen = 0
    for name, _view, frame in _frames(r):
        if not name.startswith("welcome"):
            continue
        boxes = {p.widget.id: p.box for p in frame.buttons}
        start = boxes["start"]
        staff = boxes.get("officer") or boxes["sign_out"]
        assert staff.w * staff.h * 2 <= start.w * start.h, (name, staff, start)
        assert staff.y - (start.y + start.h) >= MIN_TARGET // 2 or start.x - (staff.x + staff.w) >= MIN_TARGET
        assert staff.x < size[0] // 4 and staff.y > size[1] * 3 // 4  # the far corner
        seen += 1
    assert seen == 2  # the welcome screen, and during an officer's visit


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_keyboard_types_what_its_labels_say_with_a_wide_space_bar_on_a_row_of_its_own(renderers, size) -> None:
    """Lowercase labels for lowercase letters; the space bar is the widest key and shares
    its row with no letter (only Delete and Next); the contact keyboard has '@'."""
    r = renderers(size)
    seen = set()
    for name, view, _frame in _frames(r, "en"):
        if name not in ("feedback_text", "feedback_contact"):
            continue
        frame = r.draw(view)
        keys = {p.widget.id: p for p in frame.buttons if p.widget.role == "key" or p.widget.id == "confirm"}
        for p in keys.values():
            if p.widget.id.startswith("char:") and p.widget.id != "char: ":
                assert p.widget.label == p.widget.event.char  # type: ignore[attr-defined]
        space = keys["char: "]
        assert space.box.w == max(p.box.w for p in keys.values())
        same_row = {p.widget.id for p in keys.values() if p.box.y == space.box.y}
        assert same_row == {"char: ", "backspace", "confirm"}
        if name == "feedback_contact":
            assert "char:@" in keys
        seen.add(name)
    assert seen == {"feedback_text", "feedback_contact"}


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_tab_reaches_every_control_of_every_page_of_every_screen(renderers, size) -> None:
    """Tab round each page visits every button on it once; the pager is among them, so every
    widget of the screen is reached (ADA 707.6)."""
    from kiosk.ui.focus import Focus

    r = renderers(size)
    for lang in LANGS:
        for name, flow, now in every_screen(lang):
            view = build_view(flow, now)
            reached: set[str] = set()
            for frame in _pages(r, view):
                focus, seen = Focus(), []
                for _ in frame.buttons:
                    widget = focus.move(frame, 1)
                    assert widget is not None
                    seen.append(widget.id)
                assert sorted(seen) == sorted(p.widget.id for p in frame.buttons), name
                assert focus.move(frame, 1).id == seen[0] and focus.move(frame, -1).id == seen[-1]  # type: ignore[union-attr]
                reached.update(seen)
            assert {w.id for w in view.widgets()} <= reached, (name, lang)


@pytest.mark.parametrize("palette", [STANDARD, HIGH_CONTRAST], ids=lambda p: p.name)
def test_the_focus_ring_passes_contrast_on_the_background_and_with_its_halo(palette) -> None:
    assert contrast(palette.focus, palette.background) >= 3  # WCAG 2.4.13, non-text 1.4.11
    assert contrast(palette.focus, palette.focus_halo) >= 3  # on a dark banner the halo shows it


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_in_portrait_and_landscape_the_controls_sit_within_reach_low_on_the_screen(renderers, size) -> None:
    """The screen's choices and keys are anchored above the bottom bar: on every screen that
    has any, the lowest is in the bottom fifth above the bar, and in portrait (720x1280)
    not all of them sit in the top 40 %."""
    r = renderers(size)
    w, h = size
    for name, view, frame in _frames(r, "en"):
        own = {a.id for a in view.actions if a} | {k.id for k in view.keys}
        if not own:
            continue
        page = r.draw(dataclasses.replace(view, page=frame.pages - 1))  # where the choices end
        boxes = [p.box for p in page.buttons if p.widget.id in own]
        assert boxes, name
        bar_top = min(p.box.y for p in page.buttons if p.widget.id in ("back", "help"))
        assert max(b.y + b.h for b in boxes) >= bar_top - h // 5, (name, boxes)
        if h > w:
            assert any(b.center[1] > h * 0.4 for b in boxes), name
