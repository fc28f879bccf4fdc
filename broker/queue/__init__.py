"""The durable priority queue, chosen by URL.

    sqlite:///path/to/queue.db      (the embedded default; a bare path works too)
    postgresql://host:port/db?schema=NAME
    memory://                       (the in-memory twin, for tests and benchmarks)
"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

from broker.errors import QueueError
from broker.paths import split_schema
from broker.policy import DEFAULT_AGING_S
from broker.private import private_database
from broker.queue.model import (
    Admission,
    BodyRef,
    ClassDepth,
    Entry,
    EntryState,
    Envelope,
    Lease,
    PacketQueue,
    Rejection,
)

__all__ = [
    "Admission", "BodyRef", "ClassDepth", "Entry", "EntryState", "Envelope", "Lease", "PacketQueue",
    "Rejection", "open_queue", "split_schema", "store_failure",
]


def store_failure(exc: BaseException) -> bool:
    """Is this the store failing (disk full, database down or locked), rather than one
    message that cannot be stored? A store failure pauses ingest; anything else sets the
    one message aside. PostgreSQL's and the body store's failures arrive as QueueError."""
    return isinstance(exc, QueueError | OSError | sqlite3.OperationalError)


def open_queue(url: str, *, aging_s: float = DEFAULT_AGING_S) -> PacketQueue:
    parts = urlsplit(url)
    if parts.scheme in ("", "sqlite"):
        path = url if not parts.scheme else url[len("sqlite://"):]
        if not path:
            raise QueueError(f"no database path in {url!r}")
        from broker.queue.sqlite import SqliteQueue

        private_database(path)
        return SqliteQueue(path, aging_s=aging_s)
    if parts.scheme in ("postgresql", "postgres"):
        from broker.queue.postgres import PostgresQueue

        dsn, schema = split_schema(url)
        return PostgresQueue(dsn, schema=schema, aging_s=aging_s)
    if parts.scheme == "memory":
        from broker.queue.memory import MemoryQueue

        return MemoryQueue(aging_s=aging_s)
    raise QueueError(f"unsupported queue URL scheme {parts.scheme!r}: use sqlite, postgresql or memory")
