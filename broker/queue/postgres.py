"""PostgreSQL dialect of the durable queue: several relay workers share it safely.

Leasing is one `UPDATE ... WHERE packet_id IN (SELECT ... FOR UPDATE SKIP LOCKED)`: two
workers never lease the same packet and never wait on each other's rows. Tables live in
their own schema (URL query `schema=`, default `anjungan`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from broker.errors import QueueError
from broker.policy import DEFAULT_AGING_S
from broker.queue.sql import LEASE_COLUMNS, SqlQueue

DDL = """
CREATE TABLE IF NOT EXISTS {P} (
  packet_id TEXT PRIMARY KEY,
  kiosk_id TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  priority INTEGER NOT NULL,
  state TEXT NOT NULL,
  captured_at DOUBLE PRECISION NOT NULL,
  committed_at DOUBLE PRECISION NOT NULL,
  accepted_at DOUBLE PRECISION,
  attempts INTEGER NOT NULL,
  siak_state TEXT NOT NULL,
  reason TEXT NOT NULL,
  rank DOUBLE PRECISION NOT NULL,
  visible_at DOUBLE PRECISION NOT NULL,
  owner TEXT NOT NULL,
  packet BYTEA,
  UNIQUE (kiosk_id, sequence)
);
CREATE INDEX IF NOT EXISTS {I}_ready ON {P} (state, rank);
CREATE INDEX IF NOT EXISTS {I}_leased ON {P} (owner) WHERE owner <> '';
CREATE TABLE IF NOT EXISTS {R} (
  id BIGSERIAL PRIMARY KEY,
  kiosk_id TEXT NOT NULL, packet_id TEXT NOT NULL, reason TEXT NOT NULL,
  at DOUBLE PRECISION NOT NULL, detail TEXT NOT NULL, repeats INTEGER NOT NULL DEFAULT 1
);
ALTER TABLE {R} ADD COLUMN IF NOT EXISTS repeats INTEGER NOT NULL DEFAULT 1;
CREATE INDEX IF NOT EXISTS {I}_rejections_key ON {R} (kiosk_id, reason);
"""
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresQueue(SqlQueue):
    placeholder = "%s"

    def __init__(self, dsn: str, *, schema: str = "anjungan", aging_s: float = DEFAULT_AGING_S) -> None:
        if not SCHEMA_RE.match(schema):
            raise QueueError(f"invalid schema name {schema!r}")
        super().__init__(aging_s=aging_s, prefix=f"{schema}.")
        self.dsn, self.schema = dsn, schema
        with self._write_tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for stmt in DDL.split(";"):
                if stmt.strip():
                    cur.execute(self._sql(stmt).replace("{I}", f"{schema}_packets"))

    def _connect(self) -> Any:
        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise QueueError(f"cannot reach PostgreSQL: {exc.__class__.__name__}") from exc

    @contextmanager
    def _write_tx(self) -> Iterator[Any]:
        conn = self._conn()
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except psycopg.OperationalError as exc:
            self._local.conn = None  # reconnect next time
            raise QueueError(f"PostgreSQL failed: {exc.__class__.__name__}") from exc

    def _lease_rows(self, cur: Any, *, owner: str, now: float, lease_s: float, limit: int) -> list[Any]:
        return list(self._x(
            cur,
            "UPDATE {P} SET owner = ?, visible_at = ?, attempts = attempts + 1 WHERE packet_id IN ("
            " SELECT packet_id FROM {P} WHERE state = 'pending' AND visible_at <= ?"
            " ORDER BY rank, packet_id LIMIT ? FOR UPDATE SKIP LOCKED)"
            f" RETURNING {LEASE_COLUMNS}",
            (owner, now + lease_s, now, limit),
        ).fetchall())

    def drop(self) -> None:
        """Remove this queue's schema (tests and `broker` tear-down)."""
        with self._write_tx() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
