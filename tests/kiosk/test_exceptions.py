"""Exceptions in two steps, which then why, on the pure flow and its views: every path, Back
on each step, the causes each modality offers (never "missing" for a face), what the packet
records, and garbage refused."""

from __future__ import annotations

import pytest

from anjungan.packet.model import EXCEPTION_REASONS, Modality
from entrypoints.demo.residents import Resident, script_for
from kiosk.errors import FlowError
from kiosk.flow.exceptions import CAUSES, REASON, Cause
from kiosk.flow.model import Button, CallOfficer, Choose, Screen
from kiosk.flow.plan import LEFT_SLAP, RIGHT_SLAP
from kiosk.submit import SealingKeys
from kiosk.ui.views import build_view
from tests.kiosk.helpers import Driver
from tests.kiosk.test_app import Harness
from tests.kiosk.test_flow import to_consent


def _at(modality: Modality | None, d: Driver | None = None) -> Driver:
    """A new recording at the guide of the first step of `modality` (None: the face)."""
    d = d or Driver()
    to_consent(d)
    d.press(Button.AGREE)
    while modality is not None and _modality(d) is not modality:
        d.capture()
        d.press(Button.CONTINUE)
    assert d.screen is Screen.CAPTURE_GUIDE
    return d


def _modality(d: Driver) -> Modality | None:
    step = d.flow.session.capture.step
    return step.modality if step is not None else None


def _ids(d: Driver) -> list[str | None]:
    return [w.id if w else None for w in build_view(d.flow, d.now).actions]


def test_every_cause_is_a_packet_reason_and_a_face_is_never_missing() -> None:
    assert set(REASON.values()) <= set(EXCEPTION_REASONS) - {"poor_quality"}
    assert set(REASON) == set(Cause) == {c for causes in CAUSES.values() for c in causes}
    assert all(REASON[c] != "missing" for c in CAUSES[Modality.FACE])


@pytest.mark.parametrize("cause", CAUSES[Modality.FINGER])
def test_fingers_which_then_why_with_back_on_each_step(cause: Cause) -> None:
    d = _at(Modality.FINGER)
    d.press(Button.EXCEPTION)
    assert d.screen is Screen.CAPTURE_EXCEPTION
    d.press(Button.CONFIRM)  # Next with nothing chosen
    assert d.screen is Screen.CAPTURE_EXCEPTION and d.flow.session.input_error == "err_pick_position"
    d.send(Choose(option="right_little"))
    assert d.flow.session.input_error == ""
    d.press(Button.BACK)  # which -> the guide; the choice is dropped
    assert d.screen is Screen.CAPTURE_GUIDE and d.flow.session.capture.remaining() == RIGHT_SLAP
    d.press(Button.EXCEPTION)
    assert d.flow.session.capture.exception_pick == set()
    for p in ("right_little", "right_ring", "right_index"):
        d.send(Choose(option=p))
    d.send(Choose(option="right_index"))  # a second touch takes it back
    d.press(Button.CONFIRM)
    assert d.screen is Screen.EXCEPTION_REASON
    d.press(Button.BACK)  # why -> which, the choice kept
    assert d.screen is Screen.CAPTURE_EXCEPTION
    assert d.flow.session.capture.exception_pick == {"right_little", "right_ring"}
    d.press(Button.CONFIRM)
    d.send(Choose(option=cause.value))
    s = d.flow.session
    assert d.screen is Screen.CAPTURE_GUIDE and s.capture.remaining() == RIGHT_SLAP[:2]
    for p in ("right_little", "right_ring"):
        rec = s.capture.records[p]
        assert (rec.exception, rec.sample, rec.modality) == (REASON[cause], None, Modality.FINGER)


def test_whole_slap_excepted_moves_to_the_next_step() -> None:
    d = _at(Modality.FINGER)
    d.press(Button.EXCEPTION)
    for p in RIGHT_SLAP:
        d.send(Choose(option=p))
    d.press(Button.CONFIRM)
    d.send(Choose(option="amputated"))
    assert d.screen is Screen.CAPTURE_GUIDE and d.flow.session.capture.remaining() == LEFT_SLAP


def test_two_fingers_two_causes() -> None:
    d = _at(Modality.FINGER)
    for finger, cause in (("right_little", "amputated"), ("right_index", "bandaged")):
        d.press(Button.EXCEPTION)
        d.send(Choose(option=finger))
        d.press(Button.CONFIRM)
        d.send(Choose(option=cause))
    records = d.flow.session.capture.records
    assert (records["right_little"].exception, records["right_index"].exception) == ("missing", "injured")
    assert d.flow.session.capture.remaining() == ("right_middle", "right_ring")


def test_opened_from_a_result_back_keeps_the_tries_and_the_best() -> None:
    d = _at(Modality.FINGER)
    d.capture(quality=20)  # too low
    assert d.screen is Screen.CAPTURE_RESULT
    best, tries = dict(d.flow.session.capture.best), d.flow.session.capture.tries
    d.press(Button.EXCEPTION)
    d.send(Choose(option="right_ring"))
    d.press(Button.CONFIRM)
    d.press(Button.BACK)
    d.press(Button.BACK)
    assert d.screen is Screen.CAPTURE_RESULT
    assert d.flow.session.capture.best == best and d.flow.session.capture.tries == tries


@pytest.mark.parametrize(("modality", "position"), [(None, "face"), (Modality.SIGNATURE, "signature")])
def test_one_position_goes_straight_to_why_and_back_to_where_it_was(modality, position) -> None:
    d = _at(modality)
    d.press(Button.EXCEPTION)
    assert d.screen is Screen.EXCEPTION_REASON and d.flow.session.capture.exception_pick == {position}
    d.press(Button.BACK)
    assert d.screen is Screen.CAPTURE_GUIDE
    d.press(Button.EXCEPTION)
    offered = [i for i in _ids(d) if i and i.startswith("choose:")]
    step = d.flow.session.capture.step
    assert step is not None
    assert offered == [f"choose:{c.value}" for c in CAUSES[step.modality]]
    cause = CAUSES[step.modality][-1]
    d.send(Choose(option=cause.value))
    assert d.flow.session.capture.records[position].exception == REASON[cause]


def test_a_face_is_never_offered_missing_and_refuses_it() -> None:
    d = _at(None)
    d.press(Button.EXCEPTION)
    ids = _ids(d)
    assert not {"choose:missing", "choose:amputated", "choose:eye_missing"} & set(ids)
    for bad in ("missing", "amputated", "eye_missing", "scarred"):
        with pytest.raises(FlowError):
            d.send(Choose(option=bad))
    assert d.screen is Screen.EXCEPTION_REASON and not d.flow.session.capture.records


def test_eyes_on_a_face_picture_one_eye_then_the_other_step_goes_on() -> None:
    d = _at(Modality.IRIS)
    d.press(Button.EXCEPTION)
    view = build_view(d.flow, d.now)
    assert view.figure == "eyes" and view.lit == () and view.halves
    d.send(Choose(option="left_iris"))
    assert build_view(d.flow, d.now).lit == ("left_iris",)
    d.press(Button.CONFIRM)
    view = build_view(d.flow, d.now)
    assert view.figure == "eyes" and view.lit == ("left_iris",)
    d.send(Choose(option="eye_missing"))
    assert d.flow.session.capture.records["left_iris"].exception == "missing"
    assert d.screen is Screen.CAPTURE_GUIDE and d.flow.session.capture.remaining() == ("right_iris",)
    d.press(Button.EXCEPTION)  # one eye left: straight to why
    assert d.screen is Screen.EXCEPTION_REASON
    d.send(Choose(option="cannot_open"))
    assert _modality(d) is Modality.SIGNATURE


def test_single_finger_mode_goes_straight_to_why() -> None:
    d = _at(Modality.FINGER)
    d.press(Button.SINGLES)
    d.press(Button.EXCEPTION)
    assert d.screen is Screen.EXCEPTION_REASON and d.flow.session.capture.exception_pick == {"right_index"}
    d.send(Choose(option="scarred"))
    assert d.flow.session.capture.records["right_index"].exception == "unable"


@pytest.mark.parametrize("from_screen", [Screen.CAPTURE_EXCEPTION, Screen.EXCEPTION_REASON])
def test_see_an_officer_from_either_step_and_back_to_it(from_screen: Screen) -> None:
    d = _at(Modality.FINGER)
    d.press(Button.EXCEPTION)
    d.send(Choose(option="right_index"))
    if from_screen is Screen.EXCEPTION_REASON:
        d.press(Button.CONFIRM)
    out = d.press(Button.SEE_OFFICER)
    assert d.screen is Screen.SEE_OFFICER and out == [CallOfficer(screen="see_officer", reason="declined")]
    d.press(Button.BACK)
    assert d.screen is from_screen and d.flow.session.capture.exception_pick == {"right_index"}


def test_see_an_officer_keeps_one_place_and_next_never_lands_on_a_cause() -> None:
    d = _at(Modality.FINGER)
    d.press(Button.EXCEPTION)
    d.send(Choose(option="right_ring"))
    which = _ids(d)
    d.press(Button.CONFIRM)
    why = _ids(d)
    assert which.index("see_officer") == why.index("see_officer") == 5
    assert which[4] == "confirm" and why[4] is None  # a double tap on Next picks no cause
    assert all(i is None or i.startswith("choose:right_") for i in which[:4])
    view = build_view(d.flow, d.now)
    assert view.figure == "hands" and view.lit == ("right_ring",)
    assert any("Manis kanan" in line for line in view.lines)  # the chosen finger, named


@pytest.mark.parametrize("garbage", ["", "x" * 10_000, "right_iris", "face", "amputated", "missing", "\x00",
                                     "left_index"])
def test_which_refuses_what_is_not_a_position_of_this_step(garbage: str) -> None:
    d = _at(Modality.FINGER)
    d.press(Button.EXCEPTION)
    with pytest.raises(FlowError):
        d.send(Choose(option=garbage))
    assert d.screen is Screen.CAPTURE_EXCEPTION and d.flow.session.capture.exception_pick == set()


@pytest.mark.parametrize("garbage", ["", "x" * 10_000, "right_little", "unable", "eye_missing", "NaN"])
def test_why_refuses_what_is_not_a_cause_for_fingers(garbage: str) -> None:
    d = _at(Modality.FINGER)
    d.press(Button.EXCEPTION)
    d.send(Choose(option="right_little"))
    d.press(Button.CONFIRM)
    with pytest.raises(FlowError):
        d.send(Choose(option=garbage))
    assert d.screen is Screen.EXCEPTION_REASON and "right_little" not in d.flow.session.capture.records


@pytest.mark.parametrize("kind", ["elderly", "disabled"])
def test_the_demo_residents_say_which_then_why(kind: str, keys: SealingKeys) -> None:
    h = Harness(keys)
    try:
        h.play(script_for(Resident(kind=kind, number=1)))
        assert h.events("stored") and h.app.flow.screen is Screen.WELCOME
        screens = [e["screen"] for e in h.events("screen")]
        which = screens.index("capture_exception")
        assert screens[which + 1] == "exception_reason"
    finally:
        h.close()
