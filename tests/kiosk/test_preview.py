"""The face step's live preview: when the flow wants it, what the view shows (oval, bar, a
tip in words), what is drawn, and the shell's thread: frames from the twin and the byte-level
simulator, touches never wait for the camera, no thread left once the screen changes."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator

import pytest

from drivers.errors import DeviceTimeout
from drivers.factory import open_peripherals
from drivers.imaging import PREVIEW_H, PREVIEW_W, FaceHint, face_preview
from drivers.peripherals import FacePreview
from drivers.samples import PREVIEW_SCENE
from drivers.twin import InMemoryPeripherals
from kiosk.flow.capture import previewing
from kiosk.flow.model import (
    Button,
    CaptureDone,
    CaptureFailed,
    Choose,
    Digit,
    Press,
    RequestCapture,
    Screen,
)
from kiosk.i18n import t
from kiosk.preview import LivePreview
from kiosk.speech import Speaker
from kiosk.submit import SealingKeys
from kiosk.ui.layout import LAYOUTS, Box, Frame
from kiosk.ui.palette import STANDARD
from kiosk.ui.screen import Renderer
from kiosk.ui.views import Bar, View, build_view, utterance, with_preview
from tests.kiosk.helpers import ELDER_NIK, KK, Driver, sample
from tests.kiosk.test_app import Harness
from tests.kiosk.test_flow import to_consent
from tests.waiting import wait_until


def _frame(**scene: float) -> FacePreview:
    return FacePreview.scored(face_preview(1, 0.9, **scene), PREVIEW_W, PREVIEW_H)


GOOD, FAR, DARK, ASIDE = _frame(), _frame(scale=0.5), _frame(light=0.3), _frame(dx=0.25)
BLURRED = FacePreview.scored(face_preview(1, 0.45), PREVIEW_W, PREVIEW_H)


def _to_face_guide(d: Driver) -> None:
    to_consent(d, "replacement", nik=ELDER_NIK)
    d.press(Button.AGREE)


# ---- the flow: when the preview shows ------------------------------------------------------

def test_the_preview_shows_on_the_face_guide_and_capture_only() -> None:
    d = Driver()
    _to_face_guide(d)
    assert d.screen is Screen.CAPTURE_GUIDE and previewing(d.flow)
    d.press(Button.BEGIN_CAPTURE)
    assert d.screen is Screen.CAPTURING and previewing(d.flow)
    d.press(Button.BACK)  # cancel: back to the guide, still previewing
    assert d.screen is Screen.CAPTURE_GUIDE and previewing(d.flow)
    d.press(Button.EXCEPTION)
    assert not previewing(d.flow)
    d.press(Button.BACK)
    assert previewing(d.flow)
    d.capture()
    assert d.screen is Screen.CAPTURE_RESULT and not previewing(d.flow)  # the photo, for approval
    d.press(Button.CONTINUE)
    assert d.screen is Screen.CAPTURE_GUIDE and not previewing(d.flow)  # a finger step
    d.press(Button.BACK)
    d.press(Button.BACK)  # from the face result to its guide: the preview again
    assert d.screen is Screen.CAPTURE_GUIDE and previewing(d.flow)
    d.press(Button.HOME)
    assert d.screen is Screen.CONFIRM_LEAVE and not previewing(d.flow)
    d.press(Button.LEAVE)
    assert not previewing(d.flow)


# ---- the view: the frame, the bar and the tip -----------------------------------------------

@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_view_carries_the_frame_a_bar_and_a_tip_in_words(lang: str) -> None:
    d = Driver()
    _to_face_guide(d)
    view = build_view(d.flow, d.now)
    starting = with_preview(d.flow, view, None)
    assert starting.preview is None and starting.bars[0].label == t("hint_starting", "id")
    d.flow.session.lang = lang
    view = build_view(d.flow, d.now)
    expected = {GOOD: "ok", FAR: "closer", DARK: "light", ASIDE: "look", BLURRED: "still"}
    for frame, tip in expected.items():
        live = with_preview(d.flow, view, frame)
        (bar,) = live.bars
        assert live.preview is frame and bar.value == frame.quality and bar.threshold == 50
        assert bar.label == t(f"hint_{tip}", lang, quality=frame.quality)
        assert bar.ok is (tip == "ok")
        assert live.lines == view.lines  # the text does not move as frames come
    d.capture()
    result = build_view(d.flow, d.now)
    assert with_preview(d.flow, result, GOOD) is result  # not a preview screen: unchanged


def test_the_scene_quality_rises_as_the_resident_gets_it_right() -> None:
    assert max(f.quality for f in (FAR, DARK, ASIDE)) < 50 <= GOOD.quality
    assert (FAR.hint, DARK.hint, ASIDE.hint, GOOD.hint) == (FaceHint.CLOSER, FaceHint.LIGHT, FaceHint.LOOK, FaceHint.OK)


# ---- drawing: the frame, the oval, the bar with its threshold -------------------------------

@pytest.fixture(scope="module")
def renderers() -> Iterator[Callable[[tuple[int, int]], Renderer]]:
    """One renderer at a time (pygame has one display), made for the size asked."""
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    made: dict[tuple[int, int], Renderer] = {}

    def get(size: tuple[int, int]) -> Renderer:
        for other in [s for s in made if s != size]:
            made.pop(other).close()
        return made.setdefault(size, Renderer(*size))

    yield get
    for r in made.values():
        r.close()


def _check_bar(r: Renderer, drawn: Frame, box: Box, bar: Bar) -> None:
    """Filled in the bar's colour, the threshold ticked across it, clear of every button."""
    row = {tuple(r.surface.get_at((x, box.y + box.h // 2)))[:3] for x in range(box.x + 3, box.x + box.w - 3)}
    assert STANDARD.key in row or bar.value >= 98  # the empty rest
    assert (STANDARD.selected if bar.ok else STANDARD.error) in row or bar.value == 0
    tick_x = box.x + round(box.w * bar.threshold / 100)
    assert STANDARD.text in {tuple(r.surface.get_at((x, box.y - 1)))[:3] for x in range(tick_x - 2, tick_x + 3)}
    assert box.x + box.w <= drawn.width and box.y + box.h <= drawn.height
    for placed in drawn.buttons:  # nothing drawn under a button
        b = placed.box
        assert not (b.x < box.x + box.w and box.x < b.x + b.w and b.y < box.y + box.h and box.y < b.y + b.h), \
            placed.widget.id


def _pages(r: Renderer, view: View) -> Iterator[Frame]:
    """Each page of the view drawn in turn (the surface holds the page yielded)."""
    first = r.draw(view)
    yield first
    for page in range(1, first.pages):
        yield r.draw(dataclasses.replace(view, page=page))


def _label_over(drawn: Frame, box: Box, before: str = "") -> str:
    """The words drawn above a bar in its column, after `before` (the same column's words on
    the pages before: a long label runs on from there where a page cannot hold it all)."""
    above = [tx.text for tx in sorted(drawn.texts, key=lambda tx: tx.y) if tx.x == box.x and tx.y < box.y]
    return " ".join([before, *above]).strip()


def _words(drawn: Frame, before: str) -> str:
    """What was read so far: `before`, then this page's words from the top down."""
    return " ".join([before, *(tx.text for tx in sorted(drawn.texts, key=lambda tx: tx.y))]).strip()



@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_the_oval_and_the_bar_are_drawn_and_touch_nothing(renderers, size, large) -> None:
    """On whichever page they fall (the preview beside the text is on every page)."""
    r = renderers(size)
    d = Driver()
    _to_face_guide(d)
    if large:
        d.press(Button.LARGE_TEXT)
    for frame, fill in ((GOOD, STANDARD.selected), (ASIDE, STANDARD.error)):
        view = with_preview(d.flow, build_view(d.flow, d.now), frame)
        assert view.bars[0].ok is (fill == STANDARD.selected)
        pictures, bars, before = 0, 0, ""
        for drawn in _pages(r, view):
            if (box := drawn.photo_box) is not None:
                pictures += 1
                inside = {tuple(r.surface.get_at((x, y)))[:3] for x in range(box.x + 2, box.x + box.w - 2, 2)
                          for y in range(box.y + 2, box.y + box.h - 2, 2)}
                oval = STANDARD.selected if frame is GOOD else STANDARD.primary
                assert oval in inside and len(inside) > 20  # the picture, and the oval over it
                assert not [tx.text for tx in drawn.texts if box.overlaps(
                    Box(tx.x, tx.y, r.measure(tx.text, tx.size), r.cap_height(tx.size)))]  # no words on it
            for bar_box in drawn.bar_boxes:
                bars += 1
                _check_bar(r, drawn, bar_box, view.bars[0])
                assert _label_over(drawn, bar_box, before).endswith(view.bars[0].label)  # colour plus words
            before = _words(drawn, before)
        assert pictures >= 1 and bars == 1


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_the_capture_slots_hold_still_as_the_preview_comes_and_on_the_result(renderers, size, large) -> None:
    """The preview's first frame moves no button (but the pager, as the tip's words run onto
    more pages or fewer); Try again on the face's result is where Capture was, "Cannot do
    this" where it was (as the first page shows them; none there on the 7" panel with large
    text, where the slots page along)."""
    r = renderers(size)
    d = Driver()
    _to_face_guide(d)
    if large:
        d.press(Button.LARGE_TEXT)
    guide = build_view(d.flow, d.now)
    starting, live = (with_preview(d.flow, guide, frame) for frame in (None, GOOD))
    spots = [{p.widget.id: p.box for p in r.draw(view).buttons if not p.widget.id.startswith("page:")}
             for view in (starting, live)]
    assert spots[0] == spots[1]
    out = d.press(Button.BEGIN_CAPTURE)
    req = next(a for a in out if isinstance(a, RequestCapture))
    d.send(CaptureDone(token=req.token, samples=(sample(req.modality, "face", 20),)))
    result = {p.widget.id: p.box for p in r.draw(build_view(d.flow, d.now)).buttons}
    assert result.get("retry") == spots[0].get("begin_capture")
    assert result.get("exception") == spots[0].get("exception")


# ---- the shell: a thread that follows the screen --------------------------------------------

@pytest.fixture
def h(keys: SealingKeys) -> Iterator[Harness]:
    harness = Harness(keys)
    yield harness
    harness.close()


def _app_to_face_guide(h: Harness) -> None:
    for event in (Press(button=Button.START), Choose(option="replacement"), Choose(option="lost"),
                  *(Digit(digit=c) for c in ELDER_NIK), Press(button=Button.CONFIRM),
                  *(Digit(digit=c) for c in KK), Press(button=Button.CONFIRM), Press(button=Button.AGREE)):
        h.app.dispatch(event)
    assert h.app.flow.screen is Screen.CAPTURE_GUIDE


def test_live_frames_show_and_the_thread_ends_when_the_screen_changes(h: Harness) -> None:
    _app_to_face_guide(h)
    h.app.step()
    assert h.app.preview.running and h.events("preview") == [{"event": "preview", "on": True}]
    assert wait_until(lambda: h.app._view is not None and h.app._view.preview is not None, step=h.app.step)
    hints = set()
    assert wait_until(lambda: hints.add(h.app._view.preview.hint) or len(hints) == 4, step=h.app.step)
    h.app.tap("begin_capture")  # the twin answers at once: the result, with the photo
    assert wait_until(lambda: h.app.flow.screen is Screen.CAPTURE_RESULT, step=h.app.step)
    assert not h.app.preview.running and h.app._view.preview is None and h.app._view.photo
    assert wait_until(lambda: h.app.preview.alive() == 0)
    (off,) = [e for e in h.events("preview") if not e["on"]]
    assert off["frames"] >= 4 and h.peripherals.previews >= off["frames"]
    assert not [th for th in threading.enumerate() if th.name == "face-preview"]


class _SlowCamera(InMemoryPeripherals):
    """A face camera that hangs on a frame until let go, then times out."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.asked = threading.Event()

    def preview_face(self) -> FacePreview:
        self.asked.set()
        self.release.wait(30)
        raise DeviceTimeout("no frame", device="face")


def test_a_hanging_camera_never_holds_up_a_touch_and_its_thread_still_ends(h: Harness) -> None:
    slow = _SlowCamera()
    h.app.peripherals = slow
    h.app.preview = LivePreview(slow)
    _app_to_face_guide(h)
    h.app.step()
    assert slow.asked.wait(10)
    h.app.tap("exception")  # answered while the camera hangs
    assert h.app.flow.screen is Screen.EXCEPTION_REASON
    h.app.step()
    assert not h.app.preview.running and h.app.preview.alive() == 1  # asked to end, mid-frame
    slow.release.set()
    assert wait_until(lambda: h.app.preview.alive() == 0)


def test_camera_faults_pause_the_preview_and_reach_no_one(h: Harness) -> None:
    h.peripherals.unplug("face")
    _app_to_face_guide(h)
    h.app.step()
    assert wait_until(lambda: h.app.preview._run is not None and h.app.preview._run.faults >= 1)
    h.app.step()
    assert h.app._view is not None and h.app._view.bars[0].label == t("hint_starting", "id")
    h.app.tap("back")
    h.app.step()
    assert wait_until(lambda: h.app.preview.alive() == 0, timeout=10)


def test_the_byte_level_simulator_feeds_the_preview_thread() -> None:
    with open_peripherals("sim-pty", seed=2) as p:
        live = LivePreview(p, interval_s=0.0)
        live.start()
        seen: set[FaceHint] = set()
        assert wait_until(lambda: (live.latest is not None and seen.add(live.latest.hint)) or len(seen) == 4)
        assert live.frames >= len(PREVIEW_SCENE) // 2
        live.close()
        assert live.alive() == 0 and live.latest is None


# ---- quality bars on the result screens --------------------------------------------------

def _slap_result(qualities: tuple[int, ...]) -> Driver:
    d = Driver()
    to_consent(d, nik=ELDER_NIK)
    d.press(Button.AGREE)
    d.capture()
    d.press(Button.CONTINUE)
    out = d.press(Button.BEGIN_CAPTURE)
    req = next(a for a in out if isinstance(a, RequestCapture))
    d.send(CaptureDone(token=req.token, samples=tuple(
        sample(req.modality, p, q) for p, q in zip(req.positions, qualities, strict=True) if q)))
    assert d.screen is Screen.CAPTURE_RESULT
    return d


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_result_has_a_bar_a_position_with_the_threshold_and_words(lang: str) -> None:
    d = _slap_result((72, 27, 55, 0))
    d.flow.session.lang = lang
    view = build_view(d.flow, d.now)
    assert [(b.value, b.threshold, b.ok) for b in view.bars] == [(72, 40, True), (27, 40, False), (55, 40, True),
                                                                (0, 40, False)]
    good, low = t("verdict_ok", lang), t("verdict_low", lang)
    assert [b.label.split(": ")[1].split(" · ")[0] for b in view.bars] == [good, low, good, low]  # never colour alone
    assert t("pos_right_middle", lang) in view.bars[1].label
    spoken = utterance(view)
    assert t("result_quality", lang, position=t("pos_right_middle", lang), verdict=low, quality=27,
             threshold=40) in spoken  # speech still says each one with its threshold


def test_a_device_fault_shows_no_bar() -> None:
    d = Driver()
    _to_face_guide(d)
    out = d.press(Button.BEGIN_CAPTURE)
    req = next(a for a in out if isinstance(a, RequestCapture))
    d.send(CaptureFailed(token=req.token, reason="unavailable"))
    assert build_view(d.flow, d.now).bars == ()


@pytest.mark.parametrize("size", LAYOUTS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_result_bars_are_drawn_apart_from_every_button(renderers, size, large) -> None:
    r = renderers(size)
    d = _slap_result((72, 27, 55, 0))
    if large:
        d.press(Button.LARGE_TEXT)
    view = build_view(d.flow, d.now)
    seen, before = [], ""  # in order, over as many pages as they take
    for drawn in _pages(r, view):
        for i, box in zip(drawn.bar_ids, drawn.bar_boxes, strict=True):
            seen.append(i)
            _check_bar(r, drawn, box, view.bars[i])
            assert _label_over(drawn, box, before).endswith(view.bars[i].label)  # each bar's words above it
        before = _words(drawn, before)
    assert seen == list(range(len(view.bars)))


def test_with_speech_on_each_steady_tip_is_said_once(keys: SealingKeys) -> None:
    speaker = Speaker(enabled=False)  # records what it is asked to say
    h = Harness(keys, speaker=speaker)
    try:
        h.app.tap("audio")
        _app_to_face_guide(h)
        tips = {t(f"say_hint_{tip}", "id") for tip in ("closer", "light", "look", "ok")}
        assert wait_until(lambda: tips <= set(speaker.said), step=h.app.step)
        said = [u for u in speaker.said if u in tips]
        assert all(a != b for a, b in zip(said, said[1:], strict=False))  # never the same tip twice running
        h.app.tap("audio")  # off: no more tips
        count, frames = len(speaker.said), h.app.preview.frames
        assert wait_until(lambda: h.app.preview.frames >= frames + 10, step=h.app.step)  # a whole scene more
        assert len(speaker.said) == count
    finally:
        h.close()
