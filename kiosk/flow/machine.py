"""The resident's flow as a transition table.

Theory of operation: `Flow.handle(event, now)` looks up (screen, event.key) in `TABLE`; the
handler updates the session, may emit actions, and returns the next screen. An event with no
entry is a `FlowError` (the UI only offers what the table accepts). A few events are global:
language, large text, extend, home, and `Tick`, which runs the screen's inactivity timer:
warning `WARN_LEAD_S` before the deadline, then an idle reset that drops the session whole.
Results from the shell (captures, storage, status) carry the token of the request; a stale
token (the session was reset meanwhile) is ignored. A status lookup has a deadline the flow
keeps: the first `Tick` past it answers "centre unreachable" and tells the shell to forget
the query (`ForgetLookup`). Time is passed in, never read.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from anjungan.contact import ContactError, parse_contact
from anjungan.packet.model import Service
from kiosk.errors import FlowError
from kiosk.flow import assisted, identity
from kiosk.flow import capture as cap
from kiosk.flow import exceptions as exc
from kiosk.flow import pins as officer_pins
from kiosk.flow.model import (
    UNREACHABLE,
    Action,
    Button,
    CallOfficer,
    CaptureDone,
    CaptureFailed,
    CaptureProgress,
    Char,
    Choose,
    Digit,
    Event,
    EventKey,
    ForgetLookup,
    Headphones,
    Hush,
    LookupStatus,
    OfficerComing,
    Page,
    Press,
    PrinterState,
    PrintReceipt,
    Purpose,
    ReadScreen,
    ReceiptFailed,
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
from kiosk.flow.pins import OfficerVisit, PinLock
from kiosk.flow.session import Session
from kiosk.ticket import TICKET_LEN, parse_qr, ticket_ok

LANGS = ("id", "en")
WARN_LEAD_S = 30.0  # every timeout is announced this long before it fires (>= 20 s)
TIMEOUT_S = 90.0
SHORT_TIMEOUT_S = 45.0  # screens that only show a result
NO_TIMER = {Screen.WELCOME, Screen.CAPTURING, Screen.SUBMITTING}
SHORT_TIMER = {
    Screen.DONE, Screen.STATUS_RESULT, Screen.FEEDBACK_SENT, Screen.CONSENT_DECLINED, Screen.ERROR,
    Screen.NOT_ELIGIBLE,
}
NO_HOME = {Screen.WELCOME, Screen.CAPTURING, Screen.SUBMITTING, Screen.CONFIRM_LEAVE}
# Home leaves these without asking: the resident's work is saved, sent or never started.
LEAVE_FREELY = {
    Screen.MENU, Screen.DONE, Screen.FEEDBACK_SENT, Screen.STATUS_RESULT, Screen.CONSENT_DECLINED,
    Screen.NOT_ELIGIBLE,
}
REPLACEMENT_REASONS = ("lost", "damaged")
CORRECTION_FIELDS = ("name", "address", "birth_date", "religion", "marital_status", "occupation")
FEEDBACK_CATEGORIES = ("service", "waiting", "facility", "staff", "other")
MENU_OPTIONS = tuple(Purpose)
TEXT_MAX = 200
TYPED_MAX = {
    Screen.NIK: identity.NIK_LEN, Screen.KK: identity.KK_LEN, Screen.STATUS_ENTRY: TICKET_LEN,
    Screen.OFFICER_ID: officer_pins.OFFICER_ID_DIGITS[1], Screen.OFFICER_PIN: officer_pins.PIN_DIGITS[1],
}


@dataclass(frozen=True, kw_only=True)
class FlowConfig:
    default_lang: str = "id"
    officers: Mapping[str, str] = field(default_factory=dict)  # officer id -> PIN hash
    utc_offset_h: float = 8.0  # WITA (Denpasar): the resident's "today" for their age
    speech: bool = False  # every session starts with speech on (`--speech`); Audio toggles it
    lookup_timeout_s: float = 6.0  # how long a resident waits for the centre's status answer
    pin_lock: PinLock = PinLock()  # the officer-PIN lockout as the shell last saved it

    def __post_init__(self) -> None:
        if self.default_lang not in LANGS:
            raise FlowError(f"language must be one of {', '.join(LANGS)}")
        if not self.lookup_timeout_s >= 0:
            raise FlowError("lookup timeout must be 0 s or more")


@dataclass(frozen=True, kw_only=True)
class PendingLookup:
    """The status lookup the flow waits for: its request's token, its ticket, its deadline."""

    token: int
    ticket: str
    deadline: float


class Flow:
    def __init__(self, config: FlowConfig | None = None) -> None:
        self.config = config or FlowConfig()
        self.pin_lock = self.config.pin_lock  # outlives sessions; the shell persists each change
        self.officer: OfficerVisit | None = None  # signed in across sessions (Jemput Bola)
        self._tokens = itertools.count(1)
        self.screen = Screen.WELCOME
        self.page = 0  # of a screen laid out on pages (the layout keeps it within them)
        self.session = self._new_session()
        self.token = next(self._tokens)  # of the request the flow waits for, if any
        self.deadline: float | None = None
        self.warned = False
        self.lookup: PendingLookup | None = None  # a status lookup out, with its deadline
        self.printer_ok = True  # told before a session starts: no promise of a receipt if not
        self._out: list[Action] = []

    # ---- the one entry point ---------------------------------------------------------------
    def handle(self, event: Event, now: float) -> list[Action]:
        self._out = []
        if isinstance(event, Tick):
            self._tick(now)
        elif isinstance(event, PrinterState):
            self.printer_ok = event.ok
        elif isinstance(event, Headphones):
            self._headphones(event.plugged, now)
        elif isinstance(event, OfficerComing):
            if self.session.help_called and not self.session.officer_coming:
                self.session.officer_coming = True
                self._say("officer_coming")
        elif isinstance(event, CaptureDone | CaptureFailed | CaptureProgress | Stored | StoreFailed | StatusAnswer
                        | ReceiptFailed):
            if event.token == self.token:
                self._dispatch(event, now)
        else:
            self._user(event, now)
        return self._out

    @property
    def warn_at(self) -> float | None:
        return None if self.deadline is None else self.deadline - WARN_LEAD_S

    # ---- internals ---------------------------------------------------------------------------
    def emit(self, action: Action) -> None:
        self._out.append(action)

    def _user(self, event: Event, now: float) -> None:
        s = self.session
        if self.officer is not None:
            self.officer = replace(self.officer, last_active=now)
        if isinstance(event, Touch):
            pass
        elif isinstance(event, Page):
            self.page = max(0, self.page + event.step)
        elif isinstance(event, SetLanguage):
            if event.lang not in LANGS:
                raise FlowError(f"unknown language {event.lang!r}")
            s.lang, self.page = event.lang, 0  # the text runs differently: from the first page
            self._read(self.screen)
        elif isinstance(event, Press) and event.button is Button.LARGE_TEXT:
            s.large_text, self.page = not s.large_text, 0
        elif isinstance(event, Press) and event.button is Button.CONTRAST:
            s.high_contrast = not s.high_contrast
        elif isinstance(event, Press) and event.button is Button.AUDIO:
            s.speech, s.speech_by_jack = not s.speech, False  # the resident's choice from now on
            self.emit(ReadScreen(screen=self.screen) if s.speech else Hush())
        elif isinstance(event, Press) and event.button is Button.HELP:
            s.help_called = True
            self.emit(CallOfficer(screen=self.screen.value, reason="help"))
            self._say("help_called")
        elif isinstance(event, Press) and event.button is Button.EXTEND:
            if self.deadline is None:
                raise FlowError(f"nothing to extend on {self.screen.value}")
        elif isinstance(event, Press) and event.button is Button.HOME:
            if self.screen in NO_HOME:
                raise FlowError(f"no way home from {self.screen.value}")
            if self.screen in LEAVE_FREELY or not self._holds_work():
                self._reset("home")
                return
            s.leave_from = self.screen
            self._enter(Screen.CONFIRM_LEAVE, now)
            return
        else:
            self._dispatch(event, now)
            return
        self._arm(now)  # any touch is activity

    def _headphones(self, plugged: bool, now: float) -> None:
        """Headphones in: speech on for this session (a new session starts as configured);
        out again: off, unless the resident chose it with Audio. Plugging in is activity."""
        s = self.session
        if plugged and not s.speech:
            s.speech, s.speech_by_jack = True, True
            self.emit(ReadScreen(screen=self.screen))
        elif not plugged and s.speech_by_jack:
            s.speech, s.speech_by_jack = False, False
            self.emit(Hush())
        if self.deadline is not None:
            self._arm(now)

    def _holds_work(self) -> bool:
        """Anything typed, chosen or captured that one tap on Home would throw away (a status
        check or feedback with nothing typed yet holds nothing)."""
        s = self.session
        return bool(s.typed or s.resident.nik or s.service or s.capture.records or s.capture.best or s.receipt.ticket
                    or s.feedback_text)

    def _dispatch(self, event: Event, now: float) -> None:
        handler = TABLE.get((self.screen, event.key))
        if handler is None:
            raise FlowError(f"no transition for {event.key} on screen {self.screen.value}")
        before, error_before = self.screen, self.session.input_error
        after = handler(self, event, now)
        if after is Screen.WELCOME and before is not Screen.WELCOME:
            # leaving for the welcome screen always drops the session
            self._reset("home" if before is Screen.CONFIRM_LEAVE else "back")
            return
        if after is before:
            if self.session.input_error and self.session.input_error != error_before:
                self._say(self.session.input_error)
            self._arm(now)
        else:
            self._enter(after, now)

    def _enter(self, screen: Screen, now: float) -> None:
        self.screen, self.page = screen, 0
        self.session.input_error = ""
        self._read(screen)
        self._arm(now)

    def _read(self, screen: Screen) -> None:
        if self.session.speech:
            self.emit(ReadScreen(screen=screen))

    def _say(self, key: str) -> None:
        if self.session.speech:
            self.emit(Speak(key=key, lang=self.session.lang))

    def _arm(self, now: float) -> None:
        self.warned = False
        if self.screen in NO_TIMER:
            self.deadline = None
        elif self.screen is Screen.DONE and self.session.receipt.failed:
            self.deadline = now + TIMEOUT_S  # no receipt: time to note the ticket down
        else:
            self.deadline = now + (SHORT_TIMEOUT_S if self.screen in SHORT_TIMER else TIMEOUT_S)

    def _tick(self, now: float) -> None:
        if self.officer is not None and self.officer.idle(now):
            self.sign_out()
        if self.lookup is not None and now >= self.lookup.deadline:
            self._expire_lookup(now)
            return
        if self.deadline is None:
            return
        if now >= self.deadline:
            self._reset("done" if self.screen is Screen.DONE else "idle")
        elif now >= self.deadline - WARN_LEAD_S and not self.warned:
            self.warned = True
            self.emit(TimeoutWarning(screen=self.screen))
            self._say("say_timeout_warning")

    def _expire_lookup(self, now: float) -> None:
        """No answer by the deadline: the resident hears the centre is unreachable; a late
        answer carries a stale token and is ignored (and the shell forgets the query)."""
        lookup, self.lookup = self.lookup, None
        assert lookup is not None
        self.new_token()
        self.emit(ForgetLookup(token=lookup.token, ticket=lookup.ticket, expired=True))
        if (self.screen, StatusAnswer) in TABLE:  # elsewhere the screen has moved on: dropped
            self._dispatch(StatusAnswer(token=lookup.token, ticket=lookup.ticket, state=UNREACHABLE), now)

    def start_lookup(self, now: float, ticket: str, kiosk_id: str = "", packet_id: str = "") -> None:
        token = self.new_token()  # abandons a lookup still out
        self.lookup = PendingLookup(token=token, ticket=ticket, deadline=now + self.config.lookup_timeout_s)
        self.emit(LookupStatus(token=token, ticket=ticket, kiosk_id=kiosk_id, packet_id=packet_id))

    def _reset(self, reason: str) -> None:
        """Drop the session whole: a new object, a new token, the welcome screen (the shell
        forgets any lookup out on `SessionWiped`)."""
        self.session = self._new_session()
        self.token = next(self._tokens)
        self.screen, self.page = Screen.WELCOME, 0
        self.deadline = None
        self.warned = False
        self.lookup = None
        self.emit(SessionWiped(reason=reason))

    def _new_session(self) -> Session:
        s = Session(lang=self.config.default_lang, speech=self.config.speech)
        if self.officer is not None:  # the officer's visit goes on: the next resident is assisted too
            s.assisted, s.officer_id = True, self.officer.officer_id
        return s

    def sign_out(self) -> None:
        """The officer's visit ends (Sign out, or idle): the next session is the resident's own."""
        self.officer = None
        if self.screen is Screen.WELCOME:
            self.session.assisted, self.session.officer_id = False, ""

    def set_pin_lock(self, lock: PinLock) -> None:
        if lock != self.pin_lock:
            self.pin_lock = lock
            self.emit(SavePinLock(lock=lock))

    def new_token(self) -> int:
        """A new request: the one waited for so far is abandoned (a lookup's query forgotten)."""
        if self.lookup is not None:
            lookup, self.lookup = self.lookup, None
            self.emit(ForgetLookup(token=lookup.token, ticket=lookup.ticket, expired=False))
        self.token = next(self._tokens)
        return self.token

    def today(self, now: float) -> dt.date:
        tz = dt.timezone(dt.timedelta(hours=self.config.utc_offset_h))
        return dt.datetime.fromtimestamp(now, tz).date()


# ---- handlers: (flow, event, now) -> next screen ---------------------------------------------
Handler = Callable[[Flow, Event, float], Screen]


def _to(screen: Screen) -> Handler:
    return lambda _f, _e, _n: screen


def _start(f: Flow, _e: Event, _n: float) -> Screen:
    return Screen.MENU


def _keypad(screen: Screen) -> tuple[Handler, Handler]:
    """Digit and backspace handlers for a keypad screen, with as-you-type checks."""

    def check(f: Flow, now: float) -> None:
        s = f.session
        if screen is Screen.NIK:
            s.input_error = identity.nik_problem(s.typed, f.today(now)) or ""
        elif screen is Screen.STATUS_ENTRY:
            s.input_error = ticket_problem(s.typed) if len(s.typed) == TICKET_LEN else ""
        else:
            s.input_error = ""

    def digit(f: Flow, e: Event, now: float) -> Screen:
        assert isinstance(e, Digit)
        if len(f.session.typed) < TYPED_MAX[screen]:
            f.session.typed += e.digit
        check(f, now)
        return screen

    def backspace(f: Flow, _e: Event, now: float) -> Screen:
        f.session.typed = f.session.typed[:-1]
        check(f, now)
        return screen

    return digit, backspace


def _text_char(screen: Screen) -> Handler:
    def char(f: Flow, e: Event, _n: float) -> Screen:
        assert isinstance(e, Char)
        if len(f.session.typed) < TEXT_MAX:
            f.session.typed += e.char
        f.session.input_error = ""
        return screen

    return char


def _text_backspace(screen: Screen) -> Handler:
    def backspace(f: Flow, _e: Event, _n: float) -> Screen:
        f.session.typed = f.session.typed[:-1]
        return screen

    return backspace


def _officer_id_confirm(f: Flow, _e: Event, now: float) -> Screen:
    s = f.session
    if f.pin_lock.locked(now):
        s.input_error = "err_pin_locked"
        return Screen.OFFICER_ID
    lo, hi = officer_pins.OFFICER_ID_DIGITS
    if not lo <= len(s.typed) <= hi:
        s.input_error = "err_officer_id"
        return Screen.OFFICER_ID
    s.officer_id, s.typed = s.typed, ""
    return Screen.OFFICER_PIN


def _officer_pin_confirm(f: Flow, _e: Event, now: float) -> Screen:
    s = f.session
    pin, s.typed = s.typed, ""
    if f.pin_lock.locked(now):  # not even checked: a locked kiosk gives away nothing
        s.input_error = "err_pin_locked"
        return Screen.OFFICER_PIN
    if officer_pins.verify_pin(f.config.officers, s.officer_id, pin):
        f.set_pin_lock(PinLock())
        s.assisted = True
        f.officer = OfficerVisit(officer_id=s.officer_id, last_active=now)
        return assisted.signed_in(f)
    f.set_pin_lock(f.pin_lock.failed(now))
    if f.pin_lock.locked(now):
        return assisted.sign_in_abandoned(f)
    s.input_error = "err_pin_wrong"
    return Screen.OFFICER_PIN


def _sign_out(f: Flow, _e: Event, _n: float) -> Screen:
    if f.officer is None:
        raise FlowError("no officer is signed in")
    f.sign_out()
    return Screen.WELCOME


def _officer_back(f: Flow, _e: Event, _n: float) -> Screen:
    f.session.typed, f.session.officer_id = "", ""
    return Screen.OFFICER_ID


def _menu_choose(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, Choose)
    try:
        purpose = Purpose(e.option)
    except ValueError:
        raise FlowError(f"unknown service {e.option!r}") from None
    f.session.purpose = purpose
    f.session.typed = ""
    return {
        Purpose.NEW_RECORDING: Screen.NIK,
        Purpose.REPLACEMENT: Screen.REPLACEMENT_REASON,
        Purpose.CORRECTION: Screen.CORRECTION_FIELD,
        Purpose.STATUS: Screen.STATUS_ENTRY,
        Purpose.FEEDBACK: Screen.FEEDBACK_CATEGORY,
    }[purpose]


def _pick(options: tuple[str, ...], attr: str, then: Screen) -> Handler:
    def handler(f: Flow, e: Event, _n: float) -> Screen:
        assert isinstance(e, Choose)
        if e.option not in options:
            raise FlowError(f"unknown option {e.option!r}")
        setattr(f.session, attr, e.option)
        f.session.typed = ""
        return then

    return handler


def _correction_confirm(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    if not s.typed.strip():
        s.input_error = "err_empty"
        return Screen.CORRECTION_VALUE
    s.correction_value, s.typed = s.typed.strip(), ""
    return Screen.NIK


def _back_from_nik(f: Flow, _e: Event, _n: float) -> Screen:
    f.session.typed = f.session.correction_value if f.session.service is Service.CORRECTION else ""
    return {
        Service.REPLACEMENT: Screen.REPLACEMENT_REASON,
        Service.CORRECTION: Screen.CORRECTION_VALUE,
    }.get(f.session.service or Service.NEW_RECORDING, Screen.MENU)


def _nik_confirm(f: Flow, _e: Event, now: float) -> Screen:
    s = f.session
    facts = identity.check_nik(s.typed, f.today(now))
    if isinstance(facts, str):
        s.input_error = facts
        return Screen.NIK
    s.resident.nik, s.typed = s.typed, s.resident.kk  # the KK as typed before a Back, if any
    s.resident.age, s.resident.sex, s.resident.birth_date = facts.age, facts.sex, facts.birth_date
    if s.service is Service.NEW_RECORDING and identity.needs_marriage(facts.age):
        return Screen.ELIGIBILITY
    return Screen.KK


def _married(answer: bool) -> Handler:
    """Under 17: married (or ever married) goes on to the KK; never married is told kindly
    when to come back."""

    def handler(f: Flow, _e: Event, _n: float) -> Screen:
        s = f.session
        s.resident.married = answer
        if not answer:
            return Screen.NOT_ELIGIBLE
        s.typed = s.resident.kk  # the KK as typed before a Back, if any
        return Screen.KK

    return handler


def _kk_confirm(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    problem = identity.check_kk(s.typed)
    if problem:
        s.input_error = problem
        return Screen.KK
    s.resident.kk, s.typed = s.typed, ""
    return Screen.CONSENT


def _kk_back(f: Flow, _e: Event, _n: float) -> Screen:
    """Back to the NIK as it was typed (checked again on Next); the KK typed so far waits for
    the way forward again: nothing is typed twice. Under 17, back to the question first."""
    s = f.session
    if s.resident.married:
        s.resident.kk, s.typed = s.typed, ""
        return Screen.ELIGIBILITY
    s.resident.kk, s.typed, s.resident.nik = s.typed, s.resident.nik, ""
    return Screen.NIK


def _eligibility_back(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    s.resident.married, s.typed, s.resident.nik = False, s.resident.nik, ""
    return Screen.NIK


def _consent_back(f: Flow, _e: Event, _n: float) -> Screen:
    f.session.typed = f.session.resident.kk
    return Screen.KK


def _stay(f: Flow, _e: Event, _n: float) -> Screen:
    back = f.session.leave_from
    assert back is not None
    f.session.leave_from = None
    return back


def _receipt_failed(f: Flow, _e: Event, _n: float) -> Screen:
    f.session.receipt.failed = True
    return Screen.DONE


def _disability(answer: bool) -> Handler:
    """The review asks the question; Yes and No each set the answer (never a toggle)."""

    def handler(f: Flow, _e: Event, _n: float) -> Screen:
        f.session.disability = answer
        return Screen.REVIEW

    return handler


def _submit(f: Flow, _e: Event, _n: float) -> Screen:
    f.emit(StorePacket(token=f.new_token()))
    return Screen.SUBMITTING


def _stored(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, Stored)
    s = f.session
    if s.purpose is None:
        raise FlowError("a packet was stored with no service chosen")
    s.receipt.ticket, s.receipt.qr_payload = e.ticket, e.qr_payload
    f.emit(PrintReceipt(ticket=e.ticket, qr_payload=e.qr_payload, lang=s.lang, purpose=s.purpose))
    return Screen.DONE


def _store_failed(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, StoreFailed)
    f.session.error = "err_store_failed"
    return Screen.ERROR


def ticket_problem(typed: str) -> str:
    """'' for a good ticket; a typo in one digit (the check digit catches it) gets its own hint."""
    if ticket_ok(typed):
        return ""
    if len(typed) == TICKET_LEN and typed.isdigit():
        return "err_ticket_check_digit"
    return "err_ticket_invalid"


def _status_confirm(f: Flow, _e: Event, now: float) -> Screen:
    s = f.session
    problem = ticket_problem(s.typed)
    if problem:
        s.input_error = problem
        return Screen.STATUS_ENTRY
    s.status.checking = True
    f.start_lookup(now, s.typed)
    return Screen.STATUS_ENTRY


def _status_qr(f: Flow, e: Event, now: float) -> Screen:
    assert isinstance(e, ScanQr)
    parsed = parse_qr(e.payload)
    if parsed is None:
        f.session.input_error = "err_qr_invalid"
        return Screen.STATUS_ENTRY
    kiosk_id, ticket, packet_id = parsed
    f.session.typed, f.session.status.checking = ticket, True
    f.start_lookup(now, ticket, kiosk_id, packet_id)
    return Screen.STATUS_ENTRY


def _status_answer(f: Flow, e: Event, _n: float) -> Screen:
    assert isinstance(e, StatusAnswer)
    f.lookup = None  # answered: no deadline left
    f.session.status.ticket, f.session.status.state = e.ticket, e.state
    f.session.typed, f.session.status.checking = "", False
    return Screen.STATUS_RESULT


def _answer_while_leaving(f: Flow, e: Event, now: float) -> Screen:
    """The answer (or the lookup's expiry) arrives while "really leave?" is showing: it is kept
    for the screen underneath, so "Stay" shows the result instead of "Checking…" forever."""
    if f.session.leave_from is Screen.STATUS_ENTRY:
        f.session.leave_from = _status_answer(f, e, now)
    return Screen.CONFIRM_LEAVE


def _feedback_confirm(f: Flow, _e: Event, _n: float) -> Screen:
    s = f.session
    if not s.typed.strip():
        s.input_error = "err_empty"
        return Screen.FEEDBACK_TEXT
    s.feedback_text, s.typed = s.typed.strip(), s.feedback_contact
    return Screen.FEEDBACK_CONTACT


def _contact_confirm(f: Flow, _e: Event, _n: float) -> Screen:
    """Sent with the contact, or without one when none was typed: a reply is promised only
    to a resident who left one."""
    s = f.session
    contact = ""
    if s.typed.strip():
        try:
            contact = parse_contact(s.typed.strip())[1]
        except ContactError:
            s.input_error = "err_contact"
            return Screen.FEEDBACK_CONTACT
    s.feedback_contact, s.typed = contact, ""
    f.emit(SendFeedback(category=s.feedback_category, text=s.feedback_text, lang=s.lang, contact=contact))
    return Screen.FEEDBACK_SENT


def _contact_back(f: Flow, _e: Event, _n: float) -> Screen:
    """Back to the message, as it was typed; the contact typed so far is kept for Next."""
    s = f.session
    s.feedback_contact, s.typed = s.typed, s.feedback_text
    return Screen.FEEDBACK_TEXT


def _leave_status(f: Flow, _e: Event, _n: float) -> Screen:
    """Back to the menu: a lookup still out is abandoned (its late answer is ignored)."""
    f.session.typed, f.session.status.checking = "", False
    f.new_token()
    return Screen.MENU


def _clear_then(screen: Screen) -> Handler:
    def handler(f: Flow, _e: Event, _n: float) -> Screen:
        f.session.typed = ""
        return screen

    return handler


BACK, CONFIRM, BKSP = Button.BACK, Button.CONFIRM, Button.BACKSPACE

TABLE: dict[tuple[Screen, EventKey], Handler] = {
    (Screen.WELCOME, Button.START): _start,
    (Screen.WELCOME, Button.OFFICER): _to(Screen.OFFICER_ID),
    (Screen.WELCOME, Button.SIGN_OUT): _sign_out,
    (Screen.OFFICER_ID, CONFIRM): _officer_id_confirm,
    (Screen.OFFICER_ID, BACK): lambda f, _e, _n: assisted.sign_in_abandoned(f),
    (Screen.OFFICER_PIN, CONFIRM): _officer_pin_confirm,
    (Screen.OFFICER_PIN, BACK): _officer_back,
    (Screen.MENU, Choose): _menu_choose,
    (Screen.MENU, BACK): _to(Screen.WELCOME),
    (Screen.REPLACEMENT_REASON, Choose): _pick(REPLACEMENT_REASONS, "replacement_reason", Screen.NIK),
    (Screen.REPLACEMENT_REASON, BACK): _to(Screen.MENU),
    (Screen.CORRECTION_FIELD, Choose): _pick(CORRECTION_FIELDS, "correction_field", Screen.CORRECTION_VALUE),
    (Screen.CORRECTION_FIELD, BACK): _to(Screen.MENU),
    (Screen.CORRECTION_VALUE, Char): _text_char(Screen.CORRECTION_VALUE),
    (Screen.CORRECTION_VALUE, CONFIRM): _correction_confirm,
    (Screen.CORRECTION_VALUE, BACK): _clear_then(Screen.CORRECTION_FIELD),
    (Screen.NIK, CONFIRM): _nik_confirm,
    (Screen.NIK, BACK): _back_from_nik,
    (Screen.KK, CONFIRM): _kk_confirm,
    (Screen.KK, BACK): _kk_back,
    (Screen.ELIGIBILITY, Button.MARRIED): _married(True),
    (Screen.ELIGIBILITY, Button.NOT_MARRIED): _married(False),
    (Screen.ELIGIBILITY, BACK): _eligibility_back,
    (Screen.NOT_ELIGIBLE, BACK): _to(Screen.ELIGIBILITY),
    (Screen.CONSENT, Button.AGREE): cap.agree,
    (Screen.CONSENT, Button.DECLINE): _to(Screen.CONSENT_DECLINED),
    (Screen.CONSENT, BACK): _consent_back,
    (Screen.CONSENT_DECLINED, BACK): _to(Screen.CONSENT),
    (Screen.CONFIRM_LEAVE, Button.STAY): _stay,
    (Screen.CONFIRM_LEAVE, BACK): _stay,
    (Screen.CONFIRM_LEAVE, Button.LEAVE): _to(Screen.WELCOME),
    (Screen.CONFIRM_LEAVE, StatusAnswer): _answer_while_leaving,
    (Screen.CAPTURE_GUIDE, Button.BEGIN_CAPTURE): cap.begin_capture,
    (Screen.CAPTURE_GUIDE, Button.EXCEPTION): exc.open_exception,
    (Screen.CAPTURE_GUIDE, Button.SINGLES): cap.singles,
    (Screen.CAPTURE_GUIDE, Button.CONTINUE): cap.continue_,
    (Screen.CAPTURE_GUIDE, BACK): cap.back_step,
    (Screen.CAPTURING, BACK): cap.cancel_capture,
    (Screen.CAPTURING, CaptureProgress): cap.capture_progress,
    (Screen.CAPTURING, CaptureDone): cap.capture_done,
    (Screen.CAPTURING, CaptureFailed): cap.capture_failed,
    (Screen.CAPTURE_RESULT, Button.RETRY): cap.retry,
    (Screen.CAPTURE_RESULT, Button.CONTINUE): cap.continue_,
    (Screen.CAPTURE_RESULT, Button.EXCEPTION): exc.open_exception,
    (Screen.CAPTURE_RESULT, Button.SEE_OFFICER): cap.see_officer,
    (Screen.CAPTURE_RESULT, BACK): cap.back_to_guide,
    (Screen.CAPTURE_EXCEPTION, Button.SEE_OFFICER): cap.see_officer,
    (Screen.SEE_OFFICER, BACK): cap.back_from_officer,
    (Screen.SEE_OFFICER, Button.COMPLETE): assisted.complete,
    (Screen.OFFICER_CONFIRM, Button.EXCEPTION_PHOTO): assisted.take_photo,
    (Screen.OFFICER_CONFIRM, CaptureDone): assisted.photo_done,
    (Screen.OFFICER_CONFIRM, CaptureFailed): assisted.photo_failed,
    (Screen.OFFICER_CONFIRM, CONFIRM): assisted.confirm,
    (Screen.OFFICER_CONFIRM, BACK): assisted.back_from_confirm,
    (Screen.CAPTURE_EXCEPTION, Choose): exc.toggle,
    (Screen.CAPTURE_EXCEPTION, CONFIRM): exc.to_reason,
    (Screen.CAPTURE_EXCEPTION, BACK): exc.back_from_which,
    (Screen.EXCEPTION_REASON, Choose): exc.choose_cause,
    (Screen.EXCEPTION_REASON, Button.SEE_OFFICER): cap.see_officer,
    (Screen.EXCEPTION_REASON, BACK): exc.back_from_reason,
    (Screen.REVIEW, Button.DISABILITY): _disability(True),
    (Screen.REVIEW, Button.NO_DISABILITY): _disability(False),
    (Screen.REVIEW, Button.SUBMIT): _submit,
    (Screen.REVIEW, BACK): assisted.back_from_review,
    (Screen.ERROR, BACK): _to(Screen.REVIEW),
    (Screen.DONE, ReceiptFailed): _receipt_failed,
    (Screen.SUBMITTING, Stored): _stored,
    (Screen.SUBMITTING, StoreFailed): _store_failed,
    (Screen.STATUS_ENTRY, CONFIRM): _status_confirm,
    (Screen.STATUS_ENTRY, ScanQr): _status_qr,
    (Screen.STATUS_ENTRY, StatusAnswer): _status_answer,
    (Screen.STATUS_ENTRY, BACK): _leave_status,
    (Screen.STATUS_RESULT, BACK): _to(Screen.STATUS_ENTRY),
    (Screen.FEEDBACK_CATEGORY, Choose): _pick(FEEDBACK_CATEGORIES, "feedback_category", Screen.FEEDBACK_TEXT),
    (Screen.FEEDBACK_CATEGORY, BACK): _to(Screen.MENU),
    (Screen.FEEDBACK_TEXT, Char): _text_char(Screen.FEEDBACK_TEXT),
    (Screen.FEEDBACK_TEXT, CONFIRM): _feedback_confirm,
    (Screen.FEEDBACK_TEXT, BACK): _clear_then(Screen.FEEDBACK_CATEGORY),
    (Screen.FEEDBACK_CONTACT, Char): _text_char(Screen.FEEDBACK_CONTACT),
    (Screen.FEEDBACK_CONTACT, CONFIRM): _contact_confirm,
    (Screen.FEEDBACK_CONTACT, BACK): _contact_back,
}
for _screen in TYPED_MAX:
    _digit, _bksp = _keypad(_screen)
    TABLE[(_screen, Digit)] = _digit
    TABLE[(_screen, BKSP)] = _bksp
for _screen in (Screen.CORRECTION_VALUE, Screen.FEEDBACK_TEXT, Screen.FEEDBACK_CONTACT):
    TABLE[(_screen, BKSP)] = _text_backspace(_screen)
