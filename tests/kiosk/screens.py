"""Walk the pure flow through every screen (and the warning banner, large text), for the
view, layout and screenshot tests; `every_view` adds the live preview and the eyes."""

from __future__ import annotations

from collections.abc import Iterator

from anjungan.packet.model import Modality
from drivers.imaging import PREVIEW_H, PREVIEW_W, face_png, face_preview
from drivers.peripherals import FacePreview
from kiosk.flow.capture import previewing
from kiosk.flow.machine import WARN_LEAD_S, Flow, FlowConfig
from kiosk.flow.model import (
    Button,
    CaptureDone,
    CaptureFailed,
    Char,
    Choose,
    LookupStatus,
    ReceiptFailed,
    RequestCapture,
    Sample,
    Screen,
    SetLanguage,
    StatusAnswer,
    Stored,
    StoreFailed,
    StorePacket,
    Tick,
)
from kiosk.officers import hash_pin
from kiosk.ticket import make_ticket, qr_payload
from kiosk.ui.views import View, build_view, with_preview
from tests.kiosk.helpers import ELDER_NIK, KK, Driver, sample

LIVE = FacePreview.scored(face_preview(1, 0.9, scale=0.5), PREVIEW_W, PREVIEW_H)  # "move closer"


def _to_consent(d: Driver, lang: str) -> None:
    """From the welcome screen to the consent of an elder's new recording."""
    d.send(SetLanguage(lang=lang))
    d.press(Button.START)
    d.send(Choose(option="new_recording"))
    d.type_digits(ELDER_NIK)
    d.press(Button.CONFIRM)
    d.type_digits(KK)
    d.press(Button.CONFIRM)


def every_view(lang: str) -> Iterator[tuple[str, View]]:
    """Every screen's view; the face guide and capture also with the live preview (a frame,
    and none yet), and the exception screens for the eyes as well as the fingers."""
    for name, flow, now in every_screen(lang):
        view = build_view(flow, now)
        yield name, view
        if previewing(flow):
            yield f"{name}_preview", with_preview(flow, view, LIVE)
            yield f"{name}_preview_starting", with_preview(flow, view, None)
    d = Driver()
    _to_consent(d, lang)
    d.press(Button.AGREE)
    while (step := d.flow.session.capture.step) is not None and step.modality is not Modality.IRIS:
        d.capture()
        d.press(Button.CONTINUE)
    d.press(Button.EXCEPTION)
    d.send(Choose(option="left_iris"))
    assert d.flow.screen is Screen.CAPTURE_EXCEPTION
    yield "capture_exception_eyes", build_view(d.flow, d.now)
    d.press(Button.CONFIRM)
    assert d.flow.screen is Screen.EXCEPTION_REASON
    yield "exception_reason_eyes", build_view(d.flow, d.now)


def every_screen(lang: str) -> Iterator[tuple[str, Flow, float]]:
    """(name, flow, now) at each screen; the flow is shared, so use each item right away."""
    d = Driver(Flow(FlowConfig(officers={"1234": hash_pin("2468", iterations=1000)})))
    d.send(SetLanguage(lang=lang))
    yield "welcome", d.flow, d.now
    d.press(Button.OFFICER)
    d.type_digits("1234")
    yield "officer_id", d.flow, d.now
    d.press(Button.CONFIRM)
    d.type_digits("24")
    yield "officer_pin", d.flow, d.now
    d.type_digits("68")
    d.press(Button.CONFIRM)
    yield "menu_assisted", d.flow, d.now
    d.press(Button.HOME)
    yield "welcome_officer_visit", d.flow, d.now
    d.press(Button.SIGN_OUT)
    d.send(SetLanguage(lang=lang))
    d.press(Button.START)
    yield "menu", d.flow, d.now
    d.send(Choose(option="correction"))
    yield "correction_field", d.flow, d.now
    d.send(Choose(option="address"))
    for c in "jl. gatot subroto":
        d.send(Char(char=c))
    yield "correction_value", d.flow, d.now
    d.press(Button.BACK)
    d.press(Button.BACK)
    d.send(Choose(option="replacement"))
    yield "replacement_reason", d.flow, d.now
    d.press(Button.BACK)
    d.send(Choose(option="new_recording"))
    d.type_digits("5101015")
    yield "nik_typing", d.flow, d.now
    d.type_digits("913")
    yield "nik_error", d.flow, d.now
    for _ in range(4):
        d.press(Button.BACKSPACE)
    d.type_digits(ELDER_NIK[6:])
    d.press(Button.CONFIRM)
    d.type_digits(KK)
    yield "kk", d.flow, d.now
    d.press(Button.CONFIRM)
    yield "consent", d.flow, d.now
    d.press(Button.AGREE)
    yield "capture_guide_face", d.flow, d.now
    out = d.press(Button.BEGIN_CAPTURE)
    yield "capturing", d.flow, d.now
    req = next(a for a in out if isinstance(a, RequestCapture))
    d.send(CaptureFailed(token=req.token, reason="unavailable"))
    yield "capture_result_device", d.flow, d.now
    d.press(Button.SEE_OFFICER)
    yield "see_officer_device", d.flow, d.now
    d.press(Button.BACK)
    out = d.press(Button.RETRY)
    req = next(a for a in out if isinstance(a, RequestCapture))
    d.send(CaptureDone(token=req.token, samples=(sample(req.modality, "face", 20),)))
    yield "capture_result_low", d.flow, d.now
    d.press(Button.HOME)
    yield "confirm_leave", d.flow, d.now
    d.press(Button.STAY)
    out = d.press(Button.RETRY)
    req = next(a for a in out if isinstance(a, RequestCapture))
    photo = Sample(modality=req.modality, position="face", image=face_png(7, 0.9), image_format="png", quality=80)
    d.send(CaptureDone(token=req.token, samples=(photo,)))
    yield "capture_result_ok", d.flow, d.now
    d.press(Button.CONTINUE)
    yield "capture_guide_slap", d.flow, d.now
    d.press(Button.EXCEPTION)
    d.send(Choose(option="right_little"))
    yield "capture_exception", d.flow, d.now
    d.press(Button.SEE_OFFICER)
    yield "see_officer_declined", d.flow, d.now
    d.press(Button.BACK)
    d.press(Button.CONFIRM)
    yield "exception_reason", d.flow, d.now
    d.send(Choose(option="amputated"))
    while d.flow.screen is Screen.CAPTURE_GUIDE:
        d.capture()
        d.press(Button.CONTINUE)
    yield "review", d.flow, d.now
    d.now = (d.flow.deadline or 0) - WARN_LEAD_S + 5
    d.send(Tick(), 0)
    yield "timeout_warning", d.flow, d.now
    d.press(Button.EXTEND)
    d.press(Button.LARGE_TEXT)
    yield "review_large_text", d.flow, d.now
    d.press(Button.CONTRAST)
    yield "review_large_text_contrast", d.flow, d.now
    d.press(Button.LARGE_TEXT)
    yield "review_contrast", d.flow, d.now
    d.press(Button.CONTRAST)
    d.press(Button.HELP)
    d.press(Button.AUDIO)
    yield "review_help_called_audio_on", d.flow, d.now
    d.press(Button.AUDIO)
    store = next(a for a in d.press(Button.SUBMIT) if isinstance(a, StorePacket))
    yield "submitting", d.flow, d.now
    d.send(StoreFailed(token=store.token, reason="OSError"))
    yield "error", d.flow, d.now
    d.press(Button.BACK)  # back to the review with everything kept: send again
    store = next(a for a in d.press(Button.SUBMIT) if isinstance(a, StorePacket))
    ticket = make_ticket(7)
    d.send(Stored(token=store.token, ticket=ticket,
                  qr_payload=qr_payload("kiosk-01", ticket, "0190a5c8-0000-7000-8000-000000000007")))
    yield "done", d.flow, d.now
    d.send(ReceiptFailed(token=d.flow.token))
    yield "done_no_receipt", d.flow, d.now
    d.press(Button.HOME)
    d.send(SetLanguage(lang=lang))
    d.press(Button.START)
    d.send(Choose(option="status"))
    d.type_digits(ticket)
    yield "status_entry", d.flow, d.now
    look = next(a for a in d.press(Button.CONFIRM) if isinstance(a, LookupStatus))
    d.send(StatusAnswer(token=look.token, ticket=ticket, state="QUEUED"))
    yield "status_result", d.flow, d.now
    d.press(Button.HOME)
    d.send(SetLanguage(lang=lang))
    d.press(Button.START)
    d.send(Choose(option="feedback"))
    yield "feedback_category", d.flow, d.now
    d.send(Choose(option="waiting"))
    for c in "antrian lama":
        d.send(Char(char=c))
    yield "feedback_text", d.flow, d.now
    d.press(Button.CONFIRM)
    for c in "08123":
        d.send(Char(char=c))
    d.press(Button.CONFIRM)
    yield "feedback_contact_error", d.flow, d.now
    for c in "4567890":
        d.send(Char(char=c))
    yield "feedback_contact", d.flow, d.now
    d.press(Button.CONFIRM)
    yield "feedback_sent", d.flow, d.now
    d.press(Button.HOME)
    _to_consent(d, lang)
    d.press(Button.DECLINE)
    yield "consent_declined", d.flow, d.now
    d.press(Button.BACK)
    d.press(Button.AGREE)
    d.press(Button.EXCEPTION)
    d.press(Button.SEE_OFFICER)
    d.press(Button.COMPLETE)  # the officer came: signs in here and confirms
    d.type_digits("1234")
    d.press(Button.CONFIRM)
    d.type_digits("2468")
    d.press(Button.CONFIRM)
    photo = next(a for a in d.press(Button.EXCEPTION_PHOTO) if isinstance(a, RequestCapture))
    d.send(CaptureDone(token=photo.token, samples=(
        Sample(modality=photo.modality, position="face", quality=70, image=face_png(3, 0.9), image_format="png"),)))
    yield "officer_confirm", d.flow, d.now
    d.press(Button.CONFIRM)
    yield "review_signed_off", d.flow, d.now
    d.press(Button.HOME)
    d.press(Button.LEAVE)
    d.press(Button.SIGN_OUT)  # the officer of the completion above ends the visit
    d.send(SetLanguage(lang=lang))
    d.press(Button.START)
    d.send(Choose(option="new_recording"))
    d.type_digits("5101010507150003")  # 11 years old
    d.press(Button.CONFIRM)
    yield "eligibility", d.flow, d.now
    d.press(Button.NOT_MARRIED)
    yield "not_eligible", d.flow, d.now
