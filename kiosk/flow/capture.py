"""The capture steps of the flow: capture, retry, keep the best, record exceptions.

Handlers of the transition table in `flow.machine` (same signature: flow, event, now ->
next screen). A step is done when every position has an outcome: a sample at or above the
threshold, the best of 1 + 3 tries kept as `poor_quality`, or an exception with a reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anjungan.packet.model import Modality
from kiosk.errors import FlowError
from kiosk.flow.model import CaptureDone, CaptureFailed, Choose, Event, RequestCapture, Screen
from kiosk.flow.plan import MAX_RETRIES, passes, plan_for, replan_singles
from kiosk.flow.session import RecordDraft, Session

if TYPE_CHECKING:
    from kiosk.flow.machine import Flow

EXCEPTION_REASONS = ("missing", "injured", "unable")  # poor_quality is set by the flow only


def agree(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    assert s.service is not None
    s.steps, s.step_index, s.records = plan_for(s.service), 0, {}
    return enter_step(f)


def enter_step(f: Flow) -> Screen:
    """Start the current step afresh, skipping steps with nothing left; REVIEW after the last."""
    s = f.session
    while s.step is not None and not s.remaining():
        s.step_index += 1
    s.tries, s.best, s.last_error, s.exception_pick = 0, {}, "", set()
    return Screen.CAPTURE_GUIDE if s.step is not None else Screen.REVIEW


def begin_capture(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    assert s.step is not None
    f.emit(RequestCapture(token=f.new_token(), modality=s.step.modality, positions=s.remaining()))
    return Screen.CAPTURING


def singles(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    if s.step is None or len(s.remaining()) < 2 or s.step.modality is not Modality.FINGER:
        raise FlowError("single-finger capture applies to a multi-finger step only")
    s.steps = replan_singles(s.steps, s.step_index)
    return enter_step(f)


def capture_done(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, CaptureDone)
    s = f.session
    s.tries += 1
    s.last_error = ""
    wanted = set(s.remaining())
    for sample in e.samples:
        if sample.position in wanted:
            best = s.best.get(sample.position)
            if best is None or sample.quality > best.quality:
                s.best[sample.position] = sample
    return Screen.CAPTURE_RESULT


def capture_failed(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, CaptureFailed)
    f.session.tries += 1
    f.session.last_error = e.reason
    return Screen.CAPTURE_RESULT


def step_passes(s: Session) -> bool:
    step = s.step
    return step is not None and all(
        p in s.best and passes(step.modality, s.best[p].quality) for p in s.remaining()
    )


def retries_left(s: Session) -> int:
    return max(0, MAX_RETRIES - max(0, s.tries - 1))


def retry(f: Flow, e: Event, n: float) -> Screen:
    if retries_left(f.session) == 0:
        raise FlowError("no retries left")
    return begin_capture(f, e, n)


def continue_(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    step = s.step
    assert step is not None
    if not step_passes(s) and retries_left(s) > 0:
        raise FlowError("below threshold with retries left: retry or record an exception")
    for p in s.remaining():
        sample = s.best.get(p)
        ok = sample is not None and passes(step.modality, sample.quality)
        s.records[p] = RecordDraft(
            modality=step.modality, position=p, sample=sample,
            retries=min(MAX_RETRIES, max(0, s.tries - 1)), exception=None if ok else "poor_quality",
        )  # fmt: skip
    s.step_index += 1
    return enter_step(f)


def open_exception(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    remaining = s.remaining()
    s.exception_pick = set(remaining) if len(remaining) == 1 else set()
    return Screen.CAPTURE_EXCEPTION


def exception_choose(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, Choose)
    s = f.session
    step = s.step
    assert step is not None
    if e.option in s.remaining():
        s.exception_pick ^= {e.option}
        s.input_error = ""
        return Screen.CAPTURE_EXCEPTION
    if e.option not in EXCEPTION_REASONS:
        raise FlowError(f"unknown exception option {e.option!r}")
    if not s.exception_pick:
        s.input_error = "err_pick_position"
        return Screen.CAPTURE_EXCEPTION
    for p in sorted(s.exception_pick):
        s.records[p] = RecordDraft(
            modality=step.modality, position=p, sample=None, retries=0, exception=e.option
        )
    s.exception_pick = set()
    if not s.remaining():
        s.step_index += 1
    return enter_step(f)
