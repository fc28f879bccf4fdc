"""The capture steps of the flow: capture, retry, keep the best (exceptions: `flow.exceptions`).

Handlers of the transition table in `flow.machine` (same signature: flow, event, now ->
next screen). A step is done when every position has an outcome: a sample at or above the
threshold, the best of 1 + 3 tries kept as `poor_quality`, or an exception with a reason.

A device fault is the kiosk's, not the resident's: it does not use up a try, it calls an
officer, and the resident may try again or hand over to the officer (`SEE_OFFICER`). A
quality-0 image is no capture: it is never kept as "best" (the position gets `poor_quality`
with no image). Back never throws a capture away in one tap: from a step's guide (or the
review) it brings back the previous step's result with its samples.
"""

from __future__ import annotations

from typing import Protocol

from anjungan.packet.model import Modality
from kiosk.errors import FlowError
from kiosk.flow.model import (
    Action,
    CallOfficer,
    CaptureDone,
    CaptureFailed,
    CaptureProgress,
    Event,
    RequestCapture,
    Screen,
)
from kiosk.flow.plan import MAX_RETRIES, passes, plan_for, replan_singles
from kiosk.flow.session import RecordDraft, Session


class Flow(Protocol):
    """What a capture handler may touch of the machine (`kiosk.flow.machine.Flow` is one):
    the session, the screen shown, and the machine's outputs."""

    session: Session
    screen: Screen

    def emit(self, action: Action) -> None: ...

    def new_token(self) -> int: ...

PREVIEW_SCREENS = (Screen.CAPTURE_GUIDE, Screen.CAPTURING)


def previewing(f: Flow) -> bool:
    """Does the screen show the face camera's live preview (a face step's guide or capture)?
    The shell runs the preview while this holds and stops it the moment it does not."""
    step = f.session.capture.step
    return f.screen in PREVIEW_SCREENS and step is not None and step.modality is Modality.FACE


def agree(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    assert s.service is not None
    s.capture.steps, s.capture.step_index, s.capture.records = plan_for(s.service), 0, {}
    return enter_step(f)


def enter_step(f: Flow) -> Screen:
    """Start the current step afresh, skipping steps with nothing left; REVIEW after the last."""
    s = f.session
    while s.capture.step is not None and not s.capture.remaining():
        s.capture.step_index += 1
    s.capture.tries, s.capture.best, s.capture.last_error, s.capture.exception_pick = 0, {}, "", set()
    return Screen.CAPTURE_GUIDE if s.capture.step is not None else Screen.REVIEW


def begin_capture(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    assert s.capture.step is not None
    s.capture.progress = 0
    f.emit(RequestCapture(token=f.new_token(), modality=s.capture.step.modality, positions=s.capture.remaining()))
    return Screen.CAPTURING


def singles(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    if s.capture.step is None or len(s.capture.remaining()) < 2 or s.capture.step.modality is not Modality.FINGER:
        raise FlowError("single-finger capture applies to a multi-finger step only")
    s.capture.steps = replan_singles(s.capture.steps, s.capture.step_index)
    return enter_step(f)


def capture_done(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, CaptureDone)
    s = f.session
    s.capture.tries += 1
    s.capture.last_error = ""
    wanted = set(s.capture.remaining())
    for sample in e.samples:
        if sample.position in wanted and sample.quality > 0:
            best = s.capture.best.get(sample.position)
            if best is None or sample.quality > best.quality:
                s.capture.best[sample.position] = sample
    return Screen.CAPTURE_RESULT


def capture_failed(f: Flow, e: Event, _n: float) -> Screen:
    """The device failed: not a try of the resident's; an officer is called at once."""
    assert isinstance(e, CaptureFailed)
    f.session.capture.last_error = e.reason
    f.session.help_called = True
    f.emit(CallOfficer(screen=Screen.CAPTURE_RESULT.value, reason="device"))
    return Screen.CAPTURE_RESULT


def capture_progress(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, CaptureProgress)
    f.session.capture.progress = e.done
    return Screen.CAPTURING


def cancel_capture(f: Flow, _e: Event, _n: float) -> Screen:
    """Back while capturing: the try still out is ignored when it ends (its token is stale)."""
    f.new_token()
    return Screen.CAPTURE_GUIDE


def back_to_guide(f: Flow, _e: Event, _n: float) -> Screen:
    """From a result to its step's guide; the tries so far and the best of them stay."""
    f.session.capture.last_error = ""
    return Screen.CAPTURE_GUIDE


def back_step(f: Flow, _e: Event, _n: float) -> Screen:
    """One step back from a guide or the review: the previous step's result with its samples in
    hand again (Next keeps them); a step of exceptions only opens afresh; before the first
    step, the consent."""
    s = f.session
    s.capture.best, s.capture.tries, s.capture.last_error, s.capture.exception_pick = {}, 0, "", set()
    i = s.capture.step_index - 1
    if i < 0:
        return Screen.CONSENT
    kept = {p: s.capture.records.pop(p) for p in s.capture.steps[i].positions if p in s.capture.records}
    s.capture.step_index = i
    samples = {p: r.sample for p, r in kept.items() if r.sample is not None}
    if not samples:
        return Screen.CAPTURE_GUIDE
    s.capture.records.update({p: r for p, r in kept.items() if r.sample is None})
    s.capture.best = samples
    s.capture.tries = 1 + max(r.retries for r in kept.values() if r.sample is not None)
    return Screen.CAPTURE_RESULT


def see_officer(f: Flow, _e: Event, _n: float) -> Screen:
    """The resident cannot give these biometrics (or the device is down): an officer takes over.
    Nothing is stored; Back returns to where they were."""
    s = f.session
    s.see_officer_from = f.screen
    s.see_officer_reason = "device" if s.capture.last_error else "declined"
    s.help_called = True
    f.emit(CallOfficer(screen=Screen.SEE_OFFICER.value, reason=s.see_officer_reason))
    return Screen.SEE_OFFICER


def back_from_officer(f: Flow, _e: Event, _n: float) -> Screen:
    back = f.session.see_officer_from
    assert back is not None
    return back


def step_passes(s: Session) -> bool:
    step = s.capture.step
    return step is not None and all(
        p in s.capture.best and passes(step.modality, s.capture.best[p].quality) for p in s.capture.remaining()
    )


def retries_left(s: Session) -> int:
    return max(0, MAX_RETRIES - max(0, s.capture.tries - 1))


def retry(f: Flow, e: Event, n: float) -> Screen:
    if retries_left(f.session) == 0:
        raise FlowError("no retries left")
    return begin_capture(f, e, n)


def continue_(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    step = s.capture.step
    assert step is not None
    if not step_passes(s) and retries_left(s) > 0:
        raise FlowError("below threshold with retries left: retry or record an exception")
    for p in s.capture.remaining():
        sample = s.capture.best.get(p)
        ok = sample is not None and passes(step.modality, sample.quality)
        s.capture.records[p] = RecordDraft(
            modality=step.modality, position=p, sample=sample,
            retries=min(MAX_RETRIES, max(0, s.capture.tries - 1)), exception=None if ok else "poor_quality",
        )
    s.capture.step_index += 1
    return enter_step(f)
