"""Shared fixtures: one queue test suite runs against memory, real SQLite and real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.queue import PacketQueue, open_queue


def pg_schema() -> str:
    return f"t_{os.getpid()}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    kind = request.param
    if kind == "memory":
        yield "memory://"
    elif kind == "sqlite":
        yield f"sqlite://{tmp_path / 'queue.db'}"
    else:
        pg_url = request.getfixturevalue("pg_url")  # the private cluster starts on first use
        schema = pg_schema()
        yield f"{pg_url}?schema={schema}"
        from broker.queue.postgres import PostgresQueue

        q = PostgresQueue(pg_url, schema=schema)
        q.drop()
        q.close()


@pytest.fixture
def queue(queue_url: str) -> Iterator[PacketQueue]:
    q = open_queue(queue_url, aging_s=100.0)
    yield q
    q.close()
