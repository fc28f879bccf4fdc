"""The flow's vocabulary: screens, buttons, events in, actions out. Plain frozen data.

Every event has a `key`; the transition table (`flow.machine.TABLE`) is keyed by (screen, key).
Events come from the UI (a touch turned into meaning), from the app shell (capture results,
storage outcomes) or from the clock (`Tick`). Actions are what the shell must do next.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from anjungan.packet.model import Modality, Service
from kiosk.flow.pins import PinLock


class Purpose(enum.StrEnum):
    """What the resident came for: a menu choice. The first three make a capture packet
    (`service`); the other two only look something up or send feedback."""

    NEW_RECORDING = Service.NEW_RECORDING.value
    REPLACEMENT = Service.REPLACEMENT.value
    CORRECTION = Service.CORRECTION.value
    STATUS = "status"
    FEEDBACK = "feedback"

    @property
    def service(self) -> Service | None:
        try:
            return Service(self.value)
        except ValueError:
            return None


class Screen(enum.Enum):
    WELCOME = "welcome"
    OFFICER_ID = "officer_id"
    OFFICER_PIN = "officer_pin"
    MENU = "menu"
    REPLACEMENT_REASON = "replacement_reason"
    CORRECTION_FIELD = "correction_field"
    CORRECTION_VALUE = "correction_value"
    NIK = "nik"
    KK = "kk"
    CONSENT = "consent"
    CONSENT_DECLINED = "consent_declined"
    CAPTURE_GUIDE = "capture_guide"
    CAPTURING = "capturing"
    CAPTURE_RESULT = "capture_result"
    CAPTURE_EXCEPTION = "capture_exception"  # which position(s) cannot be captured
    EXCEPTION_REASON = "exception_reason"  # then why
    REVIEW = "review"
    SUBMITTING = "submitting"
    DONE = "done"
    STATUS_ENTRY = "status_entry"
    STATUS_RESULT = "status_result"
    FEEDBACK_CATEGORY = "feedback_category"
    FEEDBACK_TEXT = "feedback_text"
    FEEDBACK_CONTACT = "feedback_contact"  # a phone or e-mail for a reply, optional
    FEEDBACK_SENT = "feedback_sent"
    ERROR = "error"
    CONFIRM_LEAVE = "confirm_leave"  # "leave and erase what you entered?" before a reset
    SEE_OFFICER = "see_officer"  # biometrics declined or a device down: an officer takes over
    ELIGIBILITY = "eligibility"  # under 17 for a new recording: "are you or were you married?"
    NOT_ELIGIBLE = "not_eligible"  # under 17 and never married: when to come back, and the KIA meanwhile
    OFFICER_CONFIRM = "officer_confirm"  # the signed-in officer confirms the exceptions (assisted completion)


class Button(enum.Enum):
    START = "start"
    OFFICER = "officer"
    BACK = "back"
    HOME = "home"
    CONFIRM = "confirm"
    BACKSPACE = "backspace"
    EXTEND = "extend"
    AGREE = "agree"
    DECLINE = "decline"
    BEGIN_CAPTURE = "begin_capture"
    RETRY = "retry"
    CONTINUE = "continue"
    EXCEPTION = "exception"
    SINGLES = "singles"
    SUBMIT = "submit"
    DISABILITY = "disability"  # review: "yes, I have a disability"
    NO_DISABILITY = "no_disability"  # review: "no"
    LARGE_TEXT = "large_text"
    AUDIO = "audio"  # speech on/off for this session
    CONTRAST = "contrast"  # high-contrast colours on/off, apart from large text
    HELP = "help"  # call an officer to this kiosk, from any screen
    STAY = "stay"  # on CONFIRM_LEAVE: keep going
    LEAVE = "leave"  # on CONFIRM_LEAVE: erase and start over
    SEE_OFFICER = "see_officer"  # end self-service here: an officer will help
    MARRIED = "married"  # on ELIGIBILITY: "yes, I am or was married"
    NOT_MARRIED = "not_married"  # on ELIGIBILITY: "no"
    SIGN_OUT = "sign_out"  # on WELCOME: the signed-in officer ends their visit
    COMPLETE = "complete"  # on SEE_OFFICER: the officer signs in to finish with exceptions
    EXCEPTION_PHOTO = "exception_photo"  # on OFFICER_CONFIRM: take the exception photo


class Event:
    """Base of every event; `key` is its column in the transition table: the event's type,
    or for a press the button itself, so renaming either is a type error, never a silent
    hole in the table."""

    @property
    def key(self) -> EventKey:
        return type(self)


@dataclass(frozen=True, kw_only=True)
class Press(Event):
    button: Button

    @property
    def key(self) -> EventKey:
        return self.button


EventKey = type[Event] | Button


@dataclass(frozen=True, kw_only=True)
class Digit(Event):
    digit: str

    def __post_init__(self) -> None:
        if len(self.digit) != 1 or not self.digit.isdigit():
            raise ValueError("a digit is one character 0-9")


@dataclass(frozen=True, kw_only=True)
class Char(Event):
    char: str

    def __post_init__(self) -> None:
        if len(self.char) != 1 or not self.char.isprintable():
            raise ValueError("a char is one printable character")


@dataclass(frozen=True, kw_only=True)
class Choose(Event):
    """A pick from a list: a service, a reason, a field, a category, a finger position."""

    option: str


@dataclass(frozen=True, kw_only=True)
class SetLanguage(Event):
    lang: str


@dataclass(frozen=True, kw_only=True)
class Page(Event):
    """"More ›" (+1) or "‹ Previous" (-1) on a screen laid out on pages; the layout knows how
    many there are and keeps the page within them."""

    step: int

    def __post_init__(self) -> None:
        if self.step not in (-1, 1):
            raise ValueError("a page step is -1 or +1")


@dataclass(frozen=True, kw_only=True)
class Touch(Event):
    """A touch that hit no button: still the resident's activity (restarts the screen timer)."""


@dataclass(frozen=True, kw_only=True)
class Tick(Event):
    """Time passes; the flow's clock. `now` is passed with every event anyway."""


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One scored image of one position, as the kiosk keeps it until the packet is built."""

    modality: Modality
    position: str
    image: bytes = field(repr=False)
    image_format: str
    quality: int


@dataclass(frozen=True, kw_only=True)
class CaptureDone(Event):
    token: int
    samples: tuple[Sample, ...]


@dataclass(frozen=True, kw_only=True)
class CaptureProgress(Event):
    """`done` positions of the try in hand so far (a slap reads four fingers, one by one)."""

    token: int
    done: int


@dataclass(frozen=True, kw_only=True)
class CaptureFailed(Event):
    token: int
    reason: str  # a short code for the screen, e.g. "unavailable", "timeout", "failed"


@dataclass(frozen=True, kw_only=True)
class Stored(Event):
    """The packet is durably in the outbox: only now may the resident be told 'done'."""

    token: int
    ticket: str
    qr_payload: str


@dataclass(frozen=True, kw_only=True)
class StoreFailed(Event):
    token: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class OfficerComing(Event):
    """Staff acknowledged this session's help request on their dashboard: one is on the way."""


@dataclass(frozen=True, kw_only=True)
class PrinterState(Event):
    """The shell's latest look at the receipt printer (kiosk state, not the resident's)."""

    ok: bool


@dataclass(frozen=True, kw_only=True)
class Headphones(Event):
    """The platform saw headphones plugged in (or out): speech follows for this session."""

    plugged: bool


@dataclass(frozen=True, kw_only=True)
class ReceiptFailed(Event):
    """The printer could not print the receipt: the screen must keep the ticket instead."""

    token: int


UNREACHABLE = "UNREACHABLE"  # a status lookup the centre did not answer (in time, or at all: offline)


@dataclass(frozen=True, kw_only=True)
class StatusAnswer(Event):
    token: int
    ticket: str
    state: str | None  # None: this kiosk knows no such ticket; UNREACHABLE: the centre did not answer


@dataclass(frozen=True, kw_only=True)
class ScanQr(Event):
    payload: str


# ---- actions -------------------------------------------------------------------------------


class Action:
    pass


@dataclass(frozen=True, kw_only=True)
class RequestCapture(Action):
    token: int
    modality: Modality
    positions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class StorePacket(Action):
    """Build, seal, sign and durably store the capture packet of this session."""

    token: int


@dataclass(frozen=True, kw_only=True)
class PrintReceipt(Action):
    ticket: str
    qr_payload: str
    lang: str
    purpose: Purpose


@dataclass(frozen=True, kw_only=True)
class LookupStatus(Action):
    token: int
    ticket: str
    kiosk_id: str = ""  # from a receipt QR: the kiosk that printed it ("" when typed)
    packet_id: str = ""  # from a receipt QR: asked of the centre when printed elsewhere


@dataclass(frozen=True, kw_only=True)
class ForgetLookup(Action):
    """The flow waits no longer for lookup `token`: `expired` (no answer by its deadline; the
    resident was told the centre is unreachable) or abandoned (the resident left, or asked
    again). The shell forgets the query, so a late answer is dropped."""

    token: int
    ticket: str
    expired: bool


@dataclass(frozen=True, kw_only=True)
class SendFeedback(Action):
    category: str
    text: str
    lang: str
    ticket: str = ""
    contact: str = ""  # normal form (E.164 or the e-mail address); the shell logs it masked


@dataclass(frozen=True, kw_only=True)
class Speak(Action):
    """Say one phrase (an i18n key) in `lang`. Emitted only while the session's speech is on."""

    key: str
    lang: str


@dataclass(frozen=True, kw_only=True)
class ReadScreen(Action):
    """Read out everything `screen` shows (title, text, errors, ticket). The shell drops it if
    another screen is showing by the time it is performed (a prompt never outlives its screen).
    Emitted only while the session's speech is on."""

    screen: Screen


@dataclass(frozen=True, kw_only=True)
class TimeoutWarning(Action):
    """The screen's timer fires in `WARN_LEAD_S`: the banner shows (journalled by the shell)."""

    screen: Screen


@dataclass(frozen=True, kw_only=True)
class Hush(Action):
    """Speech was turned off: stop talking now and forget what is queued."""


@dataclass(frozen=True, kw_only=True)
class CallOfficer(Action):
    """Ask staff to come to this kiosk. `reason`: "help" (the button), "declined" (no
    biometrics) or "device" (a device is down). Never carries the resident's data."""

    screen: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class SavePinLock(Action):
    """The officer-PIN lockout changed: the shell persists it, so it outlives the session and
    a restart of the kiosk."""

    lock: PinLock


@dataclass(frozen=True, kw_only=True)
class SessionWiped(Action):
    reason: str  # "idle" | "home" | "done" | "declined"
