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

# index names from before one naming rule ({I}<table>_<purpose>): renamed on open
RENAMED_INDEXES = (("packets_rejections_key", "rejections_key"),)
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresQueue(SqlQueue):
    placeholder = "%s"
    types = {"F": "DOUBLE PRECISION", "INT8": "BIGINT", "BLOB": "BYTEA", "SERIAL": "BIGSERIAL PRIMARY KEY"}

    def __init__(self, dsn: str, *, schema: str = "anjungan", aging_s: float = DEFAULT_AGING_S) -> None:
        if not SCHEMA_RE.match(schema):
            raise QueueError(f"invalid schema name {schema!r}")
        super().__init__(aging_s=aging_s, prefix=f"{schema}.", index_prefix=f"{schema}_")
        self.dsn, self.schema = dsn, schema
        with self._write_tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for old, new in RENAMED_INDEXES:
                cur.execute(f"SELECT to_regclass('{schema}.{schema}_{new}')")
                if cur.fetchone()[0] is None:
                    cur.execute(f"ALTER INDEX IF EXISTS {schema}.{schema}_{old} RENAME TO {schema}_{new}")
            self._create(cur)

    def _columns(self, cur: Any, table: str) -> set[str]:
        cur.execute("SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = %s AND table_name = %s", (self.schema, table))
        return {r[0] for r in cur.fetchall()}

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
