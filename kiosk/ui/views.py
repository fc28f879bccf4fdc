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
from dataclasses import dataclass

from anjungan.nik import mask
from anjungan.packet.model import Modality, Service
from kiosk.flow import identity
from kiosk.flow.assisted import open_positions
from kiosk.flow.capture import EXCEPTION_REASONS, retries_left, step_passes
from kiosk.flow.machine import (
    CORRECTION_FIELDS,
    FEEDBACK_CATEGORIES,
    MENU_OPTIONS,
    NO_HOME,
    REPLACEMENT_REASONS,
    TABLE,
    Flow,
)
from kiosk.flow.model import Button, Char, Choose, Digit, Event, Press, Screen, SetLanguage
from kiosk.flow.plan import THRESHOLDS
from kiosk.i18n import STRINGS, t

KEYPAD_SCREENS = {Screen.NIK, Screen.KK, Screen.OFFICER_ID, Screen.OFFICER_PIN, Screen.STATUS_ENTRY}
KEYBOARD_SCREENS = {Screen.CORRECTION_VALUE, Screen.FEEDBACK_TEXT}
KEYBOARD_ROWS = ("1234567890/", "QWERTYUIOP-", "ASDFGHJKL.,", "ZXCVBNM")  # + space, delete, next


@dataclass(frozen=True, kw_only=True)
class Widget:
    id: str
    label: str
    event: Event
    role: str = "action"  # "primary" | "action" | "key" | "nav" | "top" | "selected"


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
    hand_labels: tuple[str, str] = ("", "")  # under the left and the right hand
    say: tuple[str, ...] = ()  # what speech reads instead of `lines`, when they differ
    large_text: bool = False
    high_contrast: bool = False
    lang: str = "id"

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
    digits = [Widget(id=f"digit:{d}", label=d, event=Digit(digit=d), role="key") for d in "123456789"]
    return (
        *digits,
        _press(Button.BACKSPACE, lang, "key"),
        Widget(id="digit:0", label="0", event=Digit(digit="0"), role="key"),
        _press(Button.CONFIRM, lang, "primary"),
    )


def _keyboard(lang: str) -> tuple[Widget, ...]:
    keys = [
        Widget(id=f"char:{c.lower()}", label=c, event=Char(char=c.lower()), role="key")
        for row in KEYBOARD_ROWS for c in row
    ]
    keys.append(Widget(id="char: ", label=t("btn_space", lang), event=Char(char=" "), role="key"))
    keys.append(_press(Button.BACKSPACE, lang, "key"))
    keys.append(_press(Button.CONFIRM, lang, "primary"))
    return tuple(keys)


def build_view(flow: Flow, now: float) -> View:
    s, scr, lang = flow.session, flow.screen, flow.session.lang
    title, lines, typed_field = t(f"title_{scr.value}", lang), [], None
    actions: list[Widget | None] = []
    photo, hands = b"", tuple[str, ...]()
    say: tuple[str, ...] = ()
    body_key = f"body_{scr.value}"
    qr = ""
    step = s.capture.step
    what = t(f"what_{step.modality.value}", lang) if step else ""

    corner = None
    if scr is Screen.WELCOME:  # one big Start; the officer's way in small, in the far corner
        actions = [_press(Button.START, lang, "primary")]
        if flow.officer is not None:
            corner = _press(Button.SIGN_OUT, lang, "nav")
            lines.append(t("officer_visit", lang, officer=flow.officer.officer_id))
        else:
            corner = _press(Button.OFFICER, lang, "nav")
    elif scr in (Screen.OFFICER_ID, Screen.OFFICER_PIN) and flow.pin_lock.locked(now):
        lines.append(t("err_pin_locked", lang, minutes=_minutes_left(flow, now)))
    elif scr is Screen.MENU:
        actions = list(_choices(MENU_OPTIONS, lang))
    if scr in (Screen.WELCOME, Screen.MENU) and not flow.printer_ok:
        lines.append(t("printer_down", lang))
    elif scr is Screen.REPLACEMENT_REASON:
        actions = list(_choices(REPLACEMENT_REASONS, lang))
    elif scr is Screen.CORRECTION_FIELD:
        actions = list(_choices(CORRECTION_FIELDS, lang))
    elif scr is Screen.FEEDBACK_CATEGORY:
        actions = list(_choices(FEEDBACK_CATEGORIES, lang))
    elif scr is Screen.CONSENT:
        what_key = f"consent_{s.service.value}" if s.service else "consent_new_recording"
        lines.extend([t(what_key, lang), *t(body_key, lang).split("|")])  # what this service takes
        body_key = ""
        actions = [_press(Button.AGREE, lang, "primary"), _press(Button.DECLINE, lang)]
    elif scr is Screen.CAPTURE_GUIDE and step:
        title = t("title_capture_guide", lang, step=s.capture.step_index + 1, steps=len(s.capture.steps), what=what)
        names = ", ".join(t(f"pos_{p}", lang) for p in s.capture.remaining())
        lines.append(t(f"guide_{step.modality.value}", lang, fingers=names))
        left, tried = retries_left(s), s.capture.tries > 0 and bool(s.capture.best)
        if tried:
            lines.append(t("guide_tried", lang))
        can_go_on = tried and (step_passes(s) or not left)
        singles = step.modality is Modality.FINGER and len(s.capture.remaining()) > 1
        if step.modality is Modality.FINGER:
            hands = s.capture.remaining()
        actions = _capture_slots(
            _press(Button.BEGIN_CAPTURE, lang, "action" if can_go_on else "primary") if left else None,
            _press(Button.CONTINUE, lang, "primary") if can_go_on else None,
            _press(Button.EXCEPTION, lang),
            _press(Button.SINGLES, lang) if singles else None,
        )
    elif scr is Screen.CAPTURING and step:
        lines.append(t("body_capturing", lang, what=what))
        todo = s.capture.remaining()
        if len(todo) > 1:  # a slap or both eyes: which one now, how far along
            now_at = todo[min(s.capture.progress, len(todo) - 1)]
            lines.append(t("capturing_progress", lang, done=s.capture.progress, total=len(todo),
                           position=t(f"pos_{now_at}", lang)))
        lines.append(t("capturing_cancel", lang))
        body_key = ""
    elif scr is Screen.CAPTURE_RESULT and step:
        title = t("title_capture_result", lang, what=what)
        ok, left = step_passes(s), retries_left(s)
        if s.capture.last_error:
            lines.append(t("result_device", lang, what=what.lower(), reason=t(f"fail_{s.capture.last_error}", lang)))
        else:
            for p in s.capture.remaining():
                quality = s.capture.best[p].quality if p in s.capture.best else 0
                verdict = t("verdict_ok" if quality >= THRESHOLDS[step.modality] else "verdict_low", lang)
                lines.append(t("result_quality", lang, position=t(f"pos_{p}", lang), verdict=verdict,
                               quality=quality, threshold=THRESHOLDS[step.modality]))
            kept = any(p in s.capture.best for p in s.capture.remaining())
            lines.append(t("result_ok" if ok else "result_low" if left else "result_keep" if kept
                           else "result_none", lang, left=left))
            if not ok and left:
                lines.append(t(f"tip_{step.modality.value}", lang))
            face = s.capture.best.get("face") if step.modality is Modality.FACE else None
            if face is not None and face.image_format == "png" and face.image.startswith(b"\x89PNG"):
                photo = face.image
                if ok:
                    lines.append(t("result_photo", lang))
        go_on = ok or (not left and not s.capture.last_error)
        actions = _capture_slots(
            _press(Button.RETRY, lang, "action" if go_on else "primary") if left else None,
            _press(Button.CONTINUE, lang, "primary") if go_on else None,
            _press(Button.EXCEPTION, lang),
            _press(Button.SEE_OFFICER, lang, label_key="btn_device_officer") if s.capture.last_error else None,
        )
    elif scr is Screen.CAPTURE_EXCEPTION:
        actions.append(_press(Button.SEE_OFFICER, lang, "primary"))
        for p in s.capture.remaining():
            picked = p in s.capture.exception_pick
            actions.append(Widget(id=f"choose:{p}", label=("• " if picked else "") + t(f"pos_{p}", lang),
                                  event=Choose(option=p), role="selected" if picked else "action"))
        actions.extend(_choices(EXCEPTION_REASONS, lang))
    elif scr is Screen.REVIEW:
        lines.extend(_review_lines(flow))
        yes, no = ("selected", "action") if s.disability else ("action", "selected")
        actions = [_press(Button.SUBMIT, lang, "primary"), None,
                   _press(Button.DISABILITY, lang, yes), _press(Button.NO_DISABILITY, lang, no)]
        say = tuple(line.replace(_group(s.resident.nik), mask(s.resident.nik)) for line in lines)  # never aloud in full
    elif scr is Screen.DONE:
        done_key = "body_done_no_receipt" if s.receipt.failed else "body_done"
        lines.extend(t(done_key, lang, ticket=_group_ticket(s.receipt.ticket)).split("|"))
        qr, body_key = s.receipt.qr_payload, ""
    elif scr is Screen.ELIGIBILITY:
        title = t("title_eligibility", lang, age=s.resident.age)
        actions = [_press(Button.MARRIED, lang), _press(Button.NOT_MARRIED, lang)]
    elif scr is Screen.NOT_ELIGIBLE:
        when = identity.ktp_date(s.resident.birth_date).strftime("%d-%m-%Y")
        lines.extend(t("body_not_eligible", lang, date=when).split("|"))
        body_key = ""
    elif scr is Screen.CONFIRM_LEAVE:
        actions = [_press(Button.STAY, lang, "primary"), None, _press(Button.LEAVE, lang)]
    elif scr is Screen.SEE_OFFICER:
        lines.extend(t(f"officer_{s.see_officer_reason or 'declined'}", lang, what=what.lower()).split("|"))
        body_key = ""
        if s.see_officer_reason == "declined":  # the officer, when they come, finishes here
            actions = [None, None, None, _press(Button.COMPLETE, lang)]
    elif scr is Screen.OFFICER_CONFIRM:
        title = t("title_officer_confirm", lang, officer=s.officer_id)
        names = ", ".join(t(f"pos_{p}", lang) for _m, p in open_positions(flow))
        lines.extend(t("body_officer_confirm", lang, items=names or "—").split("|"))
        lines.append(t(f"photo_{s.sign_off.photo_state or 'none'}", lang))
        sample = s.sign_off.photo
        if sample is not None and sample.image_format == "png" and sample.image.startswith(b"\x89PNG"):
            photo = sample.image
        body_key = ""
        taking = s.sign_off.photo_state == "taking"
        actions = [None if taking else _press(Button.CONFIRM, lang, "primary", label_key="btn_sign_off"), None,
                   None if taking else _press(Button.EXCEPTION_PHOTO, lang)]
    elif scr is Screen.STATUS_ENTRY and s.status.checking:
        lines.append(t("status_checking", lang))
    elif scr is Screen.STATUS_RESULT:
        title = t("title_status_result", lang, ticket=_group_ticket(s.status.ticket))
        lines.append(t(f"state_{s.status.state}" if s.status.state else "state_unknown", lang))
    elif scr is Screen.ERROR:
        lines.append(t(s.error or "err_store_failed", lang))
    if body_key and body_key in _BODY_KEYS:
        lines = [*t(body_key, lang).split("|"), *lines]

    keys: tuple[Widget, ...] = ()
    columns = 3
    if scr in KEYPAD_SCREENS:
        keys = _keypad(lang)
        typed_field = "•" * len(s.typed) if scr is Screen.OFFICER_PIN else _group(s.typed)
    elif scr in KEYBOARD_SCREENS:
        keys, columns, typed_field = _keyboard(lang), 11, s.typed

    back = _press(Button.BACK, lang, "nav") if (scr, Button.BACK) in _BACK_SCREENS else None
    home = _press(Button.HOME, lang, "nav") if scr not in NO_HOME else None
    help_ = _press(Button.HELP, lang, "selected" if s.help_called else "nav")
    other = "en" if lang == "id" else "id"
    top = (
        Widget(id=f"lang:{other}", label=t(f"lang_{other}", lang), event=SetLanguage(lang=other), role="top"),
        _press(Button.LARGE_TEXT, lang, "selected" if s.large_text else "top"),
        _press(Button.CONTRAST, lang, "selected" if s.high_contrast else "top"),
        _press(Button.AUDIO, lang, "selected" if s.speech else "top",
               label_key="btn_audio_on" if s.speech else "btn_audio"),
    )
    banner, banner_action = "", None
    if flow.warned and flow.deadline is not None:
        banner = t("timeout_warning", lang, seconds=max(0, round(flow.deadline - now)))
        banner_action = _press(Button.EXTEND, lang, "primary")
    notices = [t("officer_coming" if s.officer_coming else "help_called", lang)] if s.help_called else []
    if s.assisted:
        notices.append(t("assisted_banner", lang))
    return View(
        screen=scr, title=title, lines=tuple(lines), field=typed_field,
        error=t(s.input_error, lang, left=flow.pin_lock.left(), minutes=_minutes_left(flow, now))
        if s.input_error else "",
        actions=tuple(actions), action_columns=2 if scr in SLOT_SCREENS else 0, keys=keys,
        key_columns=columns, back=back, corner=corner, help=help_, home=home, top=top, notice=" · ".join(notices),
        banner=banner, banner_action=banner_action, qr=qr, photo=photo, hands=hands,
        hand_labels=(t("hand_left", lang), t("hand_right", lang)), say=say, large_text=s.large_text,
        high_contrast=s.high_contrast, lang=lang,
    )


def _minutes_left(flow: Flow, now: float) -> int:
    return max(1, -(-round(flow.pin_lock.locked_until - now) // 60))


def _capture_slots(*slots: Widget | None) -> list[Widget | None]:
    """Capture screens, two columns: [capture/try again | next] over [cannot do this | extra].
    Capture and Try again share a place; Next never lands where the next step's guide puts
    anything (its place there is empty); "Cannot do this" is always bottom-left."""
    return list(slots)


def _group_ticket(ticket: str) -> str:
    """As printed on the receipt: 4 + 4."""
    return f"{ticket[:4]} {ticket[4:]}" if len(ticket) == 8 else ticket


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
SLOT_SCREENS = {Screen.CAPTURE_GUIDE, Screen.CAPTURE_RESULT, Screen.REVIEW, Screen.SEE_OFFICER, Screen.OFFICER_CONFIRM}
