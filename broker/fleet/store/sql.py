"""The fleet store over SQL, written once for SQLite and PostgreSQL.

Dialects differ only in how they connect, the placeholder and a few column types; the SQL
text is written with `?` and `{P}` (the table prefix) and translated. One connection guarded
by a lock: the writer thread commits a batch every fraction of a second, the dashboard
reads between.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from anjungan.messages import Feedback, Health, MessageError
from broker.fleet.model import (
    Alert,
    AlertAction,
    AlertKey,
    CentreSample,
    ClassBacklog,
    KioskState,
)
from broker.fleet.store.records import (
    AlertLogEntry,
    Batch,
    CaptureCount,
    FeedbackRecord,
    HealthPoint,
    Site,
    StaffSession,
)

DDL = """
CREATE TABLE IF NOT EXISTS {P}health (
  kiosk_id TEXT NOT NULL, at {F} NOT NULL, online INTEGER NOT NULL,
  outbox_depth INTEGER NOT NULL, outbox_oldest_s {F} NOT NULL, disk_free_pct {F} NOT NULL,
  temperature_c {F}, faults INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS {I}health_kiosk_at ON {P}health (kiosk_id, at);
CREATE INDEX IF NOT EXISTS {I}health_at ON {P}health (at);
CREATE TABLE IF NOT EXISTS {P}kiosks (
  kiosk_id TEXT PRIMARY KEY, online INTEGER NOT NULL, session_id TEXT NOT NULL,
  status_at {F}, last_seen {F}, health TEXT
);
CREATE TABLE IF NOT EXISTS {P}alerts (
  key TEXT PRIMARY KEY, detail TEXT NOT NULL, opened_at {F} NOT NULL
);
CREATE TABLE IF NOT EXISTS {P}alert_log (
  id {SERIAL}, at {F} NOT NULL, action TEXT NOT NULL, key TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {P}centre (
  at {F} NOT NULL, circuit TEXT NOT NULL, backlog TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {I}centre_at ON {P}centre (at);
CREATE TABLE IF NOT EXISTS {P}captures (
  hour {F} NOT NULL, priority INTEGER NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (hour, priority)
);
CREATE TABLE IF NOT EXISTS {P}feedback (
  feedback_id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, at {F} NOT NULL,
  received_at {F} NOT NULL, category TEXT NOT NULL, text TEXT NOT NULL, lang TEXT NOT NULL,
  ticket TEXT NOT NULL, answered INTEGER NOT NULL, answered_at {F}, answered_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {P}sites (
  kiosk_id TEXT PRIMARY KEY, office TEXT NOT NULL, kecamatan TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {P}staff (
  username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created_at {F} NOT NULL
);
CREATE TABLE IF NOT EXISTS {P}leases (
  role TEXT PRIMARY KEY, holder TEXT NOT NULL, until {F} NOT NULL
);
CREATE TABLE IF NOT EXISTS {P}sessions (
  token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL, expires_at {F} NOT NULL
)
"""


class SqlFleetStore:
    """Shared SQL; subclasses set `placeholder`, `prefix`, `types` and `_connect`."""

    placeholder = "?"
    types = {"F": "REAL", "SERIAL": "INTEGER PRIMARY KEY AUTOINCREMENT"}

    def __init__(self, *, prefix: str = "", index_prefix: str = "") -> None:
        self.prefix, self.index_prefix = prefix, index_prefix
        self._lock = threading.RLock()
        self._db: Any = None

    # -- dialect hooks --------------------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        raise NotImplementedError
        yield

    def _sql(self, text: str) -> str:
        text = text.replace("{P}", self.prefix).replace("{I}", self.index_prefix)
        for name, value in self.types.items():
            text = text.replace("{" + name + "}", value)
        return text.replace("?", self.placeholder) if self.placeholder != "?" else text

    def _create(self) -> None:
        with self._tx() as cur:
            for stmt in DDL.split(";"):
                if stmt.strip():
                    cur.execute(self._sql(stmt))

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._tx() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return list(cur.fetchall())

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._tx() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return int(cur.rowcount)

    # -- writing --------------------------------------------------------------------------
    def commit(self, batch: Batch) -> None:
        """Everything in the batch in one transaction."""
        with self._tx() as cur:
            s = self._sql
            if batch.health:
                cur.executemany(s("INSERT INTO {P}health VALUES (?, ?, ?, ?, ?, ?, ?, ?)"), [
                    (h.kiosk_id, h.at, int(h.online), h.outbox_depth, h.outbox_oldest_s,
                     h.disk_free_pct, h.temperature_c, h.faults) for h in batch.health])
            if batch.kiosks:
                cur.executemany(s(
                    "INSERT INTO {P}kiosks VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kiosk_id) DO UPDATE"
                    " SET online = excluded.online, session_id = excluded.session_id,"
                    " status_at = excluded.status_at, last_seen = excluded.last_seen,"
                    " health = excluded.health"), [
                    (k.kiosk_id, int(k.online), k.session_id, k.status_at, k.last_seen,
                     k.health.to_json().decode() if k.health else None)
                    for k in batch.kiosks.values()])
            for c in batch.changes:
                a = c.alert
                if c.action is AlertAction.OPEN:
                    cur.execute(s("INSERT INTO {P}alerts VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE"
                                  " SET detail = excluded.detail, opened_at = excluded.opened_at"),
                                (a.key.text, a.detail, a.opened_at))
                else:
                    cur.execute(s("DELETE FROM {P}alerts WHERE key = ?"), (a.key.text,))
                cur.execute(s("INSERT INTO {P}alert_log (at, action, key, detail) VALUES (?, ?, ?, ?)"),
                            (c.at, c.action.value, a.key.text, a.detail))
            for r in batch.feedback:
                f = r.feedback
                cur.execute(s("INSERT INTO {P}feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                              " ON CONFLICT (feedback_id) DO NOTHING"),
                            (f.feedback_id, f.kiosk_id, f.at, r.received_at, f.category, f.text,
                             f.lang, f.ticket, int(r.answered), r.answered_at, r.answered_by))
            if batch.samples:
                cur.executemany(s("INSERT INTO {P}centre VALUES (?, ?, ?)"), [
                    (c.at, c.siak_circuit, json.dumps([[b.priority, b.depth, b.oldest_age_s]
                                                        for b in c.backlog]))
                    for c in batch.samples])
            counts: dict[tuple[float, int], int] = {}
            for at, priority in batch.captures:
                hour = float(int(at // 3600) * 3600)
                counts[(hour, priority)] = counts.get((hour, priority), 0) + 1
            for (hour, priority), n in sorted(counts.items()):
                cur.execute(s("INSERT INTO {P}captures VALUES (?, ?, ?) ON CONFLICT (hour, priority)"
                              " DO UPDATE SET count = {P}captures.count + excluded.count"),
                            (hour, priority, n))

    def claim(self, role: str, holder: str, *, now: float, ttl_s: float) -> bool:
        # one statement: taken when free, expired or already ours; untouched (0 rows) otherwise
        return self._exec("INSERT INTO {P}leases VALUES (?, ?, ?) ON CONFLICT (role) DO UPDATE"
                          " SET holder = excluded.holder, until = excluded.until"
                          " WHERE {P}leases.holder = excluded.holder OR {P}leases.until < ?",
                          (role, holder, now + ttl_s, now)) == 1

    def prune(self, *, before: float) -> int:
        """Drop time series older than `before` (retention). Returns rows dropped."""
        n = 0
        for table, column in (("health", "at"), ("centre", "at"), ("captures", "hour"),
                              ("alert_log", "at")):
            n += self._exec(f"DELETE FROM {{P}}{table} WHERE {column} < ?", (before,))
        n += self._exec("DELETE FROM {P}sessions WHERE expires_at < ?", (before,))
        return n

    # -- reading --------------------------------------------------------------------------
    def health_history(self, kiosk_id: str, *, since: float) -> list[HealthPoint]:
        rows = self._rows("SELECT * FROM {P}health WHERE kiosk_id = ? AND at >= ? ORDER BY at",
                          (kiosk_id, since))
        return [HealthPoint(kiosk_id=r[0], at=r[1], online=bool(r[2]), outbox_depth=r[3],
                            outbox_oldest_s=r[4], disk_free_pct=r[5], temperature_c=r[6],
                            faults=r[7]) for r in rows]

    def kiosks(self) -> list[KioskState]:
        out = []
        for r in self._rows("SELECT * FROM {P}kiosks ORDER BY kiosk_id"):
            try:
                health = Health.from_json(r[5].encode()) if r[5] else None
            except MessageError:
                health = None
            out.append(KioskState(kiosk_id=r[0], online=bool(r[1]), session_id=r[2],
                                  status_at=r[3], last_seen=r[4], health=health))
        return out

    def open_alerts(self) -> list[Alert]:
        rows = self._rows("SELECT key, detail, opened_at FROM {P}alerts ORDER BY opened_at, key")
        return [Alert(key=AlertKey.parse(r[0]), detail=r[1], opened_at=r[2]) for r in rows]

    def alert_log(self, *, kiosk_id: str | None = None, limit: int = 100) -> list[AlertLogEntry]:
        where, params = ("", []) if kiosk_id is None else (" WHERE key LIKE ?", [f"%:{kiosk_id}:%"])
        rows = self._rows(f"SELECT at, action, key, detail FROM {{P}}alert_log{where}"
                          " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [AlertLogEntry(at=r[0], action=r[1], key=r[2], detail=r[3]) for r in rows]

    def centre_history(self, *, since: float) -> list[CentreSample]:
        rows = self._rows("SELECT at, circuit, backlog FROM {P}centre WHERE at >= ? ORDER BY at",
                          (since,))
        return [CentreSample(at=r[0], siak_circuit=r[1], backlog=tuple(
            ClassBacklog(priority=p, depth=d, oldest_age_s=o) for p, d, o in json.loads(r[2])))
            for r in rows]

    def captures(self, *, since: float) -> list[CaptureCount]:
        rows = self._rows("SELECT hour, priority, count FROM {P}captures WHERE hour >= ?"
                          " ORDER BY hour, priority", (since,))
        return [CaptureCount(hour=r[0], priority=r[1], count=r[2]) for r in rows]

    def feedback(self, *, answered: bool | None = None, limit: int = 200) -> list[FeedbackRecord]:
        where, params = ("", []) if answered is None else (" WHERE answered = ?", [int(answered)])
        rows = self._rows(f"SELECT * FROM {{P}}feedback{where} ORDER BY at DESC, feedback_id"
                          " LIMIT ?", (*params, limit))
        return [FeedbackRecord(
            feedback=Feedback(feedback_id=r[0], kiosk_id=r[1], at=r[2], category=r[4], text=r[5],
                              lang=r[6], ticket=r[7]),
            received_at=r[3], answered=bool(r[8]), answered_at=r[9], answered_by=r[10])
            for r in rows]

    def mark_answered(self, feedback_id: str, *, by: str, at: float) -> bool:
        """False when unknown or already answered."""
        return self._exec("UPDATE {P}feedback SET answered = 1, answered_at = ?, answered_by = ?"
                          " WHERE feedback_id = ? AND answered = 0", (at, by, feedback_id)) == 1

    # -- sites --------------------------------------------------------------------------
    def set_site(self, site: Site) -> None:
        self._exec("INSERT INTO {P}sites VALUES (?, ?, ?) ON CONFLICT (kiosk_id) DO UPDATE"
                   " SET office = excluded.office, kecamatan = excluded.kecamatan",
                   (site.kiosk_id, site.office, site.kecamatan))

    def sites(self) -> dict[str, Site]:
        rows = self._rows("SELECT kiosk_id, office, kecamatan FROM {P}sites")
        return {r[0]: Site(kiosk_id=r[0], office=r[1], kecamatan=r[2]) for r in rows}

    # -- staff and sessions ---------------------------------------------------------------
    def set_staff(self, username: str, password_hash: str, *, at: float) -> None:
        self._exec("INSERT INTO {P}staff VALUES (?, ?, ?) ON CONFLICT (username) DO UPDATE"
                   " SET password_hash = excluded.password_hash", (username, password_hash, at))

    def staff_hash(self, username: str) -> str | None:
        rows = self._rows("SELECT password_hash FROM {P}staff WHERE username = ?", (username,))
        return str(rows[0][0]) if rows else None

    def staff_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM {P}staff")[0][0])

    def add_session(self, session: StaffSession) -> None:
        self._exec("INSERT INTO {P}sessions VALUES (?, ?, ?, ?)",
                   (session.token_hash, session.user, session.csrf, session.expires_at))

    def session(self, token_hash: str, *, now: float) -> StaffSession | None:
        rows = self._rows("SELECT * FROM {P}sessions WHERE token_hash = ? AND expires_at > ?",
                          (token_hash, now))
        return StaffSession(token_hash=rows[0][0], user=rows[0][1], csrf=rows[0][2],
                            expires_at=rows[0][3]) if rows else None

    def drop_session(self, token_hash: str) -> None:
        self._exec("DELETE FROM {P}sessions WHERE token_hash = ?", (token_hash,))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
