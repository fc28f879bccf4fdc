"""The pure flow: every service, inputs as typed, capture rules, exceptions, timeouts, reset."""

from __future__ import annotations

import gc
import weakref

import pytest

from anjungan.packet.model import Modality, Service
from kiosk.errors import FlowError
from kiosk.flow.machine import TABLE, WARN_LEAD_S, Flow, FlowConfig
from kiosk.flow.model import (
    UNREACHABLE,
    Button,
    CallOfficer,
    CaptureDone,
    CaptureFailed,
    CaptureProgress,
    Char,
    Choose,
    Digit,
    ForgetLookup,
    Hush,
    LookupStatus,
    OfficerComing,
    PrinterState,
    PrintReceipt,
    ReadScreen,
    ReceiptFailed,
    RequestCapture,
    SavePinLock,
    ScanQr,
    Screen,
    SendFeedback,
    SessionWiped,
    SetLanguage,
    Speak,
    StatusAnswer,
    Stored,
    StoreFailed,
    StorePacket,
    Tick,
    TimeoutWarning,
    Touch,
)
from kiosk.flow.pins import LOCKOUT_S, OFFICER_IDLE_S, PinLock
from kiosk.flow.plan import LEFT_SLAP, RIGHT_SLAP, THUMBS, plan_for
from kiosk.i18n import t
from kiosk.officers import hash_pin
from kiosk.ticket import make_ticket, qr_payload
from tests.kiosk.helpers import ELDER_NIK, KK, YOUTH_NIK, Driver, sample


def to_consent(d: Driver, service: str = "new_recording", nik: str = YOUTH_NIK) -> None:
    d.press(Button.START)
    d.send(Choose(option=service))
    if service == "replacement":
        d.send(Choose(option="lost"))
    if service == "correction":
        d.send(Choose(option="address"))
        for c in "jl. gatot subroto 7":
            d.send(Char(char=c))
        d.press(Button.CONFIRM)
    assert d.screen is Screen.NIK
    d.type_digits(nik)
    d.press(Button.CONFIRM)
    assert d.screen is Screen.KK
    d.type_digits(KK)
    d.press(Button.CONFIRM)
    assert d.screen is Screen.CONSENT


def through_capture(d: Driver) -> None:
    d.press(Button.AGREE)
    while d.screen is Screen.CAPTURE_GUIDE:
        d.capture()
        assert d.screen is Screen.CAPTURE_RESULT
        d.press(Button.CONTINUE)
    assert d.screen is Screen.REVIEW


@pytest.mark.parametrize("service", [s.value for s in Service])
def test_each_capture_service_ends_with_a_stored_packet_and_receipt(service: str) -> None:
    d = Driver()
    to_consent(d, service)
    through_capture(d)
    records = d.flow.session.capture.records
    expected = {p for step in plan_for(Service(service)) for p in step.positions}
    assert set(records) == expected
    assert all(r.exception is None and r.retries == 0 for r in records.values())
    out = d.press(Button.SUBMIT)
    store = next(a for a in out if isinstance(a, StorePacket))
    assert d.screen is Screen.SUBMITTING
    out = d.send(Stored(token=store.token, ticket="00000018", qr_payload="qr"))
    assert d.screen is Screen.DONE
    assert PrintReceipt(ticket="00000018", qr_payload="qr", lang="id", purpose=service) in out


def test_new_recording_uses_4_4_2_slaps_then_iris_and_signature() -> None:
    names = [s.name for s in plan_for(Service.NEW_RECORDING)]
    assert names == ["face", "finger:right_slap", "finger:left_slap", "finger:thumbs", "iris", "signature"]


def test_nik_is_checked_as_typed() -> None:
    d = Driver()
    d.press(Button.START)
    d.send(Choose(option="new_recording"))
    d.type_digits("999999")  # no such district
    assert d.flow.session.input_error == "err_nik_region"
    for _ in range(6):
        d.press(Button.BACKSPACE)
    d.type_digits("5101019913")  # day 99 cannot be
    assert d.flow.session.input_error == "err_nik_date"
    for _ in range(4):
        d.press(Button.BACKSPACE)
    assert d.flow.session.input_error == ""
    d.type_digits("0507")
    d.press(Button.CONFIRM)
    assert (d.screen, d.flow.session.input_error) == (Screen.NIK, "err_nik_length")
    d.type_digits("090002")
    d.type_digits("5")  # a 17th digit is not taken
    assert d.flow.session.typed == YOUTH_NIK
    d.press(Button.CONFIRM)
    assert d.screen is Screen.KK
    assert (d.flow.session.resident.age, d.flow.session.resident.sex) == (17, "M")


def test_elder_nik_gives_age_and_sex() -> None:
    d = Driver()
    to_consent(d, nik=ELDER_NIK)
    s = d.flow.session
    assert (s.resident.age, s.resident.sex, s.resident.birth_date) == (76, "F", "1950-03-12")


def test_bad_kk_is_refused() -> None:
    d = Driver()
    d.press(Button.START)
    d.send(Choose(option="new_recording"))
    d.type_digits(YOUTH_NIK)
    d.press(Button.CONFIRM)
    d.type_digits("123")
    d.press(Button.CONFIRM)
    assert (d.screen, d.flow.session.input_error) == (Screen.KK, "err_kk_length")
    d.type_digits("9999999999999")
    d.press(Button.CONFIRM)
    assert (d.screen, d.flow.session.input_error) == (Screen.KK, "err_kk_invalid")


def test_low_quality_allows_three_retries_then_keeps_best_as_poor_quality() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    qualities = [10, 30, 20, 15]
    d.capture(qualities[0])
    with pytest.raises(FlowError):
        d.press(Button.CONTINUE)  # below threshold, retries left
    for q in qualities[1:]:
        out = d.press(Button.RETRY)
        req = next(a for a in out if isinstance(a, RequestCapture))
        d.send(CaptureDone(token=req.token, samples=(sample(Modality.FACE, "face", q),)))
    with pytest.raises(FlowError):
        d.press(Button.RETRY)  # 3 retries used
    d.press(Button.CONTINUE)
    rec = d.flow.session.capture.records["face"]
    assert (rec.exception, rec.retries, rec.sample and rec.sample.quality) == ("poor_quality", 3, 30)
    assert d.screen is Screen.CAPTURE_GUIDE


def test_retry_after_pass_keeps_the_better_sample() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    d.capture(90)
    req = next(a for a in d.press(Button.RETRY) if isinstance(a, RequestCapture))
    d.send(CaptureDone(token=req.token, samples=(sample(Modality.FACE, "face", 70),)))
    d.press(Button.CONTINUE)
    rec = d.flow.session.capture.records["face"]
    assert (rec.exception, rec.retries, rec.sample and rec.sample.quality) == (None, 1, 90)


def test_device_failure_is_not_a_try_calls_an_officer_and_is_never_a_dead_end() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    for i in range(6):
        out = d.press(Button.BEGIN_CAPTURE if i == 0 else Button.RETRY)
        req = next(a for a in out if isinstance(a, RequestCapture))
        out = d.send(CaptureFailed(token=req.token, reason="unavailable"))
        assert d.screen is Screen.CAPTURE_RESULT
        assert CallOfficer(screen="capture_result", reason="device") in out
    s = d.flow.session
    assert (s.capture.tries, s.capture.best, s.help_called) == (0, {}, True)
    with pytest.raises(FlowError):
        d.press(Button.CONTINUE)  # nothing to keep: no made-up "best"
    out = d.press(Button.SEE_OFFICER)
    assert d.screen is Screen.SEE_OFFICER and s.see_officer_reason == "device"
    assert CallOfficer(screen="see_officer", reason="device") in out
    assert not any(isinstance(a, StorePacket) for a in d.actions)
    d.press(Button.BACK)  # the device is back: the resident carries on where they were
    assert d.screen is Screen.CAPTURE_RESULT
    d.press(Button.RETRY)
    req = next(a for a in d.actions[::-1] if isinstance(a, RequestCapture))
    d.send(CaptureDone(token=req.token, samples=(sample(Modality.FACE, "face", 80),)))
    d.press(Button.CONTINUE)
    assert d.flow.session.capture.records["face"].retries == 0  # the dead tries were never counted


def test_a_quality_0_image_is_never_kept_as_best() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    d.capture(quality=0)
    for _ in range(3):
        d.press(Button.RETRY)
        req = next(a for a in d.actions[::-1] if isinstance(a, RequestCapture))
        d.send(CaptureDone(token=req.token, samples=(sample(Modality.FACE, "face", 0),)))
    assert d.flow.session.capture.best == {}
    d.press(Button.CONTINUE)
    rec = d.flow.session.capture.records["face"]
    assert (rec.sample, rec.exception, rec.retries) == (None, "poor_quality", 3)


def test_back_from_each_capture_screen_goes_one_step_and_keeps_every_capture() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    d.press(Button.BACK)
    assert d.screen is Screen.CONSENT  # before the first capture: the consent
    d.press(Button.AGREE)
    d.press(Button.BEGIN_CAPTURE)
    stale = d.flow.token
    d.press(Button.BACK)  # cancel while capturing: the late result is ignored
    assert d.screen is Screen.CAPTURE_GUIDE
    assert d.send(CaptureDone(token=stale, samples=(sample(Modality.FACE, "face", 90),))) == []
    d.capture(quality=70)
    d.press(Button.BACK)  # result -> its guide, the try kept
    assert d.screen is Screen.CAPTURE_GUIDE and d.flow.session.capture.best["face"].quality == 70
    d.press(Button.CONTINUE)  # offered on the guide: the kept try is enough
    assert d.flow.session.capture.records["face"].sample.quality == 70  # type: ignore[union-attr]
    assert d.flow.session.capture.step.name == "finger:right_slap"  # type: ignore[union-attr]
    d.press(Button.BACK)  # next step's guide -> the face result, with the photo in hand
    s = d.flow.session
    assert d.screen is Screen.CAPTURE_RESULT and s.capture.best["face"].quality == 70 and "face" not in s.capture.records
    d.press(Button.CONTINUE)
    while d.screen is Screen.CAPTURE_GUIDE:
        d.capture()
        d.press(Button.CONTINUE)
    assert d.screen is Screen.REVIEW
    kept = dict(d.flow.session.capture.records)
    d.press(Button.BACK)  # review -> the signature's result
    assert d.screen is Screen.CAPTURE_RESULT and d.flow.session.capture.step.name == "signature"  # type: ignore[union-attr]
    d.press(Button.CONTINUE)
    assert d.screen is Screen.REVIEW and d.flow.session.capture.records == kept


def test_back_from_a_step_of_exceptions_only_reopens_it() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    d.capture()
    d.press(Button.CONTINUE)
    d.capture()
    d.press(Button.CONTINUE)  # right slap done
    d.press(Button.EXCEPTION)
    for p in LEFT_SLAP:
        d.send(Choose(option=p))
    d.press(Button.CONFIRM)
    d.send(Choose(option="bandaged"))
    assert d.flow.session.capture.step.name == "finger:thumbs"  # type: ignore[union-attr]
    d.press(Button.BACK)
    assert d.screen is Screen.CAPTURE_GUIDE and d.flow.session.capture.remaining() == LEFT_SLAP


def test_exit_asks_first_once_anything_is_entered_and_stay_returns_with_it() -> None:
    d = Driver()
    d.press(Button.START)
    out = d.press(Button.HOME)  # nothing entered yet: no question
    assert d.screen is Screen.WELCOME and SessionWiped(reason="home") in out
    to_consent(d)
    d.press(Button.AGREE)
    d.capture()
    session = d.flow.session
    out = d.press(Button.HOME)
    assert d.screen is Screen.CONFIRM_LEAVE and out == [] and d.flow.session is session
    with pytest.raises(FlowError):
        d.press(Button.HOME)  # the question has no Exit of its own
    d.press(Button.STAY)
    assert d.screen is Screen.CAPTURE_RESULT and d.flow.session.capture.best
    d.press(Button.HOME)
    d.press(Button.BACK)  # Back answers "stay" too
    assert d.screen is Screen.CAPTURE_RESULT
    d.press(Button.HOME)
    out = d.press(Button.LEAVE)
    assert d.screen is Screen.WELCOME and out == [SessionWiped(reason="home")] and d.flow.session is not session


def test_typed_numbers_come_back_on_back() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.BACK)
    assert (d.screen, d.flow.session.typed) == (Screen.KK, KK)
    d.press(Button.BACK)
    assert (d.screen, d.flow.session.typed) == (Screen.NIK, YOUTH_NIK)
    d.press(Button.CONFIRM)
    d.press(Button.CONFIRM)
    assert d.screen is Screen.CONSENT


def test_declining_every_capture_takes_two_taps_and_ends_with_an_officer_not_a_ticket() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    before = len(d.actions)
    d.press(Button.EXCEPTION)
    out = d.press(Button.SEE_OFFICER)
    assert d.screen is Screen.SEE_OFFICER and d.flow.session.see_officer_reason == "declined"
    assert out == [CallOfficer(screen="see_officer", reason="declined")]
    assert not any(isinstance(a, StorePacket | PrintReceipt) for a in d.actions[before:])
    d.press(Button.BACK)
    assert d.screen is Screen.EXCEPTION_REASON  # the face alone: no "which" to choose


def test_staff_on_their_way_is_shown_only_to_a_resident_who_called() -> None:
    d = Driver()
    assert d.flow.handle(OfficerComing(), d.now) == [] and not d.flow.session.officer_coming
    to_consent(d)
    d.press(Button.AUDIO)
    d.press(Button.HELP)
    out = d.flow.handle(OfficerComing(), d.now)
    assert d.flow.session.officer_coming and d.screen is Screen.CONSENT
    assert out == [Speak(key="officer_coming", lang="id")]
    assert d.flow.handle(OfficerComing(), d.now) == []  # said once


def test_help_is_offered_everywhere_and_calls_an_officer_without_moving() -> None:
    d = Driver()
    out = d.press(Button.HELP)
    assert out == [CallOfficer(screen="welcome", reason="help")] and d.screen is Screen.WELCOME
    to_consent(d)
    typed_before = d.flow.session.resident.kk
    out = d.press(Button.HELP)
    assert out == [CallOfficer(screen="consent", reason="help")] and d.screen is Screen.CONSENT
    assert d.flow.session.help_called and d.flow.session.resident.kk == typed_before


def test_a_touch_on_no_button_counts_as_activity() -> None:
    d = Driver()
    d.press(Button.START)
    deadline = d.flow.deadline
    assert deadline is not None
    d.now = deadline - WARN_LEAD_S + 1
    d.send(Tick(), 0)
    assert d.flow.warned
    d.send(Touch())
    assert not d.flow.warned and d.flow.deadline == d.now + 90 and d.screen is Screen.MENU


def test_receipt_failure_keeps_done_longer_to_note_the_ticket() -> None:
    d = Driver()
    to_consent(d)
    through_capture(d)
    store = next(a for a in d.press(Button.SUBMIT) if isinstance(a, StorePacket))
    d.send(Stored(token=store.token, ticket="00000018", qr_payload="qr"))
    d.send(ReceiptFailed(token=d.flow.token))
    assert d.flow.session.receipt.failed and d.screen is Screen.DONE
    assert d.flow.deadline == d.now + 90
    d.press(Button.HOME)  # finished: no question
    assert d.screen is Screen.WELCOME


def test_speech_only_when_on_reads_each_new_screen_and_error() -> None:
    d = Driver()
    assert d.press(Button.START) == []  # off: not a word
    assert d.press(Button.AUDIO) == [ReadScreen(screen=Screen.MENU)]
    d.send(Choose(option="new_recording"))
    assert d.actions[-1] == ReadScreen(screen=Screen.NIK)
    d.type_digits("5101015913")
    assert d.actions[-1] == Speak(key="err_nik_date", lang="id")
    assert d.send(Digit(digit="1")) == []  # the same error is not said again
    assert d.press(Button.AUDIO) == [Hush()]
    assert d.press(Button.BACK) == []
    speaking = Driver(Flow(FlowConfig(speech=True)))  # `--speech`: every session starts on
    assert speaking.press(Button.START) == [ReadScreen(screen=Screen.MENU)]


def test_missing_finger_shrinks_the_slap_and_is_recorded_with_reason() -> None:
    d = Driver()
    to_consent(d, nik=ELDER_NIK)
    d.press(Button.AGREE)
    d.capture()
    d.press(Button.CONTINUE)  # face
    assert d.flow.session.capture.remaining() == RIGHT_SLAP
    d.press(Button.EXCEPTION)
    d.press(Button.CONFIRM)
    assert d.flow.session.input_error == "err_pick_position"  # pick a finger first
    d.send(Choose(option="right_little"))
    d.press(Button.CONFIRM)
    d.send(Choose(option="amputated"))
    assert d.screen is Screen.CAPTURE_GUIDE
    assert d.flow.session.capture.remaining() == RIGHT_SLAP[:3]
    out = d.press(Button.BEGIN_CAPTURE)
    assert next(a for a in out if isinstance(a, RequestCapture)).positions == RIGHT_SLAP[:3]
    rec = d.flow.session.capture.records["right_little"]
    assert (rec.exception, rec.sample) == ("missing", None)


def test_whole_step_excepted_moves_on_eye_unable() -> None:
    d = Driver()
    to_consent(d, service="new_recording")
    d.press(Button.AGREE)
    while d.flow.session.capture.step and d.flow.session.capture.step.modality is not Modality.IRIS:
        d.capture()
        d.press(Button.CONTINUE)
    d.press(Button.EXCEPTION)
    d.send(Choose(option="right_iris"))
    d.send(Choose(option="left_iris"))
    d.press(Button.CONFIRM)
    d.send(Choose(option="cannot_open"))
    assert d.flow.session.capture.step and d.flow.session.capture.step.modality is Modality.SIGNATURE
    assert d.flow.session.capture.has_exceptions()


def test_singles_mode_splits_remaining_fingers() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    d.capture()
    d.press(Button.CONTINUE)
    d.press(Button.SINGLES)
    names = [s.name for s in d.flow.session.capture.steps]
    assert names == ["face", *(f"finger:{p}" for p in RIGHT_SLAP + LEFT_SLAP + THUMBS), "iris", "signature"]
    out = d.press(Button.BEGIN_CAPTURE)
    assert next(a for a in out if isinstance(a, RequestCapture)).positions == ("right_index",)


def test_stale_capture_result_after_reset_is_ignored() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    out = d.press(Button.BEGIN_CAPTURE)
    req = next(a for a in out if isinstance(a, RequestCapture))
    d.flow._reset("test")
    assert d.send(CaptureDone(token=req.token, samples=())) == []
    assert d.screen is Screen.WELCOME


def test_timeout_is_warned_at_least_20s_ahead_and_extend_restarts_it() -> None:
    assert WARN_LEAD_S >= 20
    d = Driver()
    d.press(Button.START)
    deadline = d.flow.deadline
    assert deadline is not None
    d.now = deadline - WARN_LEAD_S - 1
    assert d.send(Tick(), 0) == []
    out = d.send(Tick(), 1)
    assert out == [TimeoutWarning(screen=Screen.MENU)] and d.flow.warned
    assert d.send(Tick(), 1) == []  # warned once
    d.press(Button.EXTEND)
    assert not d.flow.warned and d.flow.deadline == d.now + 90
    assert d.screen is Screen.MENU


def test_idle_reset_wipes_the_session() -> None:
    d = Driver()
    to_consent(d, nik=ELDER_NIK)
    d.press(Button.AGREE)
    d.capture()
    old = d.flow.session
    ref = weakref.ref(old)
    kept = weakref.ref(old.capture.best["face"])
    del old
    d.now = d.flow.deadline or 0
    out = d.send(Tick(), 0)
    assert SessionWiped(reason="idle") in out
    assert d.screen is Screen.WELCOME and d.flow.session.resident.nik == "" and d.flow.session.capture.records == {}
    d.actions.clear()
    gc.collect()
    assert ref() is None and kept() is None  # nothing of the resident is reachable


def test_done_screen_times_out_to_welcome() -> None:
    d = Driver()
    to_consent(d)
    through_capture(d)
    store = next(a for a in d.press(Button.SUBMIT) if isinstance(a, StorePacket))
    d.send(Stored(token=store.token, ticket="00000018", qr_payload="qr"))
    d.now = d.flow.deadline or 0
    assert SessionWiped(reason="done") in d.send(Tick(), 0)


def test_store_failure_never_says_done() -> None:
    d = Driver()
    to_consent(d)
    through_capture(d)
    store = next(a for a in d.press(Button.SUBMIT) if isinstance(a, StorePacket))
    d.send(StoreFailed(token=store.token, reason="disk full"))
    assert d.screen is Screen.ERROR and d.flow.session.receipt.ticket == ""


def test_consent_declined_offers_the_desk_then_home_wipes() -> None:
    d = Driver()
    to_consent(d)
    d.press(Button.DECLINE)
    assert d.screen is Screen.CONSENT_DECLINED
    out = d.press(Button.HOME)
    assert SessionWiped(reason="home") in out and d.flow.session.resident.nik == ""


def test_status_by_ticket_and_by_qr() -> None:
    d = Driver()
    d.press(Button.START)
    d.send(Choose(option="status"))
    d.type_digits("1234567")
    d.press(Button.CONFIRM)
    assert d.flow.session.input_error == "err_ticket_invalid"  # too short
    d.type_digits("9")  # eight digits, the last one wrong: said as they are typed
    assert d.flow.session.input_error == "err_ticket_check_digit"
    d.press(Button.CONFIRM)
    assert d.flow.session.input_error == "err_ticket_check_digit"
    d.press(Button.BACKSPACE)
    assert d.flow.session.input_error == ""
    for _ in range(7):
        d.press(Button.BACKSPACE)
    ticket = make_ticket(42)
    d.type_digits(ticket)
    out = d.press(Button.CONFIRM)
    look = next(a for a in out if isinstance(a, LookupStatus))
    assert look.ticket == ticket
    d.send(StatusAnswer(token=look.token, ticket=ticket, state="QUEUED"))
    assert d.screen is Screen.STATUS_RESULT and d.flow.session.status.state == "QUEUED"
    d.press(Button.BACK)
    d.send(ScanQr(payload="https://example.com"))
    assert d.flow.session.input_error == "err_qr_invalid"
    payload = qr_payload("kiosk-01", ticket, "0190a5c8-0000-7000-8000-000000000001")
    out = d.send(ScanQr(payload=payload))
    look = next(a for a in out if isinstance(a, LookupStatus))
    assert (look.ticket, look.kiosk_id, look.packet_id) == (ticket, "kiosk-01", "0190a5c8-0000-7000-8000-000000000001")
    assert d.flow.session.status.checking


def test_leaving_the_status_screen_abandons_a_lookup_still_out() -> None:
    d = Driver()
    d.press(Button.START)
    d.send(Choose(option="status"))
    out = d.send(ScanQr(payload=qr_payload("kiosk-02", make_ticket(7), "0190a5c8-0000-7000-8000-000000000002")))
    look = next(a for a in out if isinstance(a, LookupStatus))
    d.press(Button.BACK)
    assert d.screen is Screen.MENU and not d.flow.session.status.checking
    d.send(Choose(option="status"))
    d.send(StatusAnswer(token=look.token, ticket=look.ticket, state="PRINT_READY"))  # too late
    assert d.screen is Screen.STATUS_ENTRY and d.flow.session.status.state is None


OTHER_KIOSK_QR = qr_payload("kiosk-02", make_ticket(7), "0190a5c8-0000-7000-8000-000000000002")


def scan_other_kiosks_receipt(d: Driver) -> LookupStatus:
    d.press(Button.START)
    d.send(Choose(option="status"))
    out = d.send(ScanQr(payload=OTHER_KIOSK_QR))
    return next(a for a in out if isinstance(a, LookupStatus))


def test_a_lookup_unanswered_by_its_deadline_is_unreachable_on_the_first_tick_past_it() -> None:
    d = Driver()
    look = scan_other_kiosks_receipt(d)
    asked_at = d.now
    assert d.flow.lookup is not None and d.flow.lookup.deadline == asked_at + 6.0
    assert d.send(Tick(), dt_s=5.999) == [] and d.flow.session.status.checking
    out = d.send(Tick(), dt_s=0.001)
    assert ForgetLookup(token=look.token, ticket=look.ticket, expired=True) in out
    assert d.screen is Screen.STATUS_RESULT and d.flow.session.status.state == UNREACHABLE
    assert not d.flow.session.status.checking and d.flow.lookup is None
    assert d.flow.deadline == asked_at + 6.0 + 45.0  # the result screen's own timer starts now
    d.send(StatusAnswer(token=look.token, ticket=look.ticket, state="PRINT_READY"))  # too late
    assert d.screen is Screen.STATUS_RESULT and d.flow.session.status.state == UNREACHABLE
    assert d.send(Tick(), dt_s=10.0) == []  # expired once, never again


def test_a_lookup_answered_in_time_has_no_deadline_left() -> None:
    d = Driver(Flow(FlowConfig(lookup_timeout_s=2.0)))
    look = scan_other_kiosks_receipt(d)
    assert d.flow.lookup is not None and d.flow.lookup.deadline == d.now + 2.0
    d.send(StatusAnswer(token=look.token, ticket=look.ticket, state="PRINT_READY"), dt_s=1.5)
    assert d.screen is Screen.STATUS_RESULT and d.flow.lookup is None
    out = d.send(Tick(), dt_s=5.0)
    assert not any(isinstance(a, ForgetLookup) for a in out) and d.flow.session.status.state == "PRINT_READY"


def test_leaving_or_asking_again_forgets_the_lookup_out_and_its_deadline() -> None:
    d = Driver()
    first = scan_other_kiosks_receipt(d)
    out = d.send(ScanQr(payload=OTHER_KIOSK_QR))  # asked again: the first query is dropped
    second = next(a for a in out if isinstance(a, LookupStatus))
    assert out[0] == ForgetLookup(token=first.token, ticket=first.ticket, expired=False)
    assert d.flow.lookup is not None and d.flow.lookup.token == second.token
    out = d.press(Button.BACK)
    assert ForgetLookup(token=second.token, ticket=second.ticket, expired=False) in out
    assert d.screen is Screen.MENU and d.flow.lookup is None
    assert d.send(Tick(), dt_s=10.0) == [] and d.screen is Screen.MENU
    look = scan_other_kiosks_receipt_from_menu(d)
    d.press(Button.HOME)  # asked to confirm leaving: the deadline passes there
    out = d.send(Tick(), dt_s=10.0)
    assert ForgetLookup(token=look.token, ticket=look.ticket, expired=True) in out
    assert d.screen is Screen.CONFIRM_LEAVE and d.flow.lookup is None


def test_an_answer_that_arrives_while_leave_is_asked_is_shown_on_staying() -> None:
    d = Driver()
    look = scan_other_kiosks_receipt(d)
    d.press(Button.HOME)
    assert d.screen is Screen.CONFIRM_LEAVE
    d.send(StatusAnswer(token=look.token, ticket=look.ticket, state="PRINT_READY"))
    assert d.screen is Screen.CONFIRM_LEAVE and d.flow.lookup is None
    d.press(Button.STAY)
    assert d.screen is Screen.STATUS_RESULT and d.flow.session.status.state == "PRINT_READY"
    assert not d.flow.session.status.checking


def test_a_lookup_that_expires_while_leave_is_asked_says_unreachable_on_staying() -> None:
    d = Driver()
    scan_other_kiosks_receipt(d)
    d.press(Button.HOME)
    d.send(Tick(), dt_s=7.0)
    d.press(Button.BACK)  # Back on "really leave?" means stay
    assert d.screen is Screen.STATUS_RESULT and d.flow.session.status.state == UNREACHABLE


def scan_other_kiosks_receipt_from_menu(d: Driver) -> LookupStatus:
    d.send(Choose(option="status"))
    out = d.send(ScanQr(payload=OTHER_KIOSK_QR))
    return next(a for a in out if isinstance(a, LookupStatus))


def test_a_session_reset_drops_the_lookup_with_it() -> None:
    d = Driver(Flow(FlowConfig(lookup_timeout_s=600.0)))
    scan_other_kiosks_receipt(d)
    out = d.send(Tick(), dt_s=90.0)  # the status screen's own timer: the session is wiped
    assert d.screen is Screen.WELCOME and d.flow.lookup is None and SessionWiped(reason="idle") in out
    assert d.send(Tick(), dt_s=600.0) == []


def test_feedback_is_sent_with_category_and_language() -> None:
    d = Driver()
    d.send(SetLanguage(lang="en"))
    d.press(Button.START)
    d.send(Choose(option="feedback"))
    d.send(Choose(option="waiting"))
    d.press(Button.CONFIRM)
    assert d.flow.session.input_error == "err_empty"
    for c in "too long ":
        d.send(Char(char=c))
    assert not [a for a in d.press(Button.CONFIRM) if isinstance(a, SendFeedback)]
    assert d.screen is Screen.FEEDBACK_CONTACT  # an answer? optional
    out = d.press(Button.CONFIRM)
    assert SendFeedback(category="waiting", text="too long", lang="en") in out
    assert d.screen is Screen.FEEDBACK_SENT
    assert d.flow.session.feedback_contact == ""  # so no answer is promised


def _at_contact(category: str, message: str, contact: str) -> Driver:
    """A resident on the contact screen, `message` sent on, `contact` typed."""
    d = Driver()
    d.press(Button.START)
    d.send(Choose(option="feedback"))
    d.send(Choose(option=category))
    for c in message:
        d.send(Char(char=c))
    d.press(Button.CONFIRM)
    for c in contact:
        d.send(Char(char=c))
    return d


@pytest.mark.parametrize("typed,kept", [
    ("0812 3456 7890", "+6281234567890"), ("+62 21 3456789", "+62213456789"),
    ("ani.s@example.co.id", "ani.s@example.co.id"),
])
def test_feedback_may_leave_a_contact_and_then_an_answer_is_promised(typed: str, kept: str) -> None:
    d = _at_contact("service", "ramah", typed)
    out = d.press(Button.CONFIRM)
    assert SendFeedback(category="service", text="ramah", lang="id", contact=kept) in out
    assert d.screen is Screen.FEEDBACK_SENT and d.flow.session.feedback_contact == kept


@pytest.mark.parametrize("typed", ["12", "abc", "nan", "0812 3456 7890 0812 3456 7890", "a@b", "@@@",
                                   "x" * 199 + "@", "1" * 200, "ani@", "+"])
def test_a_contact_that_is_neither_phone_nor_e_mail_is_asked_again_and_nothing_is_sent(typed: str) -> None:
    d = _at_contact("other", "x", typed)
    out = d.press(Button.CONFIRM)
    assert not [a for a in out if isinstance(a, SendFeedback)]
    assert d.screen is Screen.FEEDBACK_CONTACT and d.flow.session.input_error == "err_contact"


def test_back_from_the_contact_keeps_the_message_and_exit_asks_first() -> None:
    d = _at_contact("other", "ac mati", "0812")
    d.press(Button.BACK)
    assert d.screen is Screen.FEEDBACK_TEXT and d.flow.session.typed == "ac mati"
    d.press(Button.CONFIRM)
    assert d.flow.session.typed == "0812"  # what was typed for the contact, still there
    for _ in range(4):
        d.press(Button.BACKSPACE)
    d.press(Button.HOME)
    assert d.screen is Screen.CONFIRM_LEAVE  # the message is work: leaving asks first


def test_assisted_mode_needs_the_officer_pin() -> None:
    officers = {"1287031220": hash_pin("2468", iterations=1000)}
    d = Driver(Flow(FlowConfig(officers=officers)))
    d.press(Button.OFFICER)
    d.type_digits("12")
    d.press(Button.CONFIRM)
    assert d.flow.session.input_error == "err_officer_id"
    d.type_digits("87031220")
    d.press(Button.CONFIRM)
    d.type_digits("1111")
    d.press(Button.CONFIRM)
    assert (d.screen, d.flow.session.input_error) == (Screen.OFFICER_PIN, "err_pin_wrong")
    d.type_digits("2468")
    d.press(Button.CONFIRM)
    assert d.screen is Screen.MENU and d.flow.session.assisted
    assert d.flow.session.officer_id == "1287031220"


def test_three_wrong_pins_go_back_to_welcome() -> None:
    d = Driver(Flow(FlowConfig(officers={"1234": hash_pin("9999", iterations=1000)})))
    d.press(Button.OFFICER)
    _officer_pins(d, "1234", "0000", "0000", "0000")
    assert d.screen is Screen.WELCOME and not d.flow.session.assisted


def _officer_pins(d: Driver, officer_id: str, *pins: str) -> None:
    """On the officer id screen: the id, then each PIN in turn."""
    d.type_digits(officer_id)
    d.press(Button.CONFIRM)
    for pin in pins:
        d.type_digits(pin)
        d.press(Button.CONFIRM)


def _pin(d: Driver, officer: str, pin: str) -> list:
    d.press(Button.OFFICER)
    d.type_digits(officer)
    d.press(Button.CONFIRM)
    if d.screen is not Screen.OFFICER_PIN:
        return []
    d.type_digits(pin)
    return d.press(Button.CONFIRM)


def test_the_pin_lockout_counts_down_and_outlives_the_session_and_a_restart() -> None:
    officers = {"1234": hash_pin("9999", iterations=1000)}
    d = Driver(Flow(FlowConfig(officers=officers)))
    out = _pin(d, "1234", "0000")
    assert SavePinLock(lock=PinLock(failures=1)) in out and d.flow.session.input_error == "err_pin_wrong"
    d.press(Button.BACK)
    d.press(Button.BACK)  # the session ends; the count does not
    _pin(d, "5678", "0000")  # another officer id counts too: guessing ids gains nothing
    assert d.flow.pin_lock.left() == 1
    d.press(Button.BACK)
    d.press(Button.BACK)
    out = _pin(d, "1234", "0001")
    saved = next(a.lock for a in out if isinstance(a, SavePinLock))
    assert d.screen is Screen.WELCOME and saved.locked(d.now) and saved.locked_until == d.now + LOCKOUT_S
    restarted = Driver(Flow(FlowConfig(officers=officers, pin_lock=saved)))  # what the shell saved
    restarted.now = d.now
    assert _pin(restarted, "1234", "9999") == []  # the right PIN is not even asked for
    assert (restarted.screen, restarted.flow.session.input_error) == (Screen.OFFICER_ID, "err_pin_locked")
    restarted.press(Button.BACK)
    restarted.now += LOCKOUT_S
    out = _pin(restarted, "1234", "9999")
    assert restarted.screen is Screen.MENU and SavePinLock(lock=PinLock()) in out


def test_the_officer_stays_signed_in_for_a_visit_until_sign_out_or_ten_idle_minutes() -> None:
    d = Driver(Flow(FlowConfig(officers={"1234": hash_pin("9999", iterations=1000)})))
    _pin(d, "1234", "9999")
    for _ in range(2):  # two residents of a Jemput Bola visit, each a new session
        d.press(Button.HOME)
        assert d.screen is Screen.WELCOME and d.flow.session.assisted and d.flow.session.officer_id == "1234"
        d.press(Button.START)
        assert d.screen is Screen.MENU and d.flow.session.assisted
    d.press(Button.HOME)
    d.press(Button.SIGN_OUT)
    assert d.flow.officer is None and not d.flow.session.assisted
    with pytest.raises(FlowError):
        d.press(Button.SIGN_OUT)  # nobody to sign out
    _pin(d, "1234", "9999")
    d.press(Button.HOME)
    d.send(Tick(), OFFICER_IDLE_S - 1)
    assert d.flow.officer is not None
    d.send(Tick(), 1)
    assert d.flow.officer is None and not d.flow.session.assisted


def test_language_and_large_text_anywhere_without_losing_input() -> None:
    d = Driver()
    d.press(Button.START)
    d.send(Choose(option="new_recording"))
    d.type_digits("5101")
    d.send(SetLanguage(lang="en"))
    d.press(Button.LARGE_TEXT)
    d.press(Button.CONTRAST)
    s = d.flow.session
    assert (s.lang, s.large_text, s.typed, d.screen) == ("en", True, "5101", Screen.NIK)
    assert s.high_contrast  # a separate choice from large text


def test_unknown_event_for_screen_is_a_flow_error() -> None:
    d = Driver()
    with pytest.raises(FlowError):
        d.press(Button.SUBMIT)
    with pytest.raises(FlowError):
        d.press(Button.HOME)  # already home
    with pytest.raises(FlowError):
        d.send(SetLanguage(lang="fr"))


def test_every_screen_but_welcome_can_be_left() -> None:
    """No dead ends: every screen is reachable back to WELCOME via the table or Home."""
    screens_with_exit = {scr for (scr, key) in TABLE} | {
        Screen.DONE, Screen.CONSENT_DECLINED, Screen.FEEDBACK_SENT, Screen.ERROR,
    }
    assert set(Screen) <= screens_with_exit | {Screen.WELCOME}


def test_a_printer_known_to_be_down_is_said_before_the_session_starts() -> None:
    from kiosk.ui.views import build_view

    d = Driver()
    assert d.send(PrinterState(ok=False)) == [] and d.screen is Screen.WELCOME
    assert t("printer_down", "id") in build_view(d.flow, d.now).lines
    d.press(Button.START)
    assert t("printer_down", "id") in build_view(d.flow, d.now).lines
    d.send(PrinterState(ok=True))
    assert t("printer_down", "id") not in build_view(d.flow, d.now).lines


def test_review_asks_about_disability_with_yes_and_no_and_shows_the_nik_in_full() -> None:
    from kiosk.ui.views import build_view, utterance

    d = Driver()
    to_consent(d, "correction")
    view = build_view(d.flow, d.now)
    assert view.lines[0] == t("consent_correction", "id")  # names what this service takes
    through_capture(d)
    view = build_view(d.flow, d.now)
    assert "NIK: 510101 050709 0002" in view.lines  # in full on screen, to catch a typo
    assert "0507090002" not in utterance(view).replace(" ", "")  # masked when read aloud
    assert t("review_correction", "id", field="Alamat", value="jl. gatot subroto 7") in view.lines
    d.press(Button.DISABILITY)
    d.press(Button.DISABILITY)  # an answer, not a toggle
    assert d.flow.session.disability is True
    d.press(Button.NO_DISABILITY)
    assert d.flow.session.disability is False


def test_a_slap_capture_shows_how_far_along_it_is_and_can_be_cancelled() -> None:
    from drivers.factory import open_peripherals
    from kiosk.ports import capture
    from kiosk.ui.views import build_view

    d = Driver()
    to_consent(d)
    d.press(Button.AGREE)
    d.capture()
    d.press(Button.CONTINUE)
    req = next(a for a in d.press(Button.BEGIN_CAPTURE) if isinstance(a, RequestCapture))
    assert d.send(CaptureProgress(token=req.token - 1, done=3)) == [] and d.flow.session.capture.progress == 0
    d.send(CaptureProgress(token=req.token, done=2))
    lines = build_view(d.flow, d.now).lines
    assert "Selesai 2 dari 4. Sekarang: Manis kanan." in lines and t("capturing_cancel", "id") in lines
    seen: list[int] = []  # the port reports each finger as it is read
    port = open_peripherals("sim")
    try:
        capture(port, Modality.FINGER, RIGHT_SLAP, seen.append)
    finally:
        port.close()
    assert seen == [1, 2, 3, 4]


def _declined(d: Driver) -> None:
    to_consent(d)
    d.press(Button.AGREE)
    d.capture()
    d.press(Button.CONTINUE)  # the first step passes; the resident cannot give the rest
    d.press(Button.EXCEPTION)
    d.press(Button.SEE_OFFICER)


def _officer_driver() -> Driver:
    return Driver(Flow(FlowConfig(officers={"19850101": hash_pin("2468", iterations=1000)})))


def test_an_officer_completes_declined_biometrics_with_a_photo_and_a_sign_off() -> None:
    d = _officer_driver()
    _declined(d)
    first = dict(d.flow.session.capture.records)
    assert d.screen is Screen.SEE_OFFICER
    d.press(Button.COMPLETE)
    assert d.screen is Screen.OFFICER_ID
    _officer_pins(d, "19850101", "2468")
    s = d.flow.session
    assert d.screen is Screen.OFFICER_CONFIRM and s.assisted and s.officer_id == "19850101"
    with pytest.raises(FlowError):
        d.flow.handle(CaptureDone(token=d.flow.token, samples=()), d.now)  # no photo asked for
    req = next(a for a in d.press(Button.EXCEPTION_PHOTO) if isinstance(a, RequestCapture))
    assert (req.modality, req.positions, s.sign_off.photo_state) == (Modality.FACE, ("face",), "taking")
    with pytest.raises(FlowError):  # not while the photo is being taken
        d.press(Button.CONFIRM)
    d.send(CaptureDone(token=req.token, samples=(sample(Modality.FACE, "face", 70),)))
    assert s.sign_off.photo_state == "taken" and s.sign_off.photo is not None
    d.press(Button.CONFIRM)
    assert d.screen is Screen.REVIEW and s.sign_off.confirmed_at == d.now
    open_before = {p for st in s.capture.steps for p in st.positions} - set(first)
    assert set(s.sign_off.positions) == open_before
    assert all(s.capture.records[p].exception == "unable" for p in open_before)
    assert all(s.capture.records[p] == r for p, r in first.items())  # what was captured stays
    d.press(Button.BACK)  # undo: the officer's exceptions come off again
    assert d.screen is Screen.OFFICER_CONFIRM and set(s.capture.records) == set(first)
    assert s.sign_off.confirmed_at is None and s.sign_off.photo is not None
    d.press(Button.CONFIRM)
    out = d.press(Button.SUBMIT)
    assert any(isinstance(a, StorePacket) for a in out) and d.screen is Screen.SUBMITTING


def test_the_camera_down_still_lets_the_officer_confirm_and_a_wrong_pin_goes_back() -> None:
    d = _officer_driver()
    _declined(d)
    d.press(Button.COMPLETE)
    d.press(Button.BACK)  # not now: back where the officer was called, nothing lost
    assert d.screen is Screen.SEE_OFFICER and not d.flow.session.sign_off.completing
    d.press(Button.COMPLETE)
    _officer_pins(d, "19850101", "1111", "1111", "1111")
    assert d.screen is Screen.SEE_OFFICER and not d.flow.session.assisted  # locked out, session kept
    assert d.flow.session.resident.nik
    d.now += LOCKOUT_S
    d.press(Button.COMPLETE)
    _officer_pins(d, "19850101", "2468")
    req = next(a for a in d.press(Button.EXCEPTION_PHOTO) if isinstance(a, RequestCapture))
    d.send(CaptureFailed(token=req.token, reason="unplugged"))
    assert d.flow.session.sign_off.photo_state == "failed" and d.screen is Screen.OFFICER_CONFIRM
    d.press(Button.BACK)
    d.press(Button.COMPLETE)  # signed in already: straight to the confirmation
    assert d.screen is Screen.OFFICER_CONFIRM
    d.press(Button.CONFIRM)
    assert d.screen is Screen.REVIEW and d.flow.session.sign_off.photo is None


def test_a_device_fault_is_not_excused_by_an_officer() -> None:
    d = _officer_driver()
    to_consent(d)
    d.press(Button.AGREE)
    req = next(a for a in d.press(Button.BEGIN_CAPTURE) if isinstance(a, RequestCapture))
    d.send(CaptureFailed(token=req.token, reason="unplugged"))
    d.press(Button.SEE_OFFICER)
    assert d.flow.session.see_officer_reason == "device"
    with pytest.raises(FlowError):
        d.press(Button.COMPLETE)


CHILD_NIK = "5101010507150003"  # born 05-07-2015: 11 on NOW
EVE_NIK = "5101012911090004"  # born 29-11-2009: 17 tomorrow
BIRTHDAY_NIK = "5101012811090005"  # born 28-11-2009: 17 today


def _nik(d: Driver, nik: str, service: str = "new_recording") -> None:
    d.press(Button.START)
    d.send(Choose(option=service))
    if service == "replacement":
        d.send(Choose(option="lost"))
    d.type_digits(nik)
    d.press(Button.CONFIRM)


def test_a_child_is_asked_kindly_and_told_when_to_come_back() -> None:
    d = Driver()
    _nik(d, CHILD_NIK)
    assert d.screen is Screen.ELIGIBILITY and d.flow.session.resident.age == 11
    d.press(Button.NOT_MARRIED)
    assert d.screen is Screen.NOT_ELIGIBLE
    from kiosk.ui.views import build_view

    text = " ".join(build_view(d.flow, d.now).lines)
    assert "05-07-2032" in text and "KIA" in text  # the day, and the card meanwhile
    d.press(Button.BACK)
    assert d.screen is Screen.ELIGIBILITY
    d.press(Button.BACK)  # the NIK as typed, to fix a typo
    assert d.screen is Screen.NIK and d.flow.session.typed == CHILD_NIK
    d.press(Button.CONFIRM)
    d.press(Button.NOT_MARRIED)
    out = d.press(Button.HOME)  # nothing to lose here: no question asked
    assert SessionWiped(reason="home") in out


def test_married_under_17_goes_on_and_the_packet_says_so() -> None:
    from kiosk.submit import capture_body

    d = Driver()
    _nik(d, EVE_NIK)
    assert d.screen is Screen.ELIGIBILITY and d.flow.session.resident.age == 16
    d.press(Button.MARRIED)
    assert d.screen is Screen.KK
    d.type_digits(KK[:4])
    d.press(Button.BACK)  # back to the question, the KK typed so far kept
    assert d.screen is Screen.ELIGIBILITY
    d.press(Button.MARRIED)
    assert d.flow.session.typed == KK[:4]
    d.type_digits(KK[4:])
    d.press(Button.CONFIRM)
    assert d.screen is Screen.CONSENT
    assert "married:declared" in capture_body(d.flow.session).demographics.notes


@pytest.mark.parametrize(("nik", "service"), [(BIRTHDAY_NIK, "new_recording"), (YOUTH_NIK, "new_recording"),
                                              (CHILD_NIK, "replacement")])
def test_seventeen_today_or_another_service_asks_nothing(nik: str, service: str) -> None:
    d = Driver()
    _nik(d, nik, service)
    assert d.screen is Screen.KK and not d.flow.session.resident.married


def test_pages_turn_count_as_activity_and_start_again_on_every_new_screen() -> None:
    from kiosk.flow.model import Page

    d = Driver()
    d.press(Button.START)
    deadline = d.flow.deadline
    d.send(Page(step=1), 30)
    d.send(Page(step=1))
    assert d.flow.page == 2 and d.flow.screen is Screen.MENU
    assert d.flow.deadline is not None and deadline is not None and d.flow.deadline > deadline  # activity
    for _ in range(5):
        d.send(Page(step=-1))
    assert d.flow.page == 0  # never below the first
    d.send(Page(step=1))
    d.press(Button.LARGE_TEXT)  # the text runs differently: from the first page
    assert d.flow.page == 0
    d.send(Page(step=1))
    d.send(Choose(option="status"))
    assert d.flow.screen is Screen.STATUS_ENTRY and d.flow.page == 0
    d.send(Page(step=1))
    d.press(Button.HOME)
    assert d.flow.screen is Screen.WELCOME and d.flow.page == 0
    for bad in (0, 2, -2):
        with pytest.raises(ValueError):
            Page(step=bad)
