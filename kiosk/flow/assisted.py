"""Assisted completion: a resident who cannot give biometrics is finished by an officer.

From SEE_OFFICER ("I cannot do any of these") the officer signs in on the kiosk with their
PIN (`Button.COMPLETE`, then the officer screens), takes an exception photo if the camera
works, and confirms: every position still open becomes an exception (`unable`), and the
packet is sealed with the officer's sign-off (`anjungan.packet.model.OfficerSignOff`: MOSIP's
operator sign-off with an exception photo). Handlers of `flow.machine.TABLE`, same signature.
"""

from __future__ import annotations

from anjungan.packet.model import Modality
from kiosk.errors import FlowError
from kiosk.flow.capture import Flow, back_step
from kiosk.flow.model import CaptureDone, Event, RequestCapture, Screen
from kiosk.flow.session import RecordDraft

CONFIRMED_REASON = "unable"  # what the officer confirms for every position still open


def complete(f: Flow, _e: Event, _n: float) -> Screen:
    """The officer takes over: straight to the confirmation if already signed in."""
    s = f.session
    if s.see_officer_reason != "declined":
        raise FlowError("an officer completes declined biometrics only (a device fault is fixed, not excused)")
    if s.assisted:
        return Screen.OFFICER_CONFIRM
    s.sign_off.completing, s.typed = True, ""
    return Screen.OFFICER_ID


def signed_in(f: Flow) -> Screen:
    """Where a successful officer sign-in goes."""
    return Screen.OFFICER_CONFIRM if f.session.sign_off.completing else Screen.MENU


def sign_in_abandoned(f: Flow) -> Screen:
    """Back from the officer id, or the PIN locked: back to where the officer was called."""
    s = f.session
    if not s.sign_off.completing:
        return Screen.WELCOME
    s.sign_off.completing, s.officer_id, s.typed = False, "", ""
    return Screen.SEE_OFFICER


def take_photo(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    if s.sign_off.photo_state == "taking":
        raise FlowError("the exception photo is being taken")
    s.sign_off.photo_state = "taking"
    f.emit(RequestCapture(token=f.new_token(), modality=Modality.FACE, positions=("face",)))
    return Screen.OFFICER_CONFIRM


def photo_done(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, CaptureDone)
    s = f.session
    _taking(f)
    photo = next((x for x in e.samples if x.position == "face" and x.quality > 0), None)
    s.sign_off.photo, s.sign_off.photo_state = photo, "taken" if photo is not None else "failed"
    return Screen.OFFICER_CONFIRM


def photo_failed(f: Flow, _e: Event, _n: float) -> Screen:
    """The camera could not: the officer confirms without a photo (the sign-off says so)."""
    _taking(f)
    f.session.sign_off.photo_state = "failed"
    return Screen.OFFICER_CONFIRM


def _taking(f: Flow) -> None:
    if f.session.sign_off.photo_state != "taking":
        raise FlowError("no exception photo was asked for")


def open_positions(f: Flow) -> list[tuple[Modality, str]]:
    """Every position of this step and the ones after it with no outcome yet."""
    c = f.session.capture
    return [(step.modality, p) for step in c.steps[c.step_index:] for p in step.positions if p not in c.records]


def confirm(f: Flow, _e: Event, now: float) -> Screen:
    s = f.session
    if s.sign_off.photo_state == "taking":
        raise FlowError("wait for the exception photo")
    todo = open_positions(f)
    for modality, p in todo:
        s.capture.records[p] = RecordDraft(modality=modality, position=p, sample=None, retries=0,
                                           exception=CONFIRMED_REASON)
    s.capture.best, s.capture.tries, s.capture.last_error = {}, 0, ""
    s.sign_off.positions, s.sign_off.confirmed_at = tuple(p for _m, p in todo), now
    s.sign_off.step = s.capture.step_index
    s.capture.step_index = len(s.capture.steps)
    return Screen.REVIEW


def back_from_confirm(f: Flow, _e: Event, _n: float) -> Screen:
    """Back to the officer screen (still signed in); a photo being taken is abandoned."""
    if f.session.sign_off.photo_state == "taking":
        f.new_token()
        f.session.sign_off.photo_state = ""
    return Screen.SEE_OFFICER


def back_from_review(f: Flow, e: Event, n: float) -> Screen:
    """Back from the review undoes a confirmation (the officer's exceptions come off again);
    without one, the review's usual Back."""
    s = f.session
    if s.sign_off.confirmed_at is None:
        return back_step(f, e, n)
    for p in s.sign_off.positions:
        s.capture.records.pop(p, None)
    s.capture.step_index = s.sign_off.step
    s.sign_off.positions, s.sign_off.confirmed_at = (), None
    return Screen.OFFICER_CONFIRM
