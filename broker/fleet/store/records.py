"""What the fleet store keeps: health points, feedback, captures, alert log, staff, sessions."""

from __future__ import annotations

from dataclasses import dataclass, field

from anjungan.messages import Feedback
from broker.fleet.model import AlertChange, CentreSample, KioskState


@dataclass(frozen=True, kw_only=True)
class HealthPoint:
    """One sample of a kiosk's health time series (no free text, nothing personal)."""

    kiosk_id: str
    at: float
    online: bool
    outbox_depth: int
    outbox_oldest_s: float
    disk_free_pct: float
    temperature_c: float | None
    faults: int  # devices reporting ok=false


@dataclass(frozen=True, kw_only=True)
class FeedbackRecord:
    feedback: Feedback
    received_at: float
    answered: bool = False
    answered_at: float | None = None
    answered_by: str = ""


@dataclass(frozen=True, kw_only=True)
class CaptureCount:
    hour: float  # start of the hour, Unix seconds
    priority: int
    count: int


@dataclass(frozen=True, kw_only=True)
class AlertLogEntry:
    at: float
    action: str  # open | clear
    key: str  # AlertKey.text
    detail: str


@dataclass(frozen=True, kw_only=True)
class Site:
    kiosk_id: str
    office: str
    kecamatan: str


@dataclass(frozen=True, kw_only=True)
class StaffSession:
    token_hash: str
    user: str
    csrf: str
    expires_at: float


@dataclass(kw_only=True)
class Batch:
    """Everything one flush commits in one transaction."""

    health: list[HealthPoint] = field(default_factory=list)
    kiosks: dict[str, KioskState] = field(default_factory=dict)  # latest snapshot per kiosk
    changes: list[AlertChange] = field(default_factory=list)
    feedback: list[FeedbackRecord] = field(default_factory=list)
    samples: list[CentreSample] = field(default_factory=list)
    captures: list[tuple[float, int]] = field(default_factory=list)  # (at, priority)

    def __bool__(self) -> bool:
        return bool(self.health or self.kiosks or self.changes or self.feedback or self.samples
                    or self.captures)
