"""SQLite dialect of the durable queue: WAL, synchronous=FULL, one writer at a time.

FULL makes every commit survive a power cut, not only a crashed process: the ack that
follows a commit tells the kiosk it may shred its copy.

Writers of one process take turns on a lock before `BEGIN IMMEDIATE`: SQLite would
serialize them anyway, but by sleeping in its busy handler (up to 100 ms a try), which
stalls relay workers behind each other's commits. Reads are plain (deferred) transactions:
in WAL mode they see a consistent snapshot and neither wait for nor block the writer.
Other processes (the operator CLI) still meet the busy timeout.

Sealed bodies are not in the database but in files beside it (bodies.py): written and
fsynced before the row that names them commits, so each ~1.2 MB body is written once
instead of twice (WAL, then checkpoint). Rows from before that keep theirs in `packet`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from broker.errors import QueueError
from broker.policy import DEFAULT_AGING_S
from broker.queue.bodies import BodyLost, BodyStore, BodyUnreadable, folder_for
from broker.queue.model import BodyRef, Envelope
from broker.queue.sql import BODY_COLUMNS, LEASE_COLUMNS, SqlQueue

log = logging.getLogger("anjungan.queue")


class SqliteQueue(SqlQueue):
    def __init__(self, path: str | Path, *, aging_s: float = DEFAULT_AGING_S, prefix: str = "") -> None:
        super().__init__(aging_s=aging_s, prefix=prefix, index_prefix=prefix)
        self.path = str(path)
        self._writer = threading.Lock()
        with self._write_tx() as cur:
            self._create(cur)
        self.bodies = BodyStore(folder_for(self.path))
        if self.bodies.sole:
            self.bodies.sweep({r[0] for r in self._read(
                "SELECT body_file FROM {P} WHERE body_file IS NOT NULL")})
            self.bodies.share()

    def close(self) -> None:
        super().close()
        self.bodies.close()

    def _columns(self, cur: Any, table: str) -> set[str]:
        name = {"packets": self.t_packets, "rejections": self.t_rejections}[table]
        return {r[1] for r in cur.execute(f"PRAGMA table_info({name})").fetchall()}

    # -- bodies in files -----------------------------------------------------------------

    def stage(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """Write the bodies of packets not stored yet (unsynced: `enqueue` syncs them)."""
        fresh: dict[str, Envelope] = {}
        for env in envelopes:
            if env.body_ref is None:
                fresh.setdefault(env.packet_id, env)
        if fresh:
            marks = ",".join("?" * len(fresh))
            for (pid,) in self._read(f"SELECT packet_id FROM {{P}} WHERE packet_id IN ({marks})", list(fresh)):
                del fresh[pid]  # a duplicate: its body is stored already
        refs = dict(zip(fresh, self.bodies.put([(p, e.packet) for p, e in fresh.items()]), strict=True))
        out = []
        for env in envelopes:
            ref = refs.pop(env.packet_id, None) if fresh.get(env.packet_id) is env else None
            out.append(dataclasses.replace(env, body_ref=ref) if ref else env)
        return out

    def _stored_bodies(self, envelopes: Sequence[Envelope]) -> list[BodyRef | None]:
        if any(env.body_ref is None for env in envelopes):
            envelopes = self.stage(envelopes)
        # summed here, not in `stage`: the pipeline's verify stage is the busier one
        refs = [dataclasses.replace(env.body_ref, sha256=hashlib.sha256(env.packet).digest())
                if env.body_ref is not None else None for env in envelopes]
        self.bodies.sync([r for r in refs if r is not None])
        return refs

    def _body_columns(self, env: Envelope, ref: BodyRef | None) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        if ref is None:  # stored already: the insert is a no-op; keep the body inline regardless
            return ("packet",), (env.packet,)
        return BODY_COLUMNS, (ref.name, ref.length, ref.sha256)

    def _held_bodies(self, cur: Any, where: str, params: Sequence[Any]) -> list[str]:
        rows = self._x(cur, f"SELECT body_file FROM {{P}} WHERE {where} AND body_file IS NOT NULL", params)
        return [r[0] for r in rows.fetchall()]

    def _shred(self, names: Sequence[str]) -> None:
        if names:
            self.bodies.shred(names)

    def _load_bodies(self, rows: list[Any], *, now: float) -> list[Any]:
        out = []
        for r in rows:
            if r[7] is None:  # kept inline (a row from before bodies moved to files)
                out.append(r[:7])
                continue
            try:
                body = self.bodies.read(BodyRef(name=r[7], length=r[8], sha256=bytes(r[9])))
            except BodyLost as exc:
                log.error("packet %s: %s; dead letter", r[0], exc)
                self.dead_letter(r[0], now=now, reason="stored body lost")
                continue
            except BodyUnreadable as exc:  # stays leased: back when the lease runs out
                log.warning("packet %s: %s; retried after its lease", r[0], exc)
                continue
            out.append((*r[:6], body))
        return out

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
            f"SELECT {LEASE_COLUMNS}, {', '.join(BODY_COLUMNS)} FROM {{P}}"
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
