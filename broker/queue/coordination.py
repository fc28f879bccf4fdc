"""Centre instances on one PostgreSQL queue coordinate through it (`broker.coordination`).

- **One SIAK rate**: a token bucket in one row (`siak_rate`), updated by one atomic
  `UPDATE … RETURNING` per request; the row lock orders every instance's workers, and the
  database's clock (`clock_timestamp()`) is the only clock, so hosts need not agree.
  The arithmetic is `policy.TokenBucket`'s: refill at `rate` up to `burst`, take one, wait
  `-tokens / rate` when the bucket is in debt.
- **One status poller**: the instance holding the session advisory lock
  `hashtext('<schema>:status-poller')`. PostgreSQL drops the lock with the session, so when
  the leader dies (its connection closes, or TCP keepalives give up on its host) the next
  instance that asks takes over.
- **Fast handover**: every instance upserts its row in `instances` every `beat_s` (1 s) from
  the database's clock; any instance releases the live leases of every owner whose
  instance has no row younger than `dead_after_s` (5 s): a SIGKILLed instance's packets are
  back in the queue within seconds, not after the lease (60 s). Not after an outage that
  silenced everybody: only an instance whose own heartbeats got through, on a database up
  for longer than `dead_after_s`, releases others' leases. An instance that was only
  slow and comes back finds its leases gone: its `retry_later` is a no-op, a second
  submission of the same packet is absorbed by SIAK (the packet id is the idempotency key).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from psycopg import conninfo

from broker.errors import QueueError
from broker.queue.postgres import SCHEMA_RE

log = logging.getLogger("anjungan.coordination")

DDL = """
CREATE SCHEMA IF NOT EXISTS {S};
CREATE TABLE IF NOT EXISTS {S}.siak_rate (
  name TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS {S}.instances (
  name TEXT PRIMARY KEY, beat_at DOUBLE PRECISION NOT NULL
)
"""
DB_NOW = "extract(epoch from clock_timestamp())"
# libpq: notice a dead database host within ~10 s instead of the kernel's two hours
KEEPALIVES = "keepalives=1 keepalives_idle=4 keepalives_interval=2 keepalives_count=3"


class _Conn:
    """One connection used under a lock, re-opened after a failure."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.lock = threading.Lock()
        self.conn: Any = None

    def run(self, sql: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[Any]:
        with self.lock:
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg.connect(conninfo.make_conninfo(self.dsn, connect_timeout=10) + " " + KEEPALIVES,
                                                autocommit=True)
                with self.conn.cursor() as cur:
                    cur.execute(sql, params)
                    return list(cur.fetchall()) if cur.description else []
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self.drop()
                raise QueueError(f"PostgreSQL failed: {exc.__class__.__name__}") from exc

    def drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self.conn = None


class SharedBucket:
    """SIAK's rate for the whole deployment: one row, one atomic update per token."""

    def __init__(self, conn: _Conn, schema: str, *, rate: float, burst: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.conn, self.rate, self.burst = conn, rate, burst
        self.table = f"{schema}.siak_rate"

    def reserve(self, now: float) -> float:
        """Take a token; seconds to wait for it (`now` is unused: the database keeps time)."""
        p = {"rate": self.rate, "burst": self.burst}
        rows = self.conn.run(
            f"WITH t AS (SELECT {DB_NOW} AS now)"
            f" INSERT INTO {self.table} AS b (name, tokens, at) SELECT 'siak', %(burst)s - 1, t.now FROM t"
            " ON CONFLICT (name) DO UPDATE SET"
            " tokens = LEAST(%(burst)s, b.tokens + GREATEST(0, EXCLUDED.at - b.at) * %(rate)s) - 1,"
            " at = GREATEST(b.at, EXCLUDED.at) RETURNING b.tokens",
            p,
        )
        tokens = float(rows[0][0])
        return 0.0 if tokens >= 0 else -tokens / self.rate

    def reserve_refund(self) -> None:
        self.conn.run(f"UPDATE {self.table} SET tokens = LEAST(%s, tokens + 1) WHERE name = 'siak'", (self.burst,))


class PgCoordination:
    shared = True

    def __init__(self, dsn: str, *, schema: str, instance: str, dead_after_s: float = 5.0) -> None:
        if not SCHEMA_RE.match(schema):
            raise QueueError(f"invalid schema name {schema!r}")
        if "/" in instance or not instance:
            raise QueueError(f"invalid instance name {instance!r}")
        self.schema, self.instance, self.dead_after_s = schema, instance, dead_after_s
        self._rate = _Conn(dsn)  # relay workers, one statement at a time
        self._leader = _Conn(dsn)  # the status poller's session: it holds the lock
        self._beats = _Conn(dsn)  # the heartbeat thread
        self._leading = False
        self._beat_ok_at: float | None = None  # monotonic time of this instance's last heartbeat
        self._beats.run("SELECT pg_advisory_lock(hashtext(%s))", (schema,))  # as PostgresQueue's DDL
        try:
            for stmt in DDL.replace("{S}", schema).split(";"):
                self._beats.run(stmt)
        finally:
            self._beats.run("SELECT pg_advisory_unlock(hashtext(%s))", (schema,))

    def bucket(self, *, rate: float, burst: float) -> SharedBucket:
        return SharedBucket(self._rate, self.schema, rate=rate, burst=burst)

    def leads(self) -> bool:
        try:
            if self._leading:
                self._leader.run("SELECT 1")  # still our session, so still our lock
                return True
            rows = self._leader.run("SELECT pg_try_advisory_lock(hashtext(%s))", (f"{self.schema}:status-poller",))
            self._leading = bool(rows[0][0])
            if self._leading:
                log.info("%s polls SIAK for status (leader)", self.instance)
        except QueueError:
            if self._leading:
                log.warning("%s lost the status poller's lock with its connection", self.instance)
            self._leading = False
        return self._leading

    def beat(self, *, now: float) -> int:
        s = self.schema
        previous, self._beat_ok_at = self._beat_ok_at, None
        self._beats.run(f"INSERT INTO {s}.instances (name, beat_at) VALUES (%s, {DB_NOW})"
                        " ON CONFLICT (name) DO UPDATE SET beat_at = EXCLUDED.beat_at", (self.instance,))
        self._beat_ok_at = time.monotonic()
        # Silence means death only if the database could have heard: not when it restarted
        # within dead_after_s, nor when this instance could not reach it either (then all
        # were cut off alike, and a live instance's leases would go to a second worker).
        if previous is None or self._beat_ok_at - previous > self.dead_after_s:
            return 0
        rows = self._beats.run(
            f"UPDATE {s}.packets SET owner = '', visible_at = %(now)s"
            " WHERE state = 'pending' AND owner LIKE '%%/%%' AND visible_at > %(now)s"
            f" AND extract(epoch from pg_postmaster_start_time()) < {DB_NOW} - %(dead)s"
            f" AND split_part(owner, '/', 1) NOT IN (SELECT name FROM {s}.instances"
            f"   WHERE beat_at >= {DB_NOW} - %(dead)s)"
            " RETURNING split_part(owner, '/', 1)",
            {"now": now, "dead": self.dead_after_s},
        )
        if rows:
            names = sorted({r[0] for r in rows})
            log.warning("released %d lease(s) of stopped instance(s) %s", len(rows), ", ".join(names))
            self._beats.run(f"DELETE FROM {s}.instances WHERE beat_at < {DB_NOW} - %s", (self.dead_after_s,))
        return len(rows)

    def leave(self) -> None:
        try:
            self._beats.run(f"DELETE FROM {self.schema}.instances WHERE name = %s", (self.instance,))
        except QueueError:
            pass

    def close(self) -> None:
        for c in (self._rate, self._leader, self._beats):
            with c.lock:
                c.drop()
        self._leading = False
