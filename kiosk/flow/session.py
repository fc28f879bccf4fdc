"""One resident's session: everything the flow knows about them, dropped whole on reset.

The flow replaces the `Session` object on every reset, so nothing of the previous resident
stays reachable from the flow (tests check it with weak references). Python cannot promise
that freed bytes are overwritten; the images live only in these objects, never on disk
unsealed, and the packet that leaves the session is HPKE-sealed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from anjungan.packet.model import Modality, Service
from kiosk.flow.model import Purpose, Sample, Screen
from kiosk.flow.plan import CaptureStep


@dataclass(frozen=True, kw_only=True)
class RecordDraft:
    """The outcome for one position: a sample, or an exception with a reason, or both
    (poor_quality keeps the best try)."""

    modality: Modality
    position: str
    sample: Sample | None
    retries: int
    exception: str | None


@dataclass(kw_only=True)
class Resident:
    """Who the resident is, as checked from the NIK and KK they typed."""

    nik: str = field(default="", repr=False)
    kk: str = field(default="", repr=False)
    age: int | None = None
    sex: str = ""
    birth_date: str = field(default="", repr=False)
    married: bool = False  # declared on the eligibility question (under 17): an officer checks it


@dataclass(kw_only=True)
class CaptureState:
    """The capture steps of this service and how far the resident is through them."""

    steps: tuple[CaptureStep, ...] = ()
    step_index: int = 0
    tries: int = 0
    progress: int = 0  # positions read so far in the try being captured
    best: dict[str, Sample] = field(default_factory=dict)
    last_error: str = ""
    records: dict[str, RecordDraft] = field(default_factory=dict)
    exception_pick: set[str] = field(default_factory=set)  # positions chosen as "cannot"
    exception_from: Screen | None = None  # the guide or result "cannot do this" was pressed on

    @property
    def step(self) -> CaptureStep | None:
        return self.steps[self.step_index] if self.step_index < len(self.steps) else None

    def remaining(self) -> tuple[str, ...]:
        """Positions of the current step with no outcome yet."""
        step = self.step
        return tuple(p for p in step.positions if p not in self.records) if step else ()

    def has_exceptions(self) -> bool:
        return any(r.exception for r in self.records.values())


@dataclass(kw_only=True)
class SignOff:
    """Assisted completion: the officer signing in from SEE_OFFICER, the exception photo, and
    the confirmation that puts the remaining positions down as exceptions."""

    completing: bool = False  # the officer sign-in was started from SEE_OFFICER
    photo: Sample | None = field(default=None, repr=False)  # the exception photo
    photo_state: str = ""  # "" | "taking" | "taken" | "failed" (the camera could not)
    confirmed_at: float | None = None  # when the officer confirmed (the flow's now)
    positions: tuple[str, ...] = ()  # the positions the confirmation put down as exceptions
    step: int = 0  # the capture step the confirmation was given from (Back returns there)


@dataclass(kw_only=True)
class ReceiptState:
    """The stored packet's ticket and QR, and whether the receipt printed."""

    ticket: str = ""
    qr_payload: str = ""
    failed: bool = False  # the printer failed: the screen keeps ticket and QR


@dataclass(kw_only=True)
class StatusCheck:
    """A ticket's status, asked of the outbox or the centre."""

    ticket: str = ""
    state: str | None = None
    checking: bool = False  # a lookup is out (the centre may take a few seconds)


@dataclass(kw_only=True)
class Session:
    """The screen frame's choices and what is being typed, with one sub-state per concern:
    `resident` (NIK, KK), `capture` (steps, tries, samples), `receipt` (ticket, QR) and
    `status` (a ticket looked up). All of it is new on every reset."""

    lang: str
    large_text: bool = False
    high_contrast: bool = False
    speech: bool = False  # read screens aloud (the resident's Audio button, or the kiosk default)
    speech_by_jack: bool = False  # turned on by headphones plugged in (off again when pulled out)
    help_called: bool = False  # an officer was asked to come (shown until the session ends)
    officer_coming: bool = False  # staff acknowledged the call: an officer is on the way
    leave_from: Screen | None = None  # the screen CONFIRM_LEAVE returns to
    see_officer_from: Screen | None = None  # the screen SEE_OFFICER returns to
    see_officer_reason: str = ""  # "declined" | "device"
    purpose: Purpose | None = None  # the menu choice
    assisted: bool = False
    officer_id: str = ""
    typed: str = field(default="", repr=False)  # the keypad/keyboard buffer (may be a NIK)
    input_error: str = ""  # i18n key of the current input problem
    replacement_reason: str = ""
    correction_field: str = ""
    correction_value: str = ""
    disability: bool = False
    feedback_category: str = ""
    feedback_text: str = field(default="", repr=False)  # kept while the contact is asked
    feedback_contact: str = field(default="", repr=False)  # where the reply goes; "" for none
    error: str = ""
    resident: Resident = field(default_factory=Resident)
    capture: CaptureState = field(default_factory=CaptureState)
    sign_off: SignOff = field(default_factory=SignOff)
    receipt: ReceiptState = field(default_factory=ReceiptState)
    status: StatusCheck = field(default_factory=StatusCheck)

    @property
    def service(self) -> Service | None:
        return None if self.purpose is None else self.purpose.service
