"""SQLite dialect of the durable queue: WAL, synchronous=FULL, one writer at a time.

FULL makes every commit survive a power cut, not only a crashed process: the ack that
follows a commit tells the kiosk it may shred its copy.

Writers of one process take turns on a lock before `BEGIN IMMEDIATE`: SQLite would
serialize them anyway, but by sleeping in its busy handler (up to 100 ms a try), which
stalls relay workers behind each other's commits. Reads are plain (deferred) transactions:
in WAL mode they see a consistent snapshot and neither wait for nor block the writer.
Other processes (the operator CLI) still meet the busy timeout.

Sealed bodies are not in the database but in files beside it (`body_storage.FileBodies`,
bodies.py): written and fsynced before the row that names them commits, so each ~1.2 MB
body is written once instead of twice (WAL, then checkpoint). Rows from before that keep
theirs in `packet`.
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
from broker.queue.bodies import folder_for
from broker.queue.body_storage import FileBodies
from broker.queue.sql import LEASE_COLUMNS, SqlQueue


class SqliteQueue(SqlQueue):
    def __init__(self, path: str | Path, *, aging_s: float = DEFAULT_AGING_S, prefix: str = "") -> None:
        super().__init__(aging_s=aging_s, prefix=prefix, index_prefix=prefix)
        self.path = str(path)
        self._writer = threading.Lock()
        with self._write_tx() as cur:
            self._create(cur)
        self.storage = FileBodies(folder_for(self.path), rows=self._read, execute=self._x,
                                  dead_letter=self._dead_letter_lost)

    def _dead_letter_lost(self, packet_id: str, now: float, reason: str) -> None:
        self.dead_letter(packet_id, now=now, reason=reason)

    def _columns(self, cur: Any, table: str) -> set[str]:
        name = {"packets": self.t_packets, "rejections": self.t_rejections}[table]
        return {r[1] for r in cur.execute(f"PRAGMA table_info({name})").fetchall()}

    def _connect(self) -> Any:
        try:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
            # default 4 KiB pages: rows are small now that bodies live in files (a queue made
            # with 64 KiB pages for inline bodies keeps them; SQLite fixes it at creation)
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
            f"SELECT {LEASE_COLUMNS} FROM {{P}}"
            " WHERE state = 'pending' AND visible_at <= ?"
            " ORDER BY rank, packet_id LIMIT ?",
            (now, limit),
        ).fetchall()
        for r in rows:
            self._x(
                cur,
                "UPDATE {P} SET owner = ?, visible_at = ?, attempts = attempts + 1 WHERE packet_id = ?",
                (owner, now + lease_s, r[0]),
            )
        return [(*r[:5], r[5] + 1, *r[6:]) for r in rows]
