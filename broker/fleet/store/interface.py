"""The fleet store's interface: SQLite, PostgreSQL (sql.py) and memory (memory.py) alike."""

from __future__ import annotations

from typing import Protocol

from broker.fleet.model import Alert, CentreSample, KioskState
from broker.fleet.store.records import (
    AlertLogEntry,
    Batch,
    CaptureCount,
    FeedbackRecord,
    HealthPoint,
    Site,
    StaffSession,
)


class FleetStore(Protocol):
    """Every call raises StoreError once the store is closed or its database fails."""

    # -- writing
    def commit(self, batch: Batch) -> None:
        """Everything in the batch at once (one transaction)."""

    def prune(self, *, before: float) -> int:
        """Drop time series, alert log and sessions older than `before`; rows dropped."""

    def claim(self, role: str, holder: str, *, now: float, ttl_s: float) -> bool:
        """Take or keep the lease on `role` for `holder` until `now + ttl_s`. False while
        another holder's lease runs: several monitors on one store, one writer."""

    # -- reading
    def health_history(self, kiosk_id: str, *, since: float) -> list[HealthPoint]: ...
    def kiosks(self) -> list[KioskState]: ...
    def open_alerts(self) -> list[Alert]: ...
    def alert_log(self, *, kiosk_id: str | None = None, limit: int = 100) -> list[AlertLogEntry]: ...
    def centre_history(self, *, since: float) -> list[CentreSample]: ...
    def captures(self, *, since: float) -> list[CaptureCount]: ...
    def feedback(self, *, answered: bool | None = None, limit: int = 200) -> list[FeedbackRecord]: ...

    def mark_answered(self, feedback_id: str, *, by: str, at: float) -> bool:
        """False when unknown or already answered."""

    # -- sites, staff and sessions
    def set_site(self, site: Site) -> None: ...
    def sites(self) -> dict[str, Site]: ...
    def set_staff(self, username: str, password_hash: str, *, at: float) -> None: ...
    def staff_hash(self, username: str) -> str | None: ...
    def staff_count(self) -> int: ...
    def add_session(self, session: StaffSession) -> None: ...
    def session(self, token_hash: str, *, now: float) -> StaffSession | None: ...
    def drop_session(self, token_hash: str) -> None: ...
    def close(self) -> None: ...
