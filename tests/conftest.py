"""Session-wide fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL server URL for the whole session: `ANJUNGAN_TEST_PG` if set, else a
    private cluster started on first use and stopped at the end (broker/queue/private_postgres.py)."""
    given = os.environ.get("ANJUNGAN_TEST_PG")
    if given:
        yield given
        return
    from broker.queue.private_postgres import PrivateCluster

    cluster = PrivateCluster().start()
    try:
        yield cluster.url
    finally:
        cluster.stop()
