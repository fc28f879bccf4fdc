"""Fixtures: one fleet-store suite runs against the memory twin, real SQLite and real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.fleet.store import FleetStore, open_store


@pytest.fixture(scope="session")
def password_hash() -> str:
    """kit.PASSWORD hashed once (scrypt takes a while)."""
    from broker.fleet.dashboard.auth import hash_password

    from .kit import PASSWORD

    return hash_password(PASSWORD)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'fleet.db'}"
        return
    pg_url = request.getfixturevalue("pg_url")  # the private cluster starts on first use
    schema = f"f_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    yield f"{pg_url}?schema={schema}"
    from broker.fleet.store.postgres import PostgresFleetStore

    s = PostgresFleetStore(pg_url, schema=schema)
    s.drop()
    s.close()


@pytest.fixture
def store(store_url: str) -> Iterator[FleetStore]:
    s = open_store(store_url)
    yield s
    s.close()
