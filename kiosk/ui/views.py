"""From the flow's state to what a screen shows: titles, lines, buttons with their events.

Pure. The pygame layer lays these out and draws them; touches map back to `Widget.event`.
A headless script taps widgets by `id` ("start", "digit:3", "choose:new_recording", ...).

Every screen has the same frame, so a place means one thing: Back bottom-left (when there is
a step to go back to), "Call an officer" bottom-right, Exit top-left (it asks before erasing
anything), language / large text / audio top-right. Capture screens keep fixed slots (an
absent button leaves its place empty) so a button never slides under a finger into a place
that meant something else a moment ago. `utterance` is what speech reads for a view.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from anjungan.nik import mask
from anjungan.packet.model import Modality, Service
from drivers.imaging import FaceHint
from drivers.peripherals import FacePreview
from kiosk.flow import identity
from kiosk.flow.assisted import open_positions
from kiosk.flow.capture import previewing, retries_left, step_passes
from kiosk.flow.exceptions import CAUSES
from kiosk.flow.machine import (
    CORRECTION_FIELDS,
    FEEDBACK_CATEGORIES,
    MENU_OPTIONS,
    NO_HOME,
    REPLACEMENT_REASONS,
    TABLE,
    Flow,
)
from kiosk.flow.model import Button, Char, Choose, Digit, Event, Page, Press, Screen, SetLanguage
from kiosk.flow.plan import THRESHOLDS
from kiosk.i18n import STRINGS, t

KEYPAD_SCREENS = {Screen.NIK, Screen.KK, Screen.OFFICER_ID, Screen.OFFICER_PIN, Screen.STATUS_ENTRY}
KEYBOARD_SCREENS = {Screen.CORRECTION_VALUE, Screen.FEEDBACK_TEXT, Screen.FEEDBACK_CONTACT}
KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl-", "zxcvbnm/.,")  # then delete, space, next
CONTACT_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl-", "zxcvbnm@._")  # a phone or an e-mail
KEYBOARD_COLUMNS = 10


@dataclass(frozen=True, kw_only=True)
class Widget:
    id: str
    label: str
    event: Event
    role: str = "action"  # "primary" | "action" | "key" | "nav" | "top" | "selected"
    span: int = 1  # keyboard cells it takes (the space bar a whole row)


@dataclass(frozen=True, kw_only=True)
class Bar:
    """A quality bar: `value` of 100 filled, `threshold` marked; `label` says in words what
    the colour shows (never colour alone)."""

    label: str
    value: int
    threshold: int
    ok: bool


@dataclass(frozen=True, kw_only=True)
class View:
    screen: Screen
    title: str
    lines: tuple[str, ...] = ()
    field: str | None = None  # the typed buffer (masked for PINs)
    error: str = ""
    actions: tuple[Widget | None, ...] = ()  # the screen's main choices; None keeps a slot empty
    action_columns: int = 0  # 0: the layout chooses
    keys: tuple[Widget, ...] = ()  # keypad or keyboard
    key_columns: int = 3
    back: Widget | None = None  # bottom-left
    corner: Widget | None = None  # bottom-left where there is no Back: staff only (Officer, Sign out), small
    help: Widget | None = None  # bottom-right
    home: Widget | None = None  # top-left; asks before erasing
    top: tuple[Widget, ...] = ()  # top-right: language, large text, audio
    notice: str = ""  # bottom centre: officer mode, officer called
    banner: str = ""  # timeout warning, drawn over the top bar (nothing moves)
    banner_action: Widget | None = None
    qr: str = ""
    photo: bytes = dataclasses.field(default=b"", repr=False)  # the face just taken, shown for approval (PNG)
    hands: tuple[str, ...] = ()  # finger positions to place, drawn lit on a picture of both hands
    hand_labels: tuple[str, str] = ("", "")  # under the left and the right hand (or eye)
    figure: str = ""  # a picture to choose on: "hands" or "eyes" (a face), `lit` lit
    lit: tuple[str, ...] = ()
    preview: FacePreview | None = None  # the face camera's live frame, under an oval guide
    bars: tuple[Bar, ...] = ()  # quality bars beside the text (the live one, or one a position)
    say: tuple[str, ...] = ()  # what speech reads instead of `lines`, when they differ
    large_text: bool = False
    high_contrast: bool = False
    lang: str = "id"
    page: int = 0  # of a screen the layout has to put on pages
    pager: tuple[Widget, Widget] | None = None  # "‹ Back", "More ›": shown only when there are pages
    slot_labels: tuple[str, ...] = ()  # every label these slots take on the screens around: one size for all

    @property
    def picture(self) -> bool:
        """Something drawn top right: the photo, the live preview, the hands or a figure."""
        return bool(self.photo or self.hands or self.preview or self.figure)

    @property
    def halves(self) -> bool:
        """A picture in two halves with a label under each (hands, or eyes)."""
        return bool(self.hands or self.figure)

    def widgets(self) -> tuple[Widget, ...]:
        extra = (self.banner_action,) if self.banner_action else ()
        frame = tuple(w for w in (self.home, self.back, self.corner, self.help) if w is not None)
        return (*self.top, *(a for a in self.actions if a), *self.keys, *frame, *extra)

    def find(self, widget_id: str) -> Widget | None:
        return next((w for w in self.widgets() if w.id == widget_id), None)


def _press(button: Button, lang: str, role: str = "action", label_key: str = "") -> Widget:
    return Widget(
        id=button.value, label=t(label_key or f"btn_{button.value}", lang),
        event=Press(button=button), role=role,
    )


def _choices(options: tuple[str, ...], lang: str, prefix: str = "opt_") -> tuple[Widget, ...]:
    return tuple(
        Widget(id=f"choose:{o}", label=t(prefix + o, lang), event=Choose(option=o)) for o in options
    )


def _keypad(lang: str) -> tuple[Widget, ...]:
    """1-9, then 0 and a wide Delete, then Next across the whole keypad."""
    digits = [Widget(id=f"digit:{d}", label=d, event=Digit(digit=d), role="key") for d in "123456789"]
    return (
        *digits,
        Widget(id="digit:0", label="0", event=Digit(digit="0"), role="key"),
        dataclasses.replace(_press(Button.BACKSPACE, lang, "key"), span=2),
        dataclasses.replace(_press(Button.CONFIRM, lang, "primary"), span=3),
    )


def _keyboard(lang: str, rows: tuple[str, ...] = KEYBOARD_ROWS) -> tuple[Widget, ...]:
    """Labels as typed (lowercase); the bottom row is Delete, a wide space bar and Next."""
    keys = [Widget(id=f"char:{c}", label=c, event=Char(char=c), role="key") for row in rows for c in row]
    keys.append(dataclasses.replace(_press(Button.BACKSPACE, lang, "key"), span=3))
    keys.append(Widget(id="char: ", label=t("btn_space", lang), event=Char(char=" "), role="key", span=4))
    keys.append(dataclasses.replace(_press(Button.CONFIRM, lang, "primary"), span=3))
    return tuple(keys)


def build_view(flow: Flow, now: float) -> View:
    """The screen for the flow's state: its own content (`_CONTENT`, one function a screen),
    the typing area, and the frame every screen shares."""
    s, scr, lang = flow.session, flow.screen, flow.session.lang
    c = _Content(title=t(f"title_{scr.value}", lang), body_key=f"body_{scr.value}")
    fill = _CONTENT.get(scr)
    if fill is not None:
        fill(flow, c)
    if scr in (Screen.OFFICER_ID, Screen.OFFICER_PIN) and flow.pin_lock.locked(now):
        c.lines.append(t("err_pin_locked", lang, minutes=_minutes_left(flow, now)))
    if scr in (Screen.WELCOME, Screen.MENU) and not flow.printer_ok:
        c.lines.append(t("printer_down", lang))
    lines = [*t(c.body_key, lang).split("|"), *c.lines] if c.body_key in _BODY_KEYS else c.lines
    keys, columns, typed_field = _entry(flow)
    banner, banner_action = "", None
    if flow.warned and flow.deadline is not None:
        banner = t("timeout_warning", lang, seconds=max(0, round(flow.deadline - now)))
        banner_action = _press(Button.EXTEND, lang, "primary")
    notices = [t("officer_coming" if s.officer_coming else "help_called", lang)] if s.help_called else []
    if s.assisted:
        notices.append(t("assisted_banner", lang))
    return View(
        screen=scr, title=c.title, lines=tuple(lines), field=typed_field,
        error=t(s.input_error, lang, left=flow.pin_lock.left(), minutes=_minutes_left(flow, now))
        if s.input_error else "",
        actions=tuple(c.actions), action_columns=2 if scr in SLOT_SCREENS else 0, keys=keys,
        key_columns=columns, back=_press(Button.BACK, lang, "nav") if (scr, Button.BACK) in _BACK_SCREENS else None,
        corner=c.corner, help=_press(Button.HELP, lang, "selected" if s.help_called else "nav"),
        home=_press(Button.HOME, lang, "nav") if scr not in NO_HOME else None, top=_top_bar(flow),
        notice=" · ".join(notices), banner=banner, banner_action=banner_action, qr=c.qr, photo=c.photo,
        hands=c.hands, hand_labels=c.labels or (t("hand_left", lang), t("hand_right", lang)), say=c.say,
        bars=tuple(c.bars), figure=c.figure, lit=c.lit,
        large_text=s.large_text, high_contrast=s.high_contrast, lang=lang, page=flow.page,
        slot_labels=tuple(t(k, lang) for k in CAPTURE_SLOT_LABELS) if scr in CAPTURE_SCREENS else (),
        pager=(Widget(id="page:prev", label=t("btn_page_prev", lang), event=Page(step=-1), role="nav"),
               Widget(id="page:next", label=t("btn_page_next", lang), event=Page(step=1), role="nav")),
    )


@dataclass(kw_only=True)
class _Content:
    """What one screen says and offers, before the shared frame goes around it."""

    title: str
    body_key: str  # the screen's fixed text ("" once a screen has put its own)
    lines: list[str] = dataclasses.field(default_factory=list)
    actions: list[Widget | None] = dataclasses.field(default_factory=list)
    photo: bytes = b""
    hands: tuple[str, ...] = ()
    say: tuple[str, ...] = ()
    bars: list[Bar] = dataclasses.field(default_factory=list)
    figure: str = ""
    lit: tuple[str, ...] = ()
    labels: tuple[str, str] | None = None  # under the picture's halves, when not the hands
    qr: str = ""
    corner: Widget | None = None  # staff only, small, bottom-left (the welcome screen)


def _minutes_left(flow: Flow, now: float) -> int:
    return max(1, -(-round(flow.pin_lock.locked_until - now) // 60))


def _entry(flow: Flow) -> tuple[tuple[Widget, ...], int, str | None]:
    """The keypad or keyboard, its columns, and the typed field as shown."""
    s, scr = flow.session, flow.screen
    if scr in KEYPAD_SCREENS:
        return _keypad(s.lang), 3, "•" * len(s.typed) if scr is Screen.OFFICER_PIN else _group(s.typed)
    if scr in KEYBOARD_SCREENS:
        return _keyboard(s.lang, CONTACT_ROWS if scr is Screen.FEEDBACK_CONTACT else KEYBOARD_ROWS), KEYBOARD_COLUMNS, s.typed
    return (), 3, None


def _top_bar(flow: Flow) -> tuple[Widget, ...]:
    s, lang = flow.session, flow.session.lang
    other = "en" if lang == "id" else "id"
    return (
        Widget(id=f"lang:{other}", label=t(f"lang_{other}", lang), event=SetLanguage(lang=other), role="top"),
        _press(Button.LARGE_TEXT, lang, "selected" if s.large_text else "top"),
        _press(Button.CONTRAST, lang, "selected" if s.high_contrast else "top"),
        _press(Button.AUDIO, lang, "selected" if s.speech else "top",
               label_key="btn_audio_on" if s.speech else "btn_audio"),
    )


def _what(flow: Flow) -> str:
    step = flow.session.capture.step
    return t(f"what_{step.modality.value}", flow.session.lang) if step else ""


def _choosing(options: tuple[str, ...]) -> Callable[[Flow, _Content], None]:
    def fill(flow: Flow, c: _Content) -> None:
        c.actions = list(_choices(options, flow.session.lang))

    return fill


def _welcome(flow: Flow, c: _Content) -> None:
    """One big Start; the officer's way in small, alone in the far corner."""
    lang = flow.session.lang
    c.actions = [_press(Button.START, lang, "primary")]
    if flow.officer is not None:  # a Jemput Bola visit goes on
        c.corner = _press(Button.SIGN_OUT, lang, "nav")
        c.lines.append(t("officer_visit", lang, officer=flow.officer.officer_id))
    else:
        c.corner = _press(Button.OFFICER, lang, "nav")


def _consent(flow: Flow, c: _Content) -> None:
    s, lang = flow.session, flow.session.lang
    what_key = f"consent_{s.service.value}" if s.service else "consent_new_recording"
    c.lines.extend([t(what_key, lang), *t(c.body_key, lang).split("|")])  # what this service takes
    c.body_key = ""
    c.actions = [_press(Button.AGREE, lang, "primary"), _press(Button.DECLINE, lang)]


def _capture_guide(flow: Flow, c: _Content) -> None:
    s, lang, step = flow.session, flow.session.lang, flow.session.capture.step
    if step is None:
        return
    c.title = t("title_capture_guide", lang, step=s.capture.step_index + 1, steps=len(s.capture.steps),
                what=_what(flow))
    names = ", ".join(t(f"pos_{p}", lang) for p in s.capture.remaining())
    c.lines.append(t(f"guide_{step.modality.value}", lang, fingers=names))
    left, tried = retries_left(s), s.capture.tries > 0 and bool(s.capture.best)
    if tried:
        c.lines.append(t("guide_tried", lang))
    can_go_on = tried and (step_passes(s) or not left)
    singles = step.modality is Modality.FINGER and len(s.capture.remaining()) > 1
    if step.modality is Modality.FINGER:
        c.hands = s.capture.remaining()
    c.actions = _capture_slots(
        _press(Button.BEGIN_CAPTURE, lang, "action" if can_go_on else "primary") if left else None,
        _press(Button.CONTINUE, lang, "primary") if can_go_on else None,
        _press(Button.EXCEPTION, lang),
        _press(Button.SINGLES, lang) if singles else None,
    )


def _capturing(flow: Flow, c: _Content) -> None:
    s, lang = flow.session, flow.session.lang
    if s.capture.step is None:
        return
    c.lines.append(t("body_capturing", lang, what=_what(flow)))
    todo = s.capture.remaining()
    if len(todo) > 1:  # a slap or both eyes: which one now, how far along
        now_at = todo[min(s.capture.progress, len(todo) - 1)]
        c.lines.append(t("capturing_progress", lang, done=s.capture.progress, total=len(todo),
                         position=t(f"pos_{now_at}", lang)))
    c.lines.append(t("capturing_cancel", lang))
    c.body_key = ""


def _capture_result(flow: Flow, c: _Content) -> None:
    s, lang, step = flow.session, flow.session.lang, flow.session.capture.step
    if step is None:
        return
    what = _what(flow)
    c.title = t("title_capture_result", lang, what=what)
    ok, left = step_passes(s), retries_left(s)
    if s.capture.last_error:
        c.lines.append(t("result_device", lang, what=what.lower(), reason=t(f"fail_{s.capture.last_error}", lang)))
    else:
        _quality_lines(flow, c, ok=ok, left=left)
    go_on = ok or (not left and not s.capture.last_error)
    c.actions = _capture_slots(
        _press(Button.RETRY, lang, "action" if go_on else "primary") if left else None,
        _press(Button.CONTINUE, lang, "primary") if go_on else None,
        _press(Button.EXCEPTION, lang),
        _press(Button.SEE_OFFICER, lang, label_key="btn_device_officer") if s.capture.last_error else None,
    )


def _quality_lines(flow: Flow, c: _Content, *, ok: bool, left: int) -> None:
    """Each position's quality in words, what happens next, a tip, and the face for approval."""
    s, lang, step = flow.session, flow.session.lang, flow.session.capture.step
    assert step is not None
    threshold, said = THRESHOLDS[step.modality], []
    for p in s.capture.remaining():  # a bar each, the threshold marked; in words for speech
        quality = s.capture.best[p].quality if p in s.capture.best else 0
        verdict = t("verdict_ok" if quality >= threshold else "verdict_low", lang)
        said.append(t("result_quality", lang, position=t(f"pos_{p}", lang), verdict=verdict,
                      quality=quality, threshold=threshold))
        c.bars.append(Bar(label=t("bar_quality", lang, position=t(f"pos_{p}", lang), verdict=verdict,
                                  quality=quality), value=quality, threshold=threshold, ok=quality >= threshold))
    kept = any(p in s.capture.best for p in s.capture.remaining())
    c.lines.append(t("result_ok" if ok else "result_low" if left else "result_keep" if kept
                     else "result_none", lang, left=left))
    if not ok and left:
        c.lines.append(t(f"tip_{step.modality.value}", lang))
    face = s.capture.best.get("face") if step.modality is Modality.FACE else None
    if face is not None and face.image_format == "png" and face.image.startswith(b"\x89PNG"):
        c.photo = face.image
        if ok:
            c.lines.append(t("result_photo", lang))
    c.say = (*said, *c.lines)


def _exception_picture(flow: Flow, c: _Content) -> None:
    """The hands, or a face with both eyes (as in a mirror), the chosen positions lit."""
    s, lang, step = flow.session, flow.session.lang, flow.session.capture.step
    if step is None or step.modality not in (Modality.FINGER, Modality.IRIS):
        return
    c.lit = tuple(p for p in s.capture.remaining() if p in s.capture.exception_pick)
    c.figure = "hands" if step.modality is Modality.FINGER else "eyes"
    if step.modality is Modality.IRIS:
        c.labels = (t("pos_left_iris", lang), t("pos_right_iris", lang))


def _capture_exception(flow: Flow, c: _Content) -> None:
    """Which: each position a toggle (marked and lit on the picture when chosen), then Next;
    slots fixed so that nothing here lands on a cause of the next screen but a position."""
    s, lang = flow.session, flow.session.lang
    _exception_picture(flow, c)
    toggles: list[Widget | None] = []
    for p in s.capture.remaining():
        picked = p in s.capture.exception_pick
        toggles.append(Widget(id=f"choose:{p}", label=("• " if picked else "") + t(f"pos_{p}", lang),
                              event=Choose(option=p), role="selected" if picked else "action"))
    c.actions = [*toggles, *[None] * (4 - len(toggles)),
                 _press(Button.CONFIRM, lang, "primary" if s.capture.exception_pick else "action",
                        label_key="btn_exception_next"),
                 _press(Button.SEE_OFFICER, lang)]


def _exception_reason(flow: Flow, c: _Content) -> None:
    """Why: the causes that fit this modality (a face is never "missing"), the chosen
    positions named and lit; See an officer where it was on "which"."""
    s, lang, step = flow.session, flow.session.lang, flow.session.capture.step
    if step is None:
        return
    _exception_picture(flow, c)
    names = ", ".join(t(f"pos_{p}", lang) for p in s.capture.remaining() if p in s.capture.exception_pick)
    c.lines.append(t("exception_which", lang, positions=names))
    causes: list[Widget | None] = [Widget(id=f"choose:{cause.value}", label=t(f"cause_{cause.value}", lang),
                                          event=Choose(option=cause.value)) for cause in CAUSES[step.modality]]
    c.actions = [*causes, *[None] * (4 - len(causes)), None, _press(Button.SEE_OFFICER, lang)]


def _review(flow: Flow, c: _Content) -> None:
    s, lang = flow.session, flow.session.lang
    c.lines.extend(_review_lines(flow))
    yes, no = ("selected", "action") if s.disability else ("action", "selected")
    c.actions = [_press(Button.SUBMIT, lang, "primary"), None,
                 _press(Button.DISABILITY, lang, yes), _press(Button.NO_DISABILITY, lang, no)]
    c.say = tuple(line.replace(_group(s.resident.nik), mask(s.resident.nik)) for line in c.lines)  # never aloud in full


def _done(flow: Flow, c: _Content) -> None:
    s, lang = flow.session, flow.session.lang
    done_key = "body_done_no_receipt" if s.receipt.failed else "body_done"
    c.lines.extend(t(done_key, lang, ticket=_group_ticket(s.receipt.ticket)).split("|"))
    c.qr, c.body_key = s.receipt.qr_payload, ""


def _confirm_leave(flow: Flow, c: _Content) -> None:
    lang = flow.session.lang
    c.actions = [_press(Button.STAY, lang, "primary"), None, _press(Button.LEAVE, lang)]


def _see_officer(flow: Flow, c: _Content) -> None:
    s = flow.session
    c.lines.extend(t(f"officer_{s.see_officer_reason or 'declined'}", s.lang, what=_what(flow).lower()).split("|"))
    c.body_key = ""
    if s.see_officer_reason == "declined":  # the officer, when they come, finishes here
        c.actions = [None, None, None, _press(Button.COMPLETE, s.lang)]


def _officer_confirm(flow: Flow, c: _Content) -> None:
    """Assisted completion: what the officer confirms, the exception photo, Confirm."""
    s, lang = flow.session, flow.session.lang
    c.title = t("title_officer_confirm", lang, officer=s.officer_id)
    names = ", ".join(t(f"pos_{p}", lang) for _m, p in open_positions(flow))
    c.lines.extend(t("body_officer_confirm", lang, items=names or "—").split("|"))
    c.lines.append(t(f"photo_{s.sign_off.photo_state or 'none'}", lang))
    sample = s.sign_off.photo
    if sample is not None and sample.image_format == "png" and sample.image.startswith(b"\x89PNG"):
        c.photo = sample.image
    c.body_key = ""
    taking = s.sign_off.photo_state == "taking"
    c.actions = [None if taking else _press(Button.CONFIRM, lang, "primary", label_key="btn_sign_off"), None,
                 None if taking else _press(Button.EXCEPTION_PHOTO, lang)]


def _eligibility(flow: Flow, c: _Content) -> None:
    s, lang = flow.session, flow.session.lang
    c.title = t("title_eligibility", lang, age=s.resident.age)
    c.actions = [_press(Button.MARRIED, lang), _press(Button.NOT_MARRIED, lang)]


def _not_eligible(flow: Flow, c: _Content) -> None:
    s = flow.session
    when = identity.ktp_date(s.resident.birth_date).strftime("%d-%m-%Y")
    c.lines.extend(t("body_not_eligible", s.lang, date=when).split("|"))
    c.body_key = ""


def _status_entry(flow: Flow, c: _Content) -> None:
    if flow.session.status.checking:
        c.lines.append(t("status_checking", flow.session.lang))


def _status_result(flow: Flow, c: _Content) -> None:
    s, lang = flow.session, flow.session.lang
    c.title = t("title_status_result", lang, ticket=_group_ticket(s.status.ticket))
    c.lines.append(t(f"state_{s.status.state}" if s.status.state else "state_unknown", lang))


def _feedback_sent(flow: Flow, c: _Content) -> None:
    """An answer is promised only to a resident who left a contact."""
    s = flow.session
    if s.feedback_contact:
        c.lines.append(t("body_feedback_sent_reply", s.lang, contact=s.feedback_contact))
        c.body_key = ""


def _error(flow: Flow, c: _Content) -> None:
    c.lines.append(t(flow.session.error or "err_store_failed", flow.session.lang))


_CONTENT: dict[Screen, Callable[[Flow, _Content], None]] = {
    Screen.WELCOME: _welcome,
    Screen.MENU: _choosing(MENU_OPTIONS),
    Screen.REPLACEMENT_REASON: _choosing(REPLACEMENT_REASONS),
    Screen.CORRECTION_FIELD: _choosing(CORRECTION_FIELDS),
    Screen.FEEDBACK_CATEGORY: _choosing(FEEDBACK_CATEGORIES),
    Screen.CONSENT: _consent,
    Screen.CAPTURE_GUIDE: _capture_guide,
    Screen.CAPTURING: _capturing,
    Screen.CAPTURE_RESULT: _capture_result,
    Screen.CAPTURE_EXCEPTION: _capture_exception,
    Screen.EXCEPTION_REASON: _exception_reason,
    Screen.REVIEW: _review,
    Screen.DONE: _done,
    Screen.CONFIRM_LEAVE: _confirm_leave,
    Screen.SEE_OFFICER: _see_officer,
    Screen.OFFICER_CONFIRM: _officer_confirm,
    Screen.ELIGIBILITY: _eligibility,
    Screen.NOT_ELIGIBLE: _not_eligible,
    Screen.STATUS_ENTRY: _status_entry,
    Screen.STATUS_RESULT: _status_result,
    Screen.ERROR: _error,
    Screen.FEEDBACK_SENT: _feedback_sent,
}


def _capture_slots(*slots: Widget | None) -> list[Widget | None]:
    """Capture screens, two columns: [capture/try again | next] over [cannot do this | extra].
    Capture and Try again share a place; Next never lands where the next step's guide puts
    anything (its place there is empty); "Cannot do this" is always bottom-left."""
    return list(slots)


def _group_ticket(ticket: str) -> str:
    """As printed on the receipt: 4 + 4."""
    return f"{ticket[:4]} {ticket[4:]}" if len(ticket) == 8 else ticket


def with_preview(flow: Flow, view: View, frame: FacePreview | None) -> View:
    """A face guide or capturing screen with the camera's live frame and its bar: the
    driver's quality and one tip in words ("move closer", "more light", "look at the
    camera"); until the first frame, "the camera is starting". Other screens as they are."""
    if not previewing(flow):
        return view
    lang, threshold = view.lang, THRESHOLDS[Modality.FACE]
    if frame is None:
        bar = Bar(label=t("hint_starting", lang), value=0, threshold=threshold, ok=False)
    else:
        tip = preview_tip(frame)
        bar = Bar(label=t(f"hint_{tip}", lang, quality=frame.quality), value=frame.quality,
                  threshold=threshold, ok=tip == "ok")
    return dataclasses.replace(view, preview=frame, bars=(bar,))


def preview_tip(frame: FacePreview) -> str:
    """The one tip for a live frame (i18n `hint_<tip>`, spoken as `say_hint_<tip>`): the
    driver's hint, or "still" when it is well placed but not yet sharp enough."""
    if frame.hint is FaceHint.OK and frame.quality < THRESHOLDS[Modality.FACE]:
        return "still"
    return frame.hint.value


def utterance(view: View) -> str:
    """What speech reads for a screen: title, text, error, help notice. Long digit runs are
    spaced out so a ticket is read digit by digit ("0 6 3 0 ..."), not as one big number."""
    parts = [view.title, *(view.say or view.lines), view.error, view.notice]
    text = " ".join(p if p[-1] in ".?!…" else p + "." for p in parts if p)
    return re.sub(r"\d[\d ]{3,}\d", lambda m: " ".join(m.group(0).replace(" ", "")), text)


def _group(digits: str) -> str:
    """NIK-style grouping for reading back: 6 · 6 · 4."""
    parts = [digits[:6], digits[6:12], digits[12:]]
    return " ".join(p for p in parts if p)


def _review_lines(flow: Flow) -> list[str]:
    s, lang = flow.session, flow.session.lang
    total = sum(len(st.positions) for st in s.capture.steps)
    captured = sum(1 for r in s.capture.records.values() if r.sample is not None and r.exception is None)
    lines = [
        t("review_service", lang, service=t(f"opt_{s.purpose}", lang)),
        t("review_nik", lang, nik=_group(s.resident.nik)),  # in full, to catch a typo (masked when said)
        t("review_captured", lang, count=captured, total=total),
    ]
    excepted = [r for r in s.capture.records.values() if r.exception]
    if excepted:
        items = ", ".join(f"{t('pos_' + r.position, lang)} ({t('opt_' + str(r.exception), lang)})" for r in excepted)
        lines.append(t("review_exceptions", lang, items=items))
    if s.sign_off.confirmed_at is not None:
        photo = "review_photo" if s.sign_off.photo is not None else "review_no_photo"
        lines.append(t("review_signed_off", lang, officer=s.officer_id) + " " + t(photo, lang))
    if s.service is Service.CORRECTION:
        lines.append(t("review_correction", lang, field=t(f"opt_{s.correction_field}", lang), value=s.correction_value))
    if s.assisted:
        lines.append(t("review_assisted", lang, officer=s.officer_id))
    lines.append(t("review_disability", lang))
    return lines


_BODY_KEYS = {k for k in STRINGS if k.startswith("body_")}
_BACK_SCREENS = {key for key in TABLE if key[1] is Button.BACK}
CAPTURE_SCREENS = {Screen.CAPTURE_GUIDE, Screen.CAPTURE_RESULT}  # one after the other, slots alike
CAPTURE_SLOT_LABELS = ("btn_begin_capture", "btn_retry", "btn_continue", "btn_exception", "btn_singles",
                       "btn_device_officer")
SLOT_SCREENS = {Screen.CAPTURE_GUIDE, Screen.CAPTURE_RESULT, Screen.REVIEW, Screen.SEE_OFFICER, Screen.OFFICER_CONFIRM,
                Screen.CAPTURE_EXCEPTION, Screen.EXCEPTION_REASON}
