"""The capture packet's plain data: header, body, biometric records, priority classes.

Frozen, keyword-only dataclasses that validate when built. No I/O, no crypto here:
`codec` turns them into CBOR, `seal` signs/seals/verifies/opens them.
"""

from __future__ import annotations

import enum
import math
import uuid
from dataclasses import dataclass, field

from anjungan.errors import AnjunganError
from anjungan.topics import check_kiosk_id

FORMAT_VERSION = 1  # a header without a gateway key id
KEYED_VERSION = 2  # version 1 plus `key_id`: which gateway key sealed the body
VERSIONS = (FORMAT_VERSION, KEYED_VERSION)
KEY_ID_CHARS = 16  # lowercase hex: 8 bytes of SHA-256 of the gateway public key (seal.gateway_key_id)
# Times are unix seconds: finite, not before 1970, and before the year 2500.
MAX_TIME = 16_725_225_600.0


class PacketError(AnjunganError):
    """Any packet that cannot be decoded or trusted. `reason` is a short machine code."""

    reason = "malformed"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason:
            self.reason = reason


class Service(enum.StrEnum):
    """Services that produce a capture packet."""

    NEW_RECORDING = "new_recording"  # first e-KTP (perekaman), usually at 17
    REPLACEMENT = "replacement"  # lost or damaged card
    CORRECTION = "correction"  # data correction


class PriorityClass(enum.IntEnum):
    """Relay order: lower value goes first. Signed in the header, derived at the kiosk."""

    VULNERABLE = 0  # assisted (Jemput Bola, help desk), age >= 60, disability, biometric exception
    FIRST_RECORDING = 1
    ROUTINE = 2  # replacements and corrections

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> PriorityClass:
        """The class a `label` names ("vulnerable", …); ValueError for anything else."""
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown priority class {label!r}") from None


VULNERABLE_AGE = 60


def derive_priority(
    *,
    service: Service,
    age: int | None,
    assisted: bool = False,
    disability: bool = False,
    has_exceptions: bool = False,
) -> PriorityClass:
    """The one rule for a packet's priority class (BRIEF: vulnerable first, then first recordings)."""
    if assisted or disability or has_exceptions or (age is not None and age >= VULNERABLE_AGE):
        return PriorityClass.VULNERABLE
    if service is Service.NEW_RECORDING:
        return PriorityClass.FIRST_RECORDING
    return PriorityClass.ROUTINE


class Modality(enum.StrEnum):
    FACE = "face"
    FINGER = "finger"
    IRIS = "iris"
    SIGNATURE = "signature"


FINGER_POSITIONS = (
    "right_thumb", "right_index", "right_middle", "right_ring", "right_little",
    "left_thumb", "left_index", "left_middle", "left_ring", "left_little",
)
POSITIONS = {
    Modality.FACE: ("face",),
    Modality.FINGER: FINGER_POSITIONS,
    Modality.IRIS: ("right_iris", "left_iris"),
    Modality.SIGNATURE: ("signature",),
}
IMAGE_FORMATS = (
    "jpeg2000", "wsq", "png", "iso19794-4", "iso19794-5", "iso19794-6", "raw8", "svg",
)
OFFICER_ID_DIGITS = (4, 18)  # an officer's id: a short desk id up to an 18-digit NIP
EXCEPTION_REASONS = (
    "missing",  # amputated / congenitally absent finger, eye
    "injured",  # bandaged, temporarily unusable
    "unable",  # cannot sign, cannot keep eyes open, etc.
    "poor_quality",  # three tries below threshold, kept the best
)


@dataclass(frozen=True, kw_only=True)
class BiometricRecord:
    """One capture of one position, or an exception recorded instead of it."""

    modality: Modality
    position: str
    image_format: str
    image: bytes = field(repr=False)
    quality: int  # 0-100
    retries: int = 0  # re-captures taken (0-3)
    exception: str | None = None  # reason from EXCEPTION_REASONS; then image may be empty

    def __post_init__(self) -> None:
        object.__setattr__(self, "modality", Modality(self.modality))
        if self.position not in POSITIONS[self.modality]:
            raise PacketError(f"position {self.position!r} is not a {self.modality.value} position")
        if self.image_format not in IMAGE_FORMATS:
            raise PacketError(f"unknown image format {self.image_format!r}")
        if not isinstance(self.image, bytes):
            raise PacketError("biometric image must be bytes")
        if not (isinstance(self.quality, int) and 0 <= self.quality <= 100):
            raise PacketError("quality must be an integer 0-100")
        if not (isinstance(self.retries, int) and 0 <= self.retries <= 3):
            raise PacketError("retries must be 0-3")
        if self.exception is not None and self.exception not in EXCEPTION_REASONS:
            raise PacketError(f"unknown biometric exception {self.exception!r}")
        if self.exception is None and not self.image:
            raise PacketError("a record without an image needs an exception reason")


@dataclass(frozen=True, kw_only=True)
class Demographics:
    """What the resident typed or confirmed. Travels only inside the sealed body."""

    # repr=False: a record printed by a log line or a failing test shows no personal data
    nik: str = field(repr=False)
    kk_number: str = field(default="", repr=False)
    name: str = field(default="", repr=False)
    birth_date: str = field(default="", repr=False)  # ISO date
    sex: str = ""  # "F" | "M"
    address: str = field(default="", repr=False)
    disability: bool = False
    phone: str = field(default="", repr=False)
    officer_id: str = ""  # assisted mode only
    notes: str = ""


def is_officer_id(value: object) -> bool:
    lo, hi = OFFICER_ID_DIGITS
    return isinstance(value, str) and value.isascii() and value.isdigit() and lo <= len(value) <= hi


@dataclass(frozen=True, kw_only=True)
class OfficerSignOff:
    """An officer's confirmation of the resident's biometric exceptions, given on the kiosk
    after signing in with their PIN (assisted completion: MOSIP's operator sign-off with an
    exception photo). Travels only inside the sealed body."""

    officer_id: str
    confirmed_at: float  # unix seconds, the kiosk's clock
    photo: BiometricRecord | None = None  # the exception photo; None when the camera could not take one

    def __post_init__(self) -> None:
        if not is_officer_id(self.officer_id):
            raise PacketError("officer id must be 4-18 digits")
        if not isinstance(self.confirmed_at, float) or not math.isfinite(self.confirmed_at) \
                or not 0 <= self.confirmed_at < MAX_TIME:
            raise PacketError("confirmed_at must be a finite time")
        if self.photo is not None and (self.photo.modality is not Modality.FACE or not self.photo.image
                                       or self.photo.exception is not None):
            raise PacketError("the exception photo must be a face image")


@dataclass(frozen=True, kw_only=True)
class CaptureBody:
    """The sealed part: demographics, biometric records and, in assisted completion, the
    officer's sign-off of the exceptions."""

    demographics: Demographics
    biometrics: tuple[BiometricRecord, ...] = field(default_factory=tuple)
    sign_off: OfficerSignOff | None = None

    def __post_init__(self) -> None:
        if self.sign_off is not None and self.sign_off.officer_id != self.demographics.officer_id:
            raise PacketError("the sign-off is the signed-in officer's")

    @property
    def exceptions(self) -> tuple[BiometricRecord, ...]:
        return tuple(r for r in self.biometrics if r.exception)


@dataclass(frozen=True, kw_only=True)
class PacketHeader:
    """The signed, readable part. Least data: no name, no NIK, no biometrics."""

    version: int
    packet_id: uuid.UUID
    kiosk_id: str
    sequence: int  # per-kiosk, strictly increasing from 1
    created_at: float  # unix seconds
    service: Service
    priority: PriorityClass
    suite: str  # HPKE suite name, see anjungan.packet.seal.SUITES
    body_digest: bytes  # SHA-256 of the sealed body
    assisted: bool = False
    key_id: str = ""  # version 2 only: the gateway key the body is sealed to

    def __post_init__(self) -> None:
        object.__setattr__(self, "service", Service(self.service))
        object.__setattr__(self, "priority", PriorityClass(self.priority))
        check_kiosk_id(self.kiosk_id)
        if self.version not in VERSIONS:
            raise PacketError(f"unsupported packet version {self.version}", "wrong_version")
        if (self.version == KEYED_VERSION) != bool(self.key_id):
            raise PacketError("a version 2 header, and only it, carries a key id")
        if self.key_id and (len(self.key_id) != KEY_ID_CHARS or not set(self.key_id) <= set("0123456789abcdef")):
            raise PacketError("key id must be 16 lowercase hex characters")
        if isinstance(self.created_at, bool) or not isinstance(self.created_at, int | float) \
                or not math.isfinite(self.created_at) or not 0 <= self.created_at < MAX_TIME:
            raise PacketError("created_at must be a finite time", "malformed")
        if not isinstance(self.sequence, int) or not 1 <= self.sequence < 2**63:
            raise PacketError("sequence must be a positive integer")
        if len(self.body_digest) != 32:
            raise PacketError("body digest must be 32 bytes")


@dataclass(frozen=True, kw_only=True)
class CapturePacket:
    """Header + HPKE-sealed body + Ed25519 signature over both + the kiosk's certificate (DER)."""

    header: PacketHeader
    sealed_body: bytes
    signature: bytes
    certificate: bytes

    @property
    def packet_id(self) -> str:
        return str(self.header.packet_id)
