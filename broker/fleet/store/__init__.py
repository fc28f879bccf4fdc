"""The fleet store, chosen by URL: health time series, alerts, feedback, staff, sessions.

    sqlite:///path/to/fleet.db     (the default; a bare path works too)
    sqlite://:memory:              (SQLite without a file)
    postgresql://host:port/db?schema=NAME
    memory://                      (the in-memory twin, for tests and benchmarks)

All three implement `FleetStore` (interface.py) and pass the same suite,
tests/fleet/test_store.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from broker.fleet.errors import StoreError
from broker.fleet.store.interface import FleetStore
from broker.fleet.store.records import (
    AlertLogEntry,
    Batch,
    CaptureCount,
    FeedbackRecord,
    HealthPoint,
    Site,
    StaffSession,
)
from broker.paths import split_schema
from broker.private import private_database

__all__ = [
    "AlertLogEntry", "Batch", "CaptureCount", "FeedbackRecord", "FleetStore", "HealthPoint",
    "Site", "StaffSession", "open_store",
]


def open_store(url: str) -> FleetStore:
    parts = urlsplit(url)
    if parts.scheme in ("", "sqlite"):
        path = url if not parts.scheme else url[len("sqlite://"):]
        if not path:
            raise StoreError(f"no database path in {url!r}")
        from broker.fleet.store.sqlite import SqliteFleetStore

        if path != ":memory:":
            private_database(path)
        return SqliteFleetStore(path)
    if parts.scheme in ("postgresql", "postgres"):
        from broker.fleet.store.postgres import PostgresFleetStore

        dsn, schema = split_schema(url, "anjungan_fleet")
        return PostgresFleetStore(dsn, schema=schema)
    if parts.scheme == "memory":
        from broker.fleet.store.memory import MemoryFleetStore

        return MemoryFleetStore()
    raise StoreError(f"unsupported fleet store URL scheme {parts.scheme!r}: use sqlite, postgresql or memory")
