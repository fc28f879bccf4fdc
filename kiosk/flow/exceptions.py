"""A position that cannot be captured, said in two steps: which, then why.

Which (`CAPTURE_EXCEPTION`): the step's positions as toggles beside a picture (the hands, or
a face with both eyes) with the chosen ones lit, then Next. A step of one position (the face,
the signature, a single finger) skips it: there is nothing to choose. Why
(`EXCEPTION_REASON`): the causes that fit the modality, in plain words ("amputated",
"bandaged", "scarred", ...); a face is never offered "missing". Each cause is recorded as the
packet's reason (`anjungan.packet.model.EXCEPTION_REASONS`: missing, injured, unable).
Back goes one step back at a time and keeps the choice; from "which" it returns to the
guide or result it was opened from with the tries and best samples still in hand. Handlers of
`flow.machine.TABLE`, same signature.
"""

from __future__ import annotations

import enum

from anjungan.packet.model import Modality
from kiosk.errors import FlowError
from kiosk.flow.capture import Flow, enter_step
from kiosk.flow.model import Choose, Event, Screen
from kiosk.flow.session import RecordDraft


class Cause(enum.StrEnum):
    """Why a position cannot be captured, as the resident says it (i18n `cause_<value>`)."""

    AMPUTATED = "amputated"  # the finger is gone
    BANDAGED = "bandaged"  # a dressing, a cast, a fresh wound: for now
    SCARRED = "scarred"  # the skin no longer holds a print
    CANNOT_MOVE = "cannot_move"  # stiff or paralysed: cannot be placed
    EYE_MISSING = "eye_missing"  # no eye, or an artificial one
    CANNOT_OPEN = "cannot_open"  # cannot open the eye or keep it open
    CANNOT_HOLD = "cannot_hold"  # cannot sit still or face the camera
    CANNOT_SIGN = "cannot_sign"  # cannot hold the pen


CAUSES: dict[Modality, tuple[Cause, ...]] = {
    Modality.FINGER: (Cause.AMPUTATED, Cause.BANDAGED, Cause.SCARRED, Cause.CANNOT_MOVE),
    Modality.IRIS: (Cause.EYE_MISSING, Cause.BANDAGED, Cause.CANNOT_OPEN),
    Modality.FACE: (Cause.BANDAGED, Cause.CANNOT_HOLD),  # a face is never "missing"
    Modality.SIGNATURE: (Cause.BANDAGED, Cause.CANNOT_SIGN),
}
REASON: dict[Cause, str] = {  # the packet's word for each cause
    Cause.AMPUTATED: "missing", Cause.EYE_MISSING: "missing",
    Cause.BANDAGED: "injured",
    Cause.SCARRED: "unable", Cause.CANNOT_MOVE: "unable", Cause.CANNOT_OPEN: "unable",
    Cause.CANNOT_HOLD: "unable", Cause.CANNOT_SIGN: "unable",
}


def open_exception(f: Flow, _e: Event, _n: float) -> Screen:
    """"Cannot do this" on a guide or a result: which (or, for one position, straight to why)."""
    s = f.session
    remaining = s.capture.remaining()
    s.capture.exception_from = f.screen
    if len(remaining) == 1:
        s.capture.exception_pick = set(remaining)
        return Screen.EXCEPTION_REASON
    s.capture.exception_pick = set()
    return Screen.CAPTURE_EXCEPTION


def toggle(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, Choose)
    s = f.session
    if e.option not in s.capture.remaining():
        raise FlowError(f"{e.option!r} is not a position of this step")
    s.capture.exception_pick ^= {e.option}
    s.input_error = ""
    return Screen.CAPTURE_EXCEPTION


def to_reason(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    if not s.capture.exception_pick:
        s.input_error = "err_pick_position"
        return Screen.CAPTURE_EXCEPTION
    return Screen.EXCEPTION_REASON


def back_from_which(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    s.capture.exception_pick = set()
    return s.capture.exception_from or Screen.CAPTURE_GUIDE


def back_from_reason(f: Flow, e: Event, n: float) -> Screen:
    """To "which" with the choice kept; where "which" was skipped, to where it was opened."""
    if len(f.session.capture.remaining()) == 1:
        return back_from_which(f, e, n)
    return Screen.CAPTURE_EXCEPTION


def choose_cause(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, Choose)
    s = f.session
    step = s.capture.step
    assert step is not None
    try:
        cause = Cause(e.option)
    except ValueError:
        raise FlowError(f"unknown cause {e.option!r}") from None
    if cause not in CAUSES[step.modality]:
        raise FlowError(f"{cause.value!r} does not apply to {step.modality.value}")
    picked = sorted(p for p in s.capture.exception_pick if p in s.capture.remaining())
    if not picked:
        raise FlowError("no position chosen")
    for p in picked:
        s.capture.records[p] = RecordDraft(modality=step.modality, position=p, sample=None, retries=0,
                                           exception=REASON[cause])
    s.capture.exception_pick, s.capture.exception_from = set(), None
    if not s.capture.remaining():
        s.capture.step_index += 1
    return enter_step(f)
