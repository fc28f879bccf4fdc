"""SQLite dialect of the durable queue: WAL, synchronous=FULL, one writer at a time.

FULL makes every commit survive a power cut, not only a crashed process: the ack that
follows a commit tells the kiosk it may shred its copy.

Writers of one process take turns on a lock before `BEGIN IMMEDIATE`: SQLite would
serialize them anyway, but by sleeping in its busy handler (up to 100 ms a try), which
stalls relay workers behind each other's commits. Reads are plain (deferred) transactions:
in WAL mode they see a consistent snapshot and neither wait for nor block the writer.
Other processes (the operator CLI) still meet the busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from broker.errors import QueueError
from broker.policy import DEFAULT_AGING_S
from broker.queue.sql import LEASE_COLUMNS, SqlQueue

DDL = """
CREATE TABLE IF NOT EXISTS {P} (
  packet_id TEXT PRIMARY KEY,
  kiosk_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  state TEXT NOT NULL,
  captured_at REAL NOT NULL,
  committed_at REAL NOT NULL,
  accepted_at REAL,
  attempts INTEGER NOT NULL,
  siak_state TEXT NOT NULL,
  reason TEXT NOT NULL,
  rank REAL NOT NULL,
  visible_at REAL NOT NULL,
  owner TEXT NOT NULL,
  packet BLOB,
  UNIQUE (kiosk_id, sequence)
);
CREATE INDEX IF NOT EXISTS {P}_ready ON {P} (state, rank);
CREATE TABLE IF NOT EXISTS {R} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kiosk_id TEXT NOT NULL, packet_id TEXT NOT NULL, reason TEXT NOT NULL,
  at REAL NOT NULL, detail TEXT NOT NULL
);
"""


class SqliteQueue(SqlQueue):
    def __init__(self, path: str | Path, *, aging_s: float = DEFAULT_AGING_S, prefix: str = "") -> None:
        super().__init__(aging_s=aging_s, prefix=prefix)
        self.path = str(path)
        self._writer = threading.Lock()
        conn = self._conn()
        conn.executescript(self._sql(DDL))

    def _connect(self) -> Any:
        try:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
            conn.execute("PRAGMA page_size=65536")  # packets are ~1 MB blobs: fewer overflow pages
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as exc:
            raise QueueError(f"cannot open queue database {self.path}: {exc}") from exc
        return conn

    @contextmanager
    def _write_tx(self) -> Iterator[Any]:
        with self._writer:
            with self._tx("BEGIN IMMEDIATE") as cur:
                yield cur

    @contextmanager
    def _read_tx(self) -> Iterator[Any]:
        with self._tx("BEGIN") as cur:
            yield cur

    @contextmanager
    def _tx(self, begin: str) -> Iterator[Any]:
        conn = self._conn()
        cur = conn.cursor()
        try:
            cur.execute(begin)
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        finally:
            cur.close()

    def _lease_rows(self, cur: Any, *, owner: str, now: float, lease_s: float, limit: int) -> list[Any]:
        rows = self._x(
            cur,
            f"SELECT {LEASE_COLUMNS} FROM {{P}} WHERE state = 'pending' AND visible_at <= ?"
            " ORDER BY rank, packet_id LIMIT ?",
            (now, limit),
        ).fetchall()
        for r in rows:
            self._x(
                cur,
                "UPDATE {P} SET owner = ?, visible_at = ?, attempts = attempts + 1 WHERE packet_id = ?",
                (owner, now + lease_s, r[0]),
            )
        return [(*r[:5], r[5] + 1, r[6]) for r in rows]
