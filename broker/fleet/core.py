"""The fleet state core: status, health and centre samples in; alert changes out.

Theory of operation. Each kiosk publishes a retained `status` (online, with a fresh session
id per connection) and registers a Last Will saying offline with the same session id. A
will can arrive late, after the kiosk has already reconnected with a new session (the
broker noticed the old connection's death only then); it must not mark the kiosk offline.
So an offline status is accepted only from the kiosk's current session; an online status
always starts a new current session. Health refreshes `last_seen` and the latest readings.

After every input the rules (`broker.fleet.rules`) are evaluated for what it touched, and
the difference from the open alerts is returned as `AlertChange`s to log and store. Time
only passes through `tick(now)`, which re-evaluates everything (offline > N min, expiry).
No I/O and no clock here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from anjungan.messages import Health, HelpState, KioskStatus, LinkState
from broker.fleet.model import (
    Alert,
    AlertAction,
    AlertChange,
    AlertKey,
    AlertKind,
    CentreSample,
    KioskState,
    Thresholds,
)
from broker.fleet.rules import centre_conditions, kiosk_conditions

MAX_OPEN_HELP = 5  # help requests open per kiosk; more are answered but add no alert
ANSWERED_KEPT = 1000  # request ids staff acknowledged, remembered to answer a late re-send


class FleetCore:
    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self.kiosks: dict[str, KioskState] = {}
        self.centre: CentreSample | None = None
        self.alerts: dict[AlertKey, Alert] = {}
        self._by_kiosk: dict[str, set[AlertKey]] = {}
        self.revoked: frozenset[str] = frozenset()  # registry says revoked: no alerts, not up
        self._answered: dict[str, None] = {}  # help request ids staff acknowledged, oldest first

    # -- restoring after a restart ------------------------------------------------------
    def restore(self, kiosks: Iterable[KioskState], alerts: Iterable[Alert]) -> None:
        for k in kiosks:
            self.kiosks[k.kiosk_id] = replace(k, help=())  # rebuilt from the open alerts below
        for a in alerts:
            self._set(a)
            if a.key.kind is AlertKind.HELP:  # the open alert is the help request's durable record
                k = self.kiosks.get(a.key.kiosk_id) or KioskState(kiosk_id=a.key.kiosk_id)
                self.kiosks[k.kiosk_id] = replace(k, help=(*k.help, (a.key.subject, a.detail)))

    # -- inputs ---------------------------------------------------------------------------
    def status(self, msg: KioskStatus, now: float) -> tuple[bool, list[AlertChange]]:
        """(accepted, changes). A will from a session that is not current is ignored."""
        k = self.kiosks.get(msg.kiosk_id) or KioskState(kiosk_id=msg.kiosk_id)
        if msg.state is LinkState.OFFLINE and k.session_id and msg.session_id != k.session_id:
            return False, []
        online = msg.state is LinkState.ONLINE
        self.kiosks[k.kiosk_id] = replace(
            k, online=online, session_id=msg.session_id, status_at=now, last_seen=now
        )
        return True, self._evaluate_kiosk(k.kiosk_id, now)

    def health(self, msg: Health, now: float) -> list[AlertChange]:
        k = self.kiosks.get(msg.kiosk_id) or KioskState(
            kiosk_id=msg.kiosk_id, online=True, session_id=msg.session_id, status_at=now
        )
        # Health proves the link is up; a will that beat it (same session) is not undone.
        self.kiosks[k.kiosk_id] = replace(k, last_seen=now, health=msg)
        return self._evaluate_kiosk(k.kiosk_id, now)

    def help(self, kiosk_id: str, request_id: str, detail: str, now: float) -> tuple[HelpState, list[AlertChange]]:
        """A resident at `kiosk_id` asks for an officer: the help alert opens (once per request
        id: a re-sent request changes nothing). The answer for the kiosk: `coming` if staff
        already acknowledged this request, else `received`."""
        if request_id in self._answered:
            return HelpState.COMING, []
        k = self.kiosks.get(kiosk_id) or KioskState(kiosk_id=kiosk_id)
        if all(rid != request_id for rid, _ in k.help) and len(k.help) < MAX_OPEN_HELP:
            k = replace(k, help=(*k.help, (request_id, detail)))
        self.kiosks[kiosk_id] = k
        return HelpState.RECEIVED, self._evaluate_kiosk(kiosk_id, now)

    def acknowledge_help(self, kiosk_id: str, request_id: str, now: float) -> list[AlertChange]:
        """Staff are on their way: the help alert clears. No change for an unknown request."""
        k = self.kiosks.get(kiosk_id)
        if k is None or all(rid != request_id for rid, _ in k.help):
            return []
        self.kiosks[kiosk_id] = replace(k, help=tuple(h for h in k.help if h[0] != request_id))
        self._answered[request_id] = None
        while len(self._answered) > ANSWERED_KEPT:
            del self._answered[next(iter(self._answered))]
        return self._evaluate_kiosk(kiosk_id, now)

    def sample(self, sample: CentreSample) -> list[AlertChange]:
        self.centre = sample
        return self._diff(centre_conditions(sample, self.thresholds), self._by_kiosk.get("", set()),
                          sample.at)

    def tick(self, now: float) -> list[AlertChange]:
        """Re-evaluate every rule at `now` (time-based alerts open and clear here)."""
        changes: list[AlertChange] = []
        for kiosk_id in list(self.kiosks):
            changes += self._evaluate_kiosk(kiosk_id, now)
        return changes

    def set_revoked(self, kiosk_ids: frozenset[str], now: float) -> list[AlertChange]:
        """The registry's revoked kiosks: their alerts clear (a revoked kiosk going silent is
        expected, not an incident), and they never count as up."""
        changed = kiosk_ids ^ self.revoked
        self.revoked = kiosk_ids
        changes: list[AlertChange] = []
        for kiosk_id in sorted(changed & set(self.kiosks)):
            changes += self._evaluate_kiosk(kiosk_id, now)
        return changes

    def forget(self, kiosk_id: str, now: float) -> list[AlertChange]:
        """A decommissioned kiosk: drop it and clear its alerts."""
        self.kiosks.pop(kiosk_id, None)
        return self._diff({}, self._by_kiosk.get(kiosk_id, set()), now)

    # -- queries --------------------------------------------------------------------------
    def is_up(self, kiosk_id: str, now: float) -> bool:
        k = self.kiosks.get(kiosk_id)
        return (k is not None and kiosk_id not in self.revoked
                and k.is_up(now, self.thresholds.offline_after_s))

    def open_alerts(self, kiosk_id: str | None = None) -> list[Alert]:
        keys = self.alerts if kiosk_id is None else self._by_kiosk.get(kiosk_id, set())
        return sorted((self.alerts[k] for k in keys), key=lambda a: (a.opened_at, a.key))

    def adopt(self, stored: Iterable[Alert], now: float) -> list[AlertChange]:
        """This monitor starts writing to a store another monitor wrote: the changes that make
        the store's open alerts this core's, opening only what is not open there yet (an alert
        open in both keeps the store's opening time) and clearing what this core no longer sees."""
        there = {a.key: a for a in stored}
        changes = [AlertChange(action=AlertAction.CLEAR, alert=there[key], at=now)
                   for key in sorted(set(there) - set(self.alerts))]
        for key in sorted(self.alerts):
            if key in there:
                self.alerts[key] = replace(self.alerts[key], opened_at=there[key].opened_at)
            else:
                changes.append(AlertChange(action=AlertAction.OPEN, alert=self.alerts[key], at=now))
        return changes

    # -- internals ------------------------------------------------------------------------
    def _evaluate_kiosk(self, kiosk_id: str, now: float) -> list[AlertChange]:
        revoked = kiosk_id in self.revoked
        wanted = {} if revoked else kiosk_conditions(self.kiosks[kiosk_id], self.thresholds, now)
        return self._diff(wanted, self._by_kiosk.get(kiosk_id, set()), now)

    def _diff(self, wanted: dict[AlertKey, str], current: set[AlertKey], now: float) -> list[AlertChange]:
        changes: list[AlertChange] = []
        for key in sorted(current - set(wanted)):
            alert = self.alerts.pop(key)
            self._by_kiosk[key.kiosk_id].discard(key)
            changes.append(AlertChange(action=AlertAction.CLEAR, alert=alert, at=now))
        for key in sorted(set(wanted) - current):
            alert = Alert(key=key, detail=wanted[key], opened_at=now)
            self._set(alert)
            changes.append(AlertChange(action=AlertAction.OPEN, alert=alert, at=now))
        for key in set(wanted) & current:  # still open: show today's numbers, no new log line
            if self.alerts[key].detail != wanted[key]:
                self.alerts[key] = replace(self.alerts[key], detail=wanted[key])
        return changes

    def _set(self, alert: Alert) -> None:
        self.alerts[alert.key] = alert
        self._by_kiosk.setdefault(alert.key.kiosk_id, set()).add(alert.key)
