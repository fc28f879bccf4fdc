"""The durable queue over SQL: one implementation, two dialects (sqlite.py, postgres.py).

Statements are written once with `?` placeholders; a dialect supplies its connection,
its placeholder, its column types, how it lists a table's columns and its way to lease
(SQLite: one writer at a time via BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE SKIP LOCKED so
several workers never collide). The schema is one template for both (`TABLES`,
`LATER_COLUMNS`, `INDEXES`), as the fleet store's. Each thread gets its own connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from anjungan.messages import SiakState
from anjungan.packet.model import PriorityClass
from broker.policy import DEFAULT_AGING_S, rank
from broker.queue.body_storage import BODY_COLUMNS, BodyStorage, InlineBodies
from broker.queue.model import (
    FINAL_SIAK_STATES,
    REJECTIONS_KEPT,
    Admission,
    ClassDepth,
    Entry,
    EntryState,
    Envelope,
    Lease,
    Rejection,
)

ENTRY_COLUMNS = (
    "packet_id, kiosk_id, sequence, priority, state, captured_at, committed_at, "
    "accepted_at, attempts, siak_state, reason"
)
_FINAL = tuple(s.value for s in FINAL_SIAK_STATES)

# The schema, one template for both dialects: {P} and {R} are the two tables, {I} the
# index prefix (an index is named {I}<table>_<purpose>), {F}, {INT8}, {BLOB} and {SERIAL}
# the dialect's type names (`SqlQueue.types`). Both dialects have every column, the body
# columns included, even where PostgreSQL leaves them empty (bodies stay in `packet`).
TABLES = """
CREATE TABLE IF NOT EXISTS {P} (
  packet_id TEXT PRIMARY KEY,
  kiosk_id TEXT NOT NULL,
  sequence {INT8} NOT NULL,
  priority INTEGER NOT NULL,
  state TEXT NOT NULL,
  captured_at {F} NOT NULL,
  committed_at {F} NOT NULL,
  accepted_at {F},
  attempts INTEGER NOT NULL,
  siak_state TEXT NOT NULL,
  reason TEXT NOT NULL,
  rank {F} NOT NULL,
  visible_at {F} NOT NULL,
  owner TEXT NOT NULL,
  packet {BLOB},
  body_file TEXT,
  body_len {INT8},
  body_sha256 {BLOB},
  UNIQUE (kiosk_id, sequence)
);
CREATE TABLE IF NOT EXISTS {R} (
  id {SERIAL},
  kiosk_id TEXT NOT NULL, packet_id TEXT NOT NULL, reason TEXT NOT NULL,
  at {F} NOT NULL, detail TEXT NOT NULL, repeats INTEGER NOT NULL DEFAULT 1
)
"""
# Columns added after the first release: a queue made before gets them on open.
# (table, column, type as in TABLES)
LATER_COLUMNS = (
    ("packets", "body_file", "TEXT"),
    ("packets", "body_len", "{INT8}"),
    ("packets", "body_sha256", "{BLOB}"),
    ("rejections", "repeats", "INTEGER NOT NULL DEFAULT 1"),
)
# After the migration: indexes may name columns an older queue lacked.
INDEXES = """
CREATE INDEX IF NOT EXISTS {I}packets_ready ON {P} (state, rank);
CREATE INDEX IF NOT EXISTS {I}packets_leased ON {P} (owner) WHERE owner <> '';
CREATE INDEX IF NOT EXISTS {I}rejections_key ON {R} (kiosk_id, reason)
"""


class SqlQueue:
    placeholder = "?"
    types = {"F": "REAL", "INT8": "INTEGER", "BLOB": "BLOB", "SERIAL": "INTEGER PRIMARY KEY AUTOINCREMENT"}

    def __init__(self, *, aging_s: float = DEFAULT_AGING_S, prefix: str = "", index_prefix: str = "") -> None:
        self.aging_s = aging_s
        self.t_packets = f"{prefix}packets"
        self.t_rejections = f"{prefix}rejections"
        self.index_prefix = index_prefix
        # where sealed bodies live (body_storage.py); a dialect may choose another
        self.storage: BodyStorage = InlineBodies()
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()

    # -- dialect hooks -------------------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    @contextmanager
    def _write_tx(self) -> Iterator[Any]:
        """A transaction that will write; yields a cursor."""
        raise NotImplementedError
        yield  # pragma: no cover

    def _lease_rows(self, cur: Any, *, owner: str, now: float, lease_s: float, limit: int) -> list[Any]:
        raise NotImplementedError

    @contextmanager
    def _read_tx(self) -> Iterator[Any]:
        """A transaction that only reads (a dialect may make it cheaper than a write)."""
        with self._write_tx() as cur:
            yield cur

    def _columns(self, cur: Any, table: str) -> set[str]:
        """The columns `table` ("packets" or "rejections") has now."""
        raise NotImplementedError

    # Dropping a body clears every body column, whichever holds it.
    drop_body_sql = "packet = NULL, body_file = NULL, body_len = NULL, body_sha256 = NULL"

    def stage(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        return self.storage.stage(envelopes)

    # -- plumbing ------------------------------------------------------------------------
    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _sql(self, sql: str) -> str:
        sql = sql.replace("{P}", self.t_packets).replace("{R}", self.t_rejections)
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _ddl(self, text: str) -> str:
        text = text.replace("{I}", self.index_prefix)
        for name, value in self.types.items():
            text = text.replace("{" + name + "}", value)
        return self._sql(text)

    def _create(self, cur: Any) -> None:
        """Make the schema, or bring an older one up to it; inside a write transaction."""
        for stmt in TABLES.split(";"):
            cur.execute(self._ddl(stmt))
        have = {t: self._columns(cur, t) for t in {t for t, _, _ in LATER_COLUMNS}}
        table = {"packets": "{P}", "rejections": "{R}"}
        for t, col, kind in LATER_COLUMNS:
            if col not in have[t]:
                cur.execute(self._ddl(f"ALTER TABLE {table[t]} ADD COLUMN {col} {kind}"))
        for stmt in INDEXES.split(";"):
            cur.execute(self._ddl(stmt))

    def _x(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        cur.execute(self._sql(sql), tuple(params))
        return cur

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._read_tx() as cur:
            return list(self._x(cur, sql, params).fetchall())

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - closing a broken connection
                    pass
            self._all.clear()
        self._local = threading.local()
        self.storage.close()

    # -- the interface -------------------------------------------------------------------
    def enqueue(self, envelopes: Sequence[Envelope], *, now: float) -> list[Admission]:
        refs = self.storage.make_durable(envelopes)
        kept: set[str] = set()
        out = []
        with self._write_tx() as cur:
            for env, ref in zip(envelopes, refs, strict=True):
                cols, vals = self.storage.columns(env, ref)
                self._x(
                    cur,
                    "INSERT INTO {P} (packet_id, kiosk_id, sequence, priority, state, captured_at,"
                    f" committed_at, attempts, siak_state, reason, rank, visible_at, owner, {', '.join(cols)})"
                    f" VALUES (?,?,?,?,?,?,?,0,?,'',?,?,''{',?' * len(cols)}) ON CONFLICT DO NOTHING",
                    (env.packet_id, env.kiosk_id, env.sequence, int(env.priority),
                     EntryState.PENDING.value, env.captured_at, now, SiakState.QUEUED.value,
                     rank(env.priority, now, self.aging_s), now, *vals),
                )
                if cur.rowcount == 1:
                    out.append(Admission.NEW)
                    if ref is not None:
                        kept.add(ref.name)
                    continue
                seen = self._x(cur, "SELECT 1 FROM {P} WHERE packet_id = ?", (env.packet_id,))
                out.append(Admission.DUPLICATE if seen.fetchone() else Admission.REPLAYED_SEQUENCE)
        # Committed. Bodies staged for duplicates and replays go now. (Had the commit failed,
        # it might still have reached the disk: those bodies are left to the next sweep,
        # which keeps exactly the ones a committed row names.)
        self.storage.shred(sorted({ref.name for ref in refs if ref is not None} - kept))
        return out

    def lease(self, *, owner: str, now: float, lease_s: float, limit: int = 1) -> list[Lease]:
        with self._write_tx() as cur:
            rows = self._lease_rows(cur, owner=owner, now=now, lease_s=lease_s, limit=limit)
        rows = self.storage.load(rows, now=now)
        leases = [
            Lease(packet_id=r[0], kiosk_id=r[1], priority=PriorityClass(r[2]), captured_at=r[3],
                  committed_at=r[4], attempts=r[5], packet=bytes(r[6]), owner=owner,
                  expires_at=now + lease_s)
            for r in rows
        ]
        return sorted(leases, key=lambda le: (rank(le.priority, le.committed_at, self.aging_s), le.packet_id))

    def accept(self, packet_id: str, *, now: float, siak_state: SiakState) -> bool:
        where = (packet_id, EntryState.PENDING.value)
        with self._write_tx() as cur:
            held = self.storage.held(cur, "packet_id = ? AND state = ?", where)
            self._x(
                cur,
                f"UPDATE {{P}} SET state = ?, accepted_at = ?, siak_state = ?, {self.drop_body_sql},"
                " owner = '' WHERE packet_id = ? AND state = ?",
                (EntryState.ACCEPTED.value, now, SiakState(siak_state).value, *where),
            )
            done = bool(cur.rowcount == 1)
        self.storage.shred(held)
        return done

    def retry_later(self, packet_id: str, *, owner: str, visible_at: float, reason: str) -> bool:
        with self._write_tx() as cur:
            self._x(
                cur,
                "UPDATE {P} SET visible_at = ?, owner = '', reason = ?"
                " WHERE packet_id = ? AND state = ? AND owner = ?",
                (visible_at, reason[:500], packet_id, EntryState.PENDING.value, owner),
            )
            return bool(cur.rowcount == 1)

    def release_held(self, *, now: float) -> int:
        with self._write_tx() as cur:
            self._x(
                cur,
                "UPDATE {P} SET visible_at = ? WHERE state = ? AND owner = '' AND visible_at > ?",
                (now, EntryState.PENDING.value, now),
            )
            return int(cur.rowcount)

    def dead_letter(self, packet_id: str, *, now: float, reason: str) -> bool:
        with self._write_tx() as cur:
            self._x(
                cur,
                "UPDATE {P} SET state = ?, reason = ?, owner = '' WHERE packet_id = ? AND state = ?",
                (EntryState.DEAD.value, reason[:500], packet_id, EntryState.PENDING.value),
            )
            return bool(cur.rowcount == 1)

    def set_siak_state(self, packet_id: str, state: SiakState, *, now: float) -> bool:
        with self._write_tx() as cur:
            self._x(
                cur,
                "UPDATE {P} SET siak_state = ? WHERE packet_id = ? AND siak_state <> ?",
                (SiakState(state).value, packet_id, SiakState(state).value),
            )
            return bool(cur.rowcount == 1)

    def reject(self, rejection: Rejection) -> None:
        r = rejection
        with self._write_tx() as cur:
            kept = self._x(cur, "SELECT COUNT(*), MAX(id) FROM {R} WHERE kiosk_id = ? AND reason = ?",
                           (r.kiosk_id, r.reason)).fetchone()
            if kept[0] >= REJECTIONS_KEPT:
                self._x(cur, "UPDATE {R} SET repeats = repeats + ?, at = ?, packet_id = ?, detail = ?"
                             " WHERE id = ?", (r.repeats, r.at, r.packet_id[:64], r.detail[:300], kept[1]))
                return
            self._x(
                cur,
                "INSERT INTO {R} (kiosk_id, packet_id, reason, at, detail, repeats) VALUES (?,?,?,?,?,?)",
                (r.kiosk_id[:64], r.packet_id[:64], r.reason[:64], r.at, r.detail[:300], r.repeats),
            )

    def rejections(self, *, limit: int = 100) -> list[Rejection]:
        rows = self._read(
            "SELECT kiosk_id, packet_id, reason, at, detail, repeats FROM {R} ORDER BY at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [Rejection(kiosk_id=r[0], packet_id=r[1], reason=r[2], at=r[3], detail=r[4], repeats=r[5])
                for r in rows]

    def get(self, packet_id: str) -> Entry | None:
        rows = self._read(f"SELECT {ENTRY_COLUMNS} FROM {{P}} WHERE packet_id = ?", (packet_id,))
        return _entry(rows[0]) if rows else None

    def entries(self, *, state: EntryState | None = None, limit: int = 100_000) -> list[Entry]:
        where, params = ("WHERE state = ?", [state.value]) if state else ("", [])
        rows = self._read(
            f"SELECT {ENTRY_COLUMNS} FROM {{P}} {where} ORDER BY committed_at, packet_id LIMIT ?",
            (*params, limit),
        )
        return [_entry(r) for r in rows]

    def in_enrollment(self, *, limit: int = 100) -> list[Entry]:
        marks = ",".join("?" * len(_FINAL))
        rows = self._read(
            f"SELECT {ENTRY_COLUMNS} FROM {{P}} WHERE state = ? AND siak_state NOT IN ({marks})"
            " ORDER BY accepted_at LIMIT ?",
            (EntryState.ACCEPTED.value, *_FINAL, limit),
        )
        return [_entry(r) for r in rows]

    def depth(self, *, now: float) -> list[ClassDepth]:
        rows = self._read(
            "SELECT priority, COUNT(*), SUM(CASE WHEN owner <> '' AND visible_at > ? THEN 1 ELSE 0 END),"
            " MIN(committed_at) FROM {P} WHERE state = ? GROUP BY priority",
            (now, EntryState.PENDING.value),
        )
        by = {int(r[0]): r for r in rows}
        out = []
        for cls in PriorityClass:
            r = by.get(int(cls))
            out.append(ClassDepth(
                priority=cls, depth=int(r[1]) if r else 0, leased=int(r[2] or 0) if r else 0,
                oldest_age_s=max(0.0, now - float(r[3])) if r else 0.0,
            ))
        return out

    def _dead_where(self, packet_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
        if packet_ids is None:
            return "state = ?", [EntryState.DEAD.value]
        if not packet_ids:
            return "1 = 0", []
        marks = ",".join("?" * len(packet_ids))
        return f"state = ? AND packet_id IN ({marks})", [EntryState.DEAD.value, *packet_ids]

    def retry_dead(self, packet_ids: Sequence[str] | None, *, now: float) -> int:
        where, params = self._dead_where(packet_ids)
        with self._write_tx() as cur:
            self._x(
                cur,
                f"UPDATE {{P}} SET state = ?, attempts = 0, reason = '', visible_at = ?, owner = ''"
                f" WHERE {where}",
                (EntryState.PENDING.value, now, *params),
            )
            return int(cur.rowcount)

    def purge_dead(self, packet_ids: Sequence[str] | None) -> int:
        where, params = self._dead_where(packet_ids)
        with self._write_tx() as cur:
            held = self.storage.held(cur, where, params)
            self._x(cur, f"UPDATE {{P}} SET state = ?, {self.drop_body_sql} WHERE {where}",
                    (EntryState.PURGED.value, *params))
            n = int(cur.rowcount)
        self.storage.shred(held)
        return n


def _entry(r: Sequence[Any]) -> Entry:
    return Entry(
        packet_id=r[0], kiosk_id=r[1], sequence=int(r[2]), priority=PriorityClass(r[3]),
        state=EntryState(r[4]), captured_at=float(r[5]), committed_at=float(r[6]),
        accepted_at=None if r[7] is None else float(r[7]), attempts=int(r[8]),
        siak_state=SiakState(r[9]), reason=r[10],
    )


# what a lease reads: the body inline (`packet`) or the file that holds it
LEASE_COLUMNS = ("packet_id, kiosk_id, priority, captured_at, committed_at, attempts, packet, "
                 + ", ".join(BODY_COLUMNS))
