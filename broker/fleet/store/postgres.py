"""PostgreSQL dialect of the fleet store; tables live in their own schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from broker.fleet.errors import StoreError
from broker.fleet.store.sql import SqlFleetStore

SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresFleetStore(SqlFleetStore):
    placeholder = "%s"
    types = {"F": "DOUBLE PRECISION", "SERIAL": "BIGSERIAL PRIMARY KEY"}

    def __init__(self, dsn: str, *, schema: str = "anjungan_fleet") -> None:
        if not SCHEMA_RE.match(schema):
            raise StoreError(f"invalid schema name {schema!r}")
        super().__init__(prefix=f"{schema}.", index_prefix=f"{schema}_")
        self.dsn, self.schema = dsn, schema
        try:
            self._db = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach PostgreSQL: {exc.__class__.__name__}") from exc
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        self._create()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            if self._db is None:
                raise StoreError("fleet store is closed")
            try:
                with self._db.transaction(), self._db.cursor() as cur:
                    yield cur
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL failed: {exc.__class__.__name__}") from exc

    def drop(self) -> None:
        """Drop the whole schema (tests)."""
        with self._tx() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
