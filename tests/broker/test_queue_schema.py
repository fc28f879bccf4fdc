"""One queue schema for SQLite and PostgreSQL: the same columns and index names on both,
and a queue made with an older DDL (each dialect's own copy, before they were one) is
brought up to it on open and keeps its packets."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from anjungan.messages import SiakState
from anjungan.packet.model import PriorityClass
from broker.queue import Admission, Envelope, Rejection
from broker.queue.postgres import PostgresQueue
from broker.queue.sqlite import SqliteQueue
from tests.broker.conftest import pg_schema

INDEX_PURPOSES = {"packets_ready", "packets_leased", "rejections_key"}

# The DDLs as each dialect had its own copy (SQLite: before body files and `repeats`).
OLD_SQLITE = """
CREATE TABLE packets (packet_id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL,
  sequence INTEGER NOT NULL, priority INTEGER NOT NULL, state TEXT NOT NULL,
  captured_at REAL NOT NULL, committed_at REAL NOT NULL, accepted_at REAL,
  attempts INTEGER NOT NULL, siak_state TEXT NOT NULL, reason TEXT NOT NULL,
  rank REAL NOT NULL, visible_at REAL NOT NULL, owner TEXT NOT NULL, packet BLOB,
  UNIQUE (kiosk_id, sequence));
CREATE INDEX packets_ready ON packets (state, rank);
CREATE TABLE rejections (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kiosk_id TEXT NOT NULL, packet_id TEXT NOT NULL, reason TEXT NOT NULL,
  at REAL NOT NULL, detail TEXT NOT NULL);
"""
OLD_POSTGRES = """
CREATE SCHEMA {S};
CREATE TABLE {S}.packets (
  packet_id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, sequence BIGINT NOT NULL,
  priority INTEGER NOT NULL, state TEXT NOT NULL, captured_at DOUBLE PRECISION NOT NULL,
  committed_at DOUBLE PRECISION NOT NULL, accepted_at DOUBLE PRECISION,
  attempts INTEGER NOT NULL, siak_state TEXT NOT NULL, reason TEXT NOT NULL,
  rank DOUBLE PRECISION NOT NULL, visible_at DOUBLE PRECISION NOT NULL, owner TEXT NOT NULL,
  packet BYTEA, UNIQUE (kiosk_id, sequence));
CREATE INDEX {S}_packets_ready ON {S}.packets (state, rank);
CREATE INDEX {S}_packets_leased ON {S}.packets (owner) WHERE owner <> '';
CREATE TABLE {S}.rejections (
  id BIGSERIAL PRIMARY KEY,
  kiosk_id TEXT NOT NULL, packet_id TEXT NOT NULL, reason TEXT NOT NULL,
  at DOUBLE PRECISION NOT NULL, detail TEXT NOT NULL);
CREATE INDEX {S}_packets_rejections_key ON {S}.rejections (kiosk_id, reason)
"""
OLD_ROW = ("kiosk-01", 1, 2, "pending", 1.0, 1.0, None, 0, "queued", "", 1.0, 1.0, "")


def env(seq: int) -> Envelope:
    return Envelope(packet_id=str(uuid.UUID(int=seq)), kiosk_id="kiosk-01", sequence=seq,
                    priority=PriorityClass.ROUTINE, captured_at=1.0, packet=bytes([seq]) * 3000)


# -- what each database has -----------------------------------------------------------
def sqlite_columns(db: Path) -> dict[str, list[str]]:
    with sqlite3.connect(db) as c:
        return {t: [r[1] for r in c.execute(f"PRAGMA table_info({t})")] for t in ("packets", "rejections")}


def sqlite_indexes(db: Path) -> set[str]:
    with sqlite3.connect(db) as c:
        return {r[0] for r in c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'")}


def pg_columns(pg_url: str, schema: str) -> dict[str, list[str]]:
    with psycopg.connect(pg_url) as c:
        return {t: [r[0] for r in c.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = %s ORDER BY ordinal_position", (schema, t))] for t in ("packets", "rejections")}


def pg_indexes(pg_url: str, schema: str) -> set[str]:
    with psycopg.connect(pg_url) as c:
        return {r[0] for r in c.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND starts_with(indexname, %s)",
            (schema, f"{schema}_"))}  # not the constraints' own (packets_pkey, ...)


@pytest.fixture
def pg_schema_name(pg_url: str) -> Iterator[str]:
    schema = pg_schema()
    yield schema
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def still_relays(q: Any) -> None:
    """The old row leases and is accepted; new rows and rejections go in beside it."""
    assert q.enqueue([env(2)], now=2.0) == [Admission.NEW]
    leased = q.lease(owner="w", now=3.0, lease_s=5.0, limit=5)
    assert [le.packet for le in leased] == [env(1).packet, env(2).packet]
    assert q.accept(env(1).packet_id, now=4.0, siak_state=SiakState.SENT_FOR_ENROLLMENT)
    assert q.accept(env(2).packet_id, now=4.0, siak_state=SiakState.SENT_FOR_ENROLLMENT)
    q.reject(Rejection(kiosk_id="kiosk-01", packet_id="p", reason="malformed", at=5.0))
    assert [(r.packet_id, r.repeats) for r in q.rejections()] == [("p", 1), ("", 1)]


# -- the tests --------------------------------------------------------------------------
def test_both_dialects_make_the_same_columns_and_index_names(tmp_path: Path, pg_url: str,
                                                            pg_schema_name: str) -> None:
    db = tmp_path / "queue.db"
    SqliteQueue(db).close()
    PostgresQueue(pg_url, schema=pg_schema_name).close()
    assert sqlite_columns(db) == pg_columns(pg_url, pg_schema_name)
    assert "body_sha256" in sqlite_columns(db)["packets"]
    assert sqlite_indexes(db) == INDEX_PURPOSES
    assert pg_indexes(pg_url, pg_schema_name) == {f"{pg_schema_name}_{p}" for p in INDEX_PURPOSES}


def test_an_old_sqlite_queue_is_brought_up_to_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    fresh = tmp_path / "fresh.db"
    SqliteQueue(fresh).close()
    with sqlite3.connect(db) as old:
        old.executescript(OLD_SQLITE)
        old.execute("INSERT INTO packets VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (env(1).packet_id, *OLD_ROW, env(1).packet))
        old.execute("INSERT INTO rejections (kiosk_id, packet_id, reason, at, detail)"
                    " VALUES ('kiosk-01', '', 'malformed', 1.0, '')")
    old.close()
    q = SqliteQueue(db)
    assert sqlite_columns(db) == sqlite_columns(fresh)
    assert sqlite_indexes(db) == INDEX_PURPOSES
    still_relays(q)
    q.close()
    SqliteQueue(db).close()  # opening again changes nothing
    assert sqlite_columns(db) == sqlite_columns(fresh)


def test_an_old_postgres_queue_is_brought_up_to_the_schema(pg_url: str, pg_schema_name: str) -> None:
    s = pg_schema_name
    with psycopg.connect(pg_url, autocommit=True) as old:
        for stmt in OLD_POSTGRES.replace("{S}", s).split(";"):
            old.execute(stmt)  # type: ignore[call-overload]
        old.execute(f"INSERT INTO {s}.packets VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (env(1).packet_id, *OLD_ROW, env(1).packet))
        old.execute(f"INSERT INTO {s}.rejections (kiosk_id, packet_id, reason, at, detail)"
                    " VALUES ('kiosk-01', '', 'malformed', 1.0, '')")
    q = PostgresQueue(pg_url, schema=s)
    assert pg_indexes(pg_url, s) == {f"{s}_{p}" for p in INDEX_PURPOSES}  # the old name renamed
    still_relays(q)
    q.close()
    PostgresQueue(pg_url, schema=s).close()  # opening again changes nothing
    fresh = pg_schema()
    PostgresQueue(pg_url, schema=fresh).close()
    try:
        assert pg_columns(pg_url, s) == pg_columns(pg_url, fresh)  # added last, in the same order
    finally:
        with psycopg.connect(pg_url, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {fresh} CASCADE")  # type: ignore[call-overload]
