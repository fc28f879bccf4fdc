"""Fleet records: kiosk state, relay/SIAK samples, alert keys and changes, thresholds.

All frozen and keyword-only. Times are Unix seconds passed in by the caller.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Any

from anjungan.messages import Health
from broker.fleet.errors import FleetConfigError


class AlertKind(enum.StrEnum):
    OFFLINE = "offline"  # kiosk offline (or silent) longer than offline_after_s
    PERIPHERAL = "peripheral"  # a device reports ok=false; subject = device name
    OUTBOX = "outbox"  # the kiosk's oldest unacknowledged packet is too old
    REJECTED = "rejected"  # the centre refused some of the kiosk's packets for good
    RELAY_BACKLOG = "relay_backlog"  # centre-wide; subject = priority class
    SIAK_CIRCUIT = "siak_circuit"  # centre-wide: the relay's breaker is not closed
    CERT_EXPIRING = "cert_expiring"
    TAMPER = "tamper"
    DISK_LOW = "disk_low"
    TEMPERATURE = "temperature"
    OUT_OF_SERVICE = "out_of_service"  # the kiosk refuses to sign: its clock is outside its certificate
    TRUST_EXPIRING = "trust_expiring"  # centre-wide: a CA, centre certificate or the CRL; subject = file
    HELP = "help"  # a resident asked for an officer; subject = the request id; staff acknowledge it


SEVERITY: dict[AlertKind, str] = {
    AlertKind.OFFLINE: "critical", AlertKind.PERIPHERAL: "warning", AlertKind.OUTBOX: "warning",
    AlertKind.REJECTED: "critical",
    AlertKind.RELAY_BACKLOG: "warning", AlertKind.SIAK_CIRCUIT: "critical",
    AlertKind.CERT_EXPIRING: "warning", AlertKind.TAMPER: "critical",
    AlertKind.DISK_LOW: "warning", AlertKind.TEMPERATURE: "warning",
    AlertKind.OUT_OF_SERVICE: "critical", AlertKind.TRUST_EXPIRING: "critical",
    AlertKind.HELP: "critical",
}


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Alert rules' settings; every one can be changed in the service's config."""

    offline_after_s: float = 300.0
    outbox_oldest_after_s: float = 900.0
    relay_oldest_after_s: float = 900.0
    # kiosks renew 10 days before expiry (2/3 of 30 days): the alert means a renewal failed
    cert_expiry_warn_s: float = 7 * 86400.0
    disk_free_min_pct: float = 10.0
    temperature_max_c: float = 75.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise FleetConfigError(f"alert threshold {f.name} must be a number >= 0")

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Thresholds:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FleetConfigError(f"unknown alert thresholds {unknown}; known: {sorted(known)}")
        return cls(**data)


@dataclass(frozen=True, kw_only=True, order=True)
class AlertKey:
    kind: AlertKind
    kiosk_id: str = ""  # "" for centre-wide alerts
    subject: str = ""  # device name, priority class, or ""

    @property
    def text(self) -> str:
        return f"{self.kind.value}:{self.kiosk_id}:{self.subject}"

    @classmethod
    def parse(cls, text: str) -> AlertKey:
        kind, kiosk_id, subject = text.split(":", 2)
        return cls(kind=AlertKind(kind), kiosk_id=kiosk_id, subject=subject)


@dataclass(frozen=True, kw_only=True)
class Alert:
    key: AlertKey
    detail: str
    opened_at: float

    @property
    def severity(self) -> str:
        return SEVERITY[self.key.kind]


class AlertAction(enum.StrEnum):
    OPEN = "open"
    CLEAR = "clear"


@dataclass(frozen=True, kw_only=True)
class AlertChange:
    action: AlertAction
    alert: Alert
    at: float


@dataclass(frozen=True, kw_only=True)
class KioskState:
    """What the centre knows of one kiosk. `online` is the last accepted status."""

    kiosk_id: str
    online: bool = False
    session_id: str = ""
    status_at: float | None = None  # when the accepted status was received
    last_seen: float | None = None  # last status or health received
    health: Health | None = None
    help: tuple[tuple[str, str], ...] = ()  # (request id, detail) of each open help request

    def silent_for(self, now: float) -> float:
        return now - self.last_seen if self.last_seen is not None else 0.0

    def is_up(self, now: float, offline_after_s: float) -> bool:
        """Online, and heard from within the offline threshold (a dead link without a will)."""
        return self.online and self.silent_for(now) < offline_after_s


@dataclass(frozen=True, kw_only=True)
class ClassBacklog:
    priority: int  # anjungan.packet.model.PriorityClass value
    depth: int
    oldest_age_s: float


@dataclass(frozen=True, kw_only=True)
class CentreSample:
    """The relay's side, sampled from the queue (depth, oldest age) and the SIAK breaker."""

    at: float
    backlog: tuple[ClassBacklog, ...] = ()
    siak_circuit: str = "closed"  # closed | open | half_open | unknown
    # (file, expiry) of the fleet's CAs, centre certificates and CRL (`provisioning.status.expiries`)
    expiries: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if self.siak_circuit not in ("closed", "open", "half_open", "unknown"):
            raise ValueError(f"unknown circuit state {self.siak_circuit!r}")

    @property
    def siak_available(self) -> bool:
        return self.siak_circuit == "closed"
