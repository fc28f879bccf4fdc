"""Session-wide fixtures shared by every test folder."""

from __future__ import annotations

import logging
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


# On CI (`CI=true`, as `.ci/run` is run) a test skipped for want of a tool is a failure: the
# test command installs every tool the suite drives (scripts/setup.sh), so such a skip means
# an install step went missing, and a green run would hide it.
MISSING_TOOL = ("needs ", "not installed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") != "true" or not report.skipped:
        return
    reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
    if any(marker in reason for marker in MISSING_TOOL):
        report.outcome = "failed"
        report.longrepr = f"skipped on CI for a missing tool, which the test command must install: {reason}"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A command run in-process (`main([...])`) points the root logger at the stream it was
    given, often pytest's captured stderr, which is closed after the test: put the root
    logger back, so later tests do not log into a closed file."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
