"""The in-memory twin of the fleet store (`memory://`): same interface, same answers as
the SQL store, no durability. For tests and benchmarks; the shared suite
(tests/fleet/test_store.py) runs it beside SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from broker.fleet.errors import StoreError
from broker.fleet.model import Alert, AlertAction, AlertKey, CentreSample, KioskState
from broker.fleet.store.records import (
    AlertLogEntry,
    Batch,
    CaptureCount,
    FeedbackRecord,
    HealthPoint,
    Site,
    StaffSession,
)


class MemoryFleetStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._open = True
        self._health: list[HealthPoint] = []
        self._kiosks: dict[str, KioskState] = {}
        self._alerts: dict[str, Alert] = {}
        self._alert_log: list[AlertLogEntry] = []  # oldest first (the SQL store's id order)
        self._centre: list[CentreSample] = []
        self._captures: dict[tuple[float, int], int] = {}
        self._feedback: dict[str, FeedbackRecord] = {}
        self._sites: dict[str, Site] = {}
        self._staff: dict[str, str] = {}
        self._sessions: dict[str, StaffSession] = {}
        self._leases: dict[str, tuple[str, float]] = {}  # role -> (holder, until)

    @contextmanager
    def _held(self) -> Iterator[None]:
        with self._lock:
            if not self._open:
                raise StoreError("fleet store is closed")
            yield

    # -- writing --------------------------------------------------------------------------
    def commit(self, batch: Batch) -> None:
        with self._held():
            self._health.extend(batch.health)
            self._kiosks.update(batch.kiosks)
            for c in batch.changes:
                if c.action is AlertAction.OPEN:
                    self._alerts[c.alert.key.text] = c.alert
                else:
                    self._alerts.pop(c.alert.key.text, None)
                self._alert_log.append(AlertLogEntry(at=c.at, action=c.action.value,
                                                     key=c.alert.key.text, detail=c.alert.detail))
            for r in batch.feedback:
                self._feedback.setdefault(r.feedback.feedback_id, r)
            self._centre.extend(batch.samples)
            for at, priority in batch.captures:
                key = (float(int(at // 3600) * 3600), priority)
                self._captures[key] = self._captures.get(key, 0) + 1

    def claim(self, role: str, holder: str, *, now: float, ttl_s: float) -> bool:
        with self._held():
            current = self._leases.get(role)
            if current is not None and current[0] != holder and current[1] >= now:
                return False
            self._leases[role] = (holder, now + ttl_s)
            return True

    def prune(self, *, before: float) -> int:
        with self._held():
            n = len(self._health) + len(self._centre) + len(self._alert_log)
            n += len(self._captures) + len(self._sessions)
            self._health = [h for h in self._health if h.at >= before]
            self._centre = [c for c in self._centre if c.at >= before]
            self._alert_log = [e for e in self._alert_log if e.at >= before]
            self._captures = {k: v for k, v in self._captures.items() if k[0] >= before}
            self._sessions = {k: s for k, s in self._sessions.items() if s.expires_at >= before}
            return n - (len(self._health) + len(self._centre) + len(self._alert_log)
                        + len(self._captures) + len(self._sessions))

    # -- reading --------------------------------------------------------------------------
    def health_history(self, kiosk_id: str, *, since: float) -> list[HealthPoint]:
        with self._held():
            return sorted((h for h in self._health if h.kiosk_id == kiosk_id and h.at >= since),
                          key=lambda h: h.at)

    def kiosks(self) -> list[KioskState]:
        with self._held():
            return [self._kiosks[k] for k in sorted(self._kiosks)]

    def open_alerts(self) -> list[Alert]:
        with self._held():
            return sorted(self._alerts.values(), key=lambda a: (a.opened_at, a.key.text))

    def alert_log(self, *, kiosk_id: str | None = None, limit: int = 100) -> list[AlertLogEntry]:
        with self._held():
            out = [e for e in reversed(self._alert_log)
                   if kiosk_id is None or AlertKey.parse(e.key).kiosk_id == kiosk_id]
            return out[:limit]

    def centre_history(self, *, since: float) -> list[CentreSample]:
        with self._held():
            return sorted((c for c in self._centre if c.at >= since), key=lambda c: c.at)

    def captures(self, *, since: float) -> list[CaptureCount]:
        with self._held():
            return [CaptureCount(hour=h, priority=p, count=n)
                    for (h, p), n in sorted(self._captures.items()) if h >= since]

    def feedback(self, *, answered: bool | None = None, limit: int = 200) -> list[FeedbackRecord]:
        with self._held():
            rows = sorted(self._feedback.values(), key=lambda r: r.feedback.feedback_id)
            rows.sort(key=lambda r: r.feedback.at, reverse=True)  # newest first, then by id
            return [r for r in rows if answered is None or r.answered is answered][:limit]

    def mark_answered(self, feedback_id: str, *, by: str, at: float) -> bool:
        with self._held():
            r = self._feedback.get(feedback_id)
            if r is None or r.answered:
                return False
            self._feedback[feedback_id] = replace(r, answered=True, answered_at=at, answered_by=by)
            return True

    # -- sites ----------------------------------------------------------------------------
    def set_site(self, site: Site) -> None:
        with self._held():
            self._sites[site.kiosk_id] = site

    def sites(self) -> dict[str, Site]:
        with self._held():
            return dict(self._sites)

    # -- staff and sessions ---------------------------------------------------------------
    def set_staff(self, username: str, password_hash: str, *, at: float) -> None:
        with self._held():
            self._staff[username] = password_hash

    def staff_hash(self, username: str) -> str | None:
        with self._held():
            return self._staff.get(username)

    def staff_count(self) -> int:
        with self._held():
            return len(self._staff)

    def add_session(self, session: StaffSession) -> None:
        with self._held():
            if session.token_hash in self._sessions:  # the SQL store's primary key
                raise StoreError("fleet store failed: session token already stored")
            self._sessions[session.token_hash] = session

    def session(self, token_hash: str, *, now: float) -> StaffSession | None:
        with self._held():
            s = self._sessions.get(token_hash)
            return s if s is not None and s.expires_at > now else None

    def drop_session(self, token_hash: str) -> None:
        with self._held():
            self._sessions.pop(token_hash, None)

    def close(self) -> None:
        with self._lock:
            self._open = False
