"""JSON messages on the MQTT contract (see `anjungan.topics`), version 1.

Small, human-readable messages are JSON; the capture packet alone is CBOR
(`anjungan.packet`). Every message is a frozen dataclass with `to_json()` and a strict
`from_json()` that raises `MessageError` with a one-line reason. None of them may carry
biometrics or a full NIK.
"""

from __future__ import annotations

import enum
import json
import math
import re
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from anjungan.contact import ContactError, parse_contact
from anjungan.errors import AnjunganError
from anjungan.ids import KIOSK_ID_RE, is_packet_id

MAX_MESSAGE_BYTES = 64 * 1024
MAX_NESTING = 8  # the deepest message (Health.peripherals) nests 3


class MessageError(AnjunganError):
    """A JSON message that does not match the contract."""


class AckOutcome(enum.StrEnum):
    ACCEPTED = "accepted"  # durably committed by the centre: the kiosk may shred its copy
    DUPLICATE = "duplicate"  # already committed earlier: shred too
    REJECTED = "rejected"  # refused for good (reason given): kiosk keeps it for a technician


class LinkState(enum.StrEnum):
    """A kiosk's link to the broker, as its retained `status` (and Last Will) says."""

    ONLINE = "online"
    OFFLINE = "offline"


class SiakState(enum.StrEnum):
    """Enrollment states, modelled on SIAK's."""

    QUEUED = "QUEUED"  # in the centre's queue, not yet at SIAK
    SENT_FOR_ENROLLMENT = "SENT_FOR_ENROLLMENT"
    BIO_CAPTURED = "BIO_CAPTURED"
    PRINT_READY = "PRINT_READY"
    DUPLICATE = "DUPLICATE"
    ADJUDICATE = "ADJUDICATE"
    ENROLL_FAILURE = "ENROLL_FAILURE"


T = TypeVar("T", bound="_Message")


@dataclass(frozen=True, kw_only=True)
class _Message:
    TYPE = ""

    def to_json(self) -> bytes:
        data = {"type": self.TYPE, **asdict(self)}
        return json.dumps(data, separators=(",", ":"), default=_enum_value).encode()

    @classmethod
    def from_json(cls: type[T], payload: bytes) -> T:
        data = _load(payload, cls.TYPE)
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise MessageError(f"{cls.TYPE}: unknown fields {sorted(unknown)}")
        hints = typing.get_type_hints(cls)
        for name, value in data.items():
            if not _fits(value, hints[name]):
                raise MessageError(f"{cls.TYPE}: field {name} has the wrong type")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise MessageError(f"{cls.TYPE}: {exc}") from exc


def _fits(value: object, hint: Any) -> bool:
    """Does a JSON value fit a field's annotation? (str, int, float, bool, enums, dicts,
    `X | None`) — wire data is checked here, not trusted to the dataclass."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_fits(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return isinstance(value, str)
    if hint is bool:
        return isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and _finite(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return False


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _enum_value(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"not JSON: {type(value).__name__}")


def _too_deep(payload: bytes, limit: int) -> bool:
    """Does the JSON text nest arrays/objects deeper than `limit`? Checked before parsing,
    so a message nested 30,000 deep costs one linear scan, never a RecursionError."""
    if payload.count(b"[") + payload.count(b"{") <= limit:  # the usual message: no scan
        return False
    depth, in_string, escaped = 0, False, False
    for byte in payload:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise ValueError("number out of range")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out


def parse_json(payload: bytes, what: str) -> Any:
    """The one strict JSON reader for anything a peer sends: bounded size and nesting, no
    NaN or infinity, no duplicate keys, UTF-8 only. MessageError with a one-line reason."""
    if not isinstance(payload, bytes | bytearray):
        raise MessageError(f"{what}: message must be bytes")
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MessageError(f"{what}: message of {len(payload)} bytes exceeds limit")
    if _too_deep(payload, MAX_NESTING):
        raise MessageError(f"{what}: nested deeper than {MAX_NESTING}")
    try:
        return json.loads(bytes(payload).decode("utf-8"), parse_constant=_refuse_constant,
                          parse_float=_finite_float, object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MessageError(f"{what}: not valid JSON ({exc.__class__.__name__})") from exc


def _load(payload: bytes, expected_type: str) -> dict[str, Any]:
    data = parse_json(payload, expected_type)
    if not isinstance(data, dict):
        raise MessageError(f"{expected_type}: not a JSON object")
    if data.pop("type", None) != expected_type:
        raise MessageError(f"expected a {expected_type!r} message")
    return data


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _packet_id(value: object) -> None:
    _require(is_packet_id(value), "bad packet_id")


def _short_id(value: object, name: str) -> None:
    """An id a kiosk made up (feedback, query): 1-64 characters."""
    _require(isinstance(value, str) and 0 < len(value) <= 64, f"bad {name}")


@dataclass(frozen=True, kw_only=True)
class Ack(_Message):
    """centre -> kiosk on `ack`: the outcome of ingest, sent only after the durable commit."""

    TYPE = "ack"
    packet_id: str
    outcome: AckOutcome
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", AckOutcome(self.outcome))
        _packet_id(self.packet_id)


@dataclass(frozen=True, kw_only=True)
class PacketStatus(_Message):
    """centre -> kiosk on `ack`: a later change of a packet's SIAK state."""

    TYPE = "packet_status"
    packet_id: str
    state: SiakState
    at: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", SiakState(self.state))
        _packet_id(self.packet_id)


@dataclass(frozen=True, kw_only=True)
class FeedbackAck(_Message):
    """centre -> kiosk on `ack`: the resident's feedback is durably stored at the centre; the
    kiosk may drop its copy. Sent again for a duplicate, which is stored once."""

    TYPE = "feedback_ack"
    feedback_id: str

    def __post_init__(self) -> None:
        _short_id(self.feedback_id, "feedback_id")


@dataclass(frozen=True, kw_only=True)
class StatusQuery(_Message):
    """kiosk -> centre on `query`: a resident shows a receipt QR from another kiosk; what is
    the packet's state? Packet ids are UUIDv7 with 74 random bits: not guessable."""

    TYPE = "status_query"
    query_id: str
    packet_id: str

    def __post_init__(self) -> None:
        _short_id(self.query_id, "query_id")
        _packet_id(self.packet_id)


# the answer when the centre has no such packet, or refused or lost it for good
STATUS_UNKNOWN, STATUS_REJECTED = "UNKNOWN", "REJECTED"


@dataclass(frozen=True, kw_only=True)
class StatusReply(_Message):
    """centre -> kiosk on `ack`: the answer to a `StatusQuery`: a `SiakState` value,
    REJECTED (a dead letter: see the desk) or UNKNOWN."""

    TYPE = "status_reply"
    query_id: str
    packet_id: str
    state: str

    def __post_init__(self) -> None:
        known = {s.value for s in SiakState} | {STATUS_UNKNOWN, STATUS_REJECTED}
        _require(self.state in known, "unknown state")


@dataclass(frozen=True, kw_only=True)
class KioskStatus(_Message):
    """kiosk on `status`, retained; the Last Will carries state offline with the same session."""

    TYPE = "status"
    kiosk_id: str
    state: LinkState
    session_id: str
    at: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", LinkState(self.state))


@dataclass(frozen=True, kw_only=True)
class Health(_Message):
    """kiosk -> centre on `health`, periodic."""

    TYPE = "health"
    kiosk_id: str
    session_id: str
    at: float
    peripherals: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {ok, version, detail}
    outbox_depth: int = 0
    outbox_oldest_s: float = 0.0
    outbox_rejected: int = 0  # refused by the centre for good: a technician must look
    disk_free_pct: float = 100.0
    temperature_c: float | None = None
    app_version: str = ""
    firmware_version: str = ""
    cert_expires_at: float | None = None
    last_capture_at: float | None = None
    tamper: bool = False
    link_failures: int = 0  # attempts to reach the broker that failed since start (TLS refused, …)
    link_error: str = ""  # the last one's reason, one line (never key material)
    out_of_service: str = ""  # why the kiosk refuses to sign (its clock outside its certificate)

    def faults(self) -> dict[str, str]:
        """The peripherals this report says are faulty, name -> detail (one line): the one
        rule for "fault" (`ok` is false), which alerts and counts both use."""
        return {name: str(info.get("detail") or "fault")[:200]
                for name, info in sorted(self.peripherals.items())
                if isinstance(info, dict) and info.get("ok") is False}


@dataclass(frozen=True, kw_only=True)
class Feedback(_Message):
    """kiosk -> centre on `feedback`: a resident's complaint or suggestion (no NIK)."""

    TYPE = "feedback"
    kiosk_id: str
    feedback_id: str
    at: float
    category: str
    text: str
    lang: str = "id"
    ticket: str = ""
    contact: str = ""  # a phone (E.164) or e-mail for a reply, in its normal form; never logged in full

    def __post_init__(self) -> None:
        _short_id(self.feedback_id, "feedback_id")
        _require(0 < len(self.text) <= 2000, "feedback text must be 1-2000 characters")
        if self.contact:
            try:
                normal = parse_contact(self.contact)[1]
            except ContactError:
                normal = ""
            _require(normal == self.contact, "feedback contact must be a phone number or e-mail address in normal form")


class HelpReason(enum.StrEnum):
    """Why a kiosk asks for an officer."""

    HELP = "help"  # the resident pressed "Call an officer"
    DECLINED = "declined"  # the resident cannot give biometrics: an officer completes it
    DEVICE = "device"  # a device is down: the kiosk's fault, not the resident's


class HelpState(enum.StrEnum):
    """The fleet monitor's answer to a `HelpRequest`, in `HelpAck`."""

    RECEIVED = "received"  # the alert is open on the staff dashboard: stop re-sending
    COMING = "coming"  # a staff member acknowledged it: an officer is on the way


SCREEN_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
LATEST_TIME = 1e11  # year 5138: a time past this is garbage, not a clock error


@dataclass(frozen=True, kw_only=True)
class HelpRequest(_Message):
    """kiosk -> fleet monitor on `help`: a resident at this kiosk needs an officer. Which
    screen they are on and when; never who they are (no NIK, no name, nothing typed)."""

    TYPE = "help_request"
    kiosk_id: str
    request_id: str
    screen: str
    at: float
    reason: HelpReason = HelpReason.HELP

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", HelpReason(self.reason))
        _require(isinstance(self.kiosk_id, str) and bool(KIOSK_ID_RE.fullmatch(self.kiosk_id)), "bad kiosk_id")
        _short_id(self.request_id, "request_id")
        _require(isinstance(self.screen, str) and bool(SCREEN_NAME_RE.fullmatch(self.screen)), "bad screen name")
        _require(0 <= self.at < LATEST_TIME, "time out of range")


@dataclass(frozen=True, kw_only=True)
class HelpAck(_Message):
    """fleet monitor -> kiosk on `ack`: `received` once the help alert is durably open (the
    kiosk drops its copy), `coming` when staff acknowledge it on the dashboard."""

    TYPE = "help_ack"
    request_id: str
    state: HelpState

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", HelpState(self.state))
        _short_id(self.request_id, "request_id")


MAX_PEM_CHARS = 8192  # a CSR or a certificate chain in PEM; ours are under 2 KiB


@dataclass(frozen=True, kw_only=True)
class RenewalRequest(_Message):
    """kiosk -> signer on `renew`: a certificate for a fresh key. `csr` (PEM) is signed by the
    new key, its CN the kiosk id; `proof` (hex) is the current device key's Ed25519 signature
    over `renewal_proof_bytes(request_id, csr)`, and `certificate` the current certificate
    (PEM): a request authenticated twice, by the TLS session and by the current key."""

    TYPE = "renew_request"
    kiosk_id: str
    request_id: str
    at: float
    csr: str
    certificate: str
    proof: str

    def __post_init__(self) -> None:
        _short_id(self.request_id, "request_id")
        for name in ("csr", "certificate"):
            value = getattr(self, name)
            _require(isinstance(value, str) and 0 < len(value) <= MAX_PEM_CHARS, f"bad {name}")
        _require(isinstance(self.proof, str) and len(self.proof) == 128
                 and all(c in "0123456789abcdef" for c in self.proof), "bad proof")


def renewal_proof_bytes(request_id: str, csr: str) -> bytes:
    """What the current key signs in a `RenewalRequest` (domain-separated, bound to the id)."""
    return b"anjungan/v1/renew\0" + request_id.encode() + b"\0" + csr.encode()


class RenewalOutcome(enum.StrEnum):
    ISSUED = "issued"
    REFUSED = "refused"  # `reason` says why; the kiosk keeps its certificate and tries later


@dataclass(frozen=True, kw_only=True)
class RenewalReply(_Message):
    """signer -> kiosk on `renewed`: the new certificate and its issuer chain (PEM), and the
    gateway's current HPKE public key (base64 of `gateway.pub`) with its key id — or a
    refusal with a one-line reason."""

    TYPE = "renew_reply"
    request_id: str
    outcome: RenewalOutcome
    reason: str = ""
    certificate: str = ""
    chain: str = ""
    gateway_key: str = ""
    gateway_key_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", RenewalOutcome(self.outcome))
        _short_id(self.request_id, "request_id")
        _require(len(self.reason) <= 200, "reason too long")
        for name in ("certificate", "chain", "gateway_key"):
            _require(len(getattr(self, name)) <= MAX_PEM_CHARS, f"{name} too long")
        _require(len(self.gateway_key_id) <= 16, "gateway_key_id too long")
        if self.outcome is RenewalOutcome.ISSUED:
            _require(bool(self.certificate), "an issued reply needs its certificate")


def decode_ack_topic(payload: bytes) -> Ack | PacketStatus | FeedbackAck | StatusReply | HelpAck:
    """Messages on a kiosk's `ack` topic: an Ack, a PacketStatus, a FeedbackAck, a
    StatusReply or a HelpAck."""
    try:
        data = parse_json(payload, "ack")
    except MessageError:
        data = None
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == PacketStatus.TYPE:
        return PacketStatus.from_json(payload)
    if kind == FeedbackAck.TYPE:
        return FeedbackAck.from_json(payload)
    if kind == StatusReply.TYPE:
        return StatusReply.from_json(payload)
    if kind == HelpAck.TYPE:
        return HelpAck.from_json(payload)
    return Ack.from_json(payload)
