"""SIGTERM stops `broker run` within moments, even with SIAK calls in flight, and loses and
duplicates nothing: the packets whose calls were abandoned keep their leases and are sent
once more, under the same key, when the leases lapse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.queue import EntryState, open_queue
from tests.broker.harness import drive
from tests.broker.test_service import Stack, exactly_once, publish
from tests.waiting import sigterm_and_wait, wait_until

pytestmark = pytest.mark.slow

@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    yield s
    s.close()


def requests(stack: Stack) -> int:
    return int(stack.siak()["counts"].get("requests", 0))


def test_sigterm_mid_siak_call_stops_promptly_and_loses_nothing(stack: Stack, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path / "run"))
    # SIAK takes a minute per call, the deadline is 30 s: without abandoning, the stop
    # would wait for SIAK; the dashboard runs too, as in the installed unit
    stack.service.args += ["--siak-timeout", "30", "--lease", "12", "--http", "127.0.0.1:0",
                           "--status-poll", "1"]
    stack.faults(latency_s=60.0)
    stack.service.start()
    k1 = stack.kiosk("kiosk-01")
    ids = publish(k1, stack.bundles["kiosk-01"], range(1, 4))
    assert drive([k1], lambda: not k1.outbox, timeout=30)
    assert wait_until(lambda: requests(stack) >= 3, timeout=30)  # all three in SIAK's hands

    proc = stack.service.proc
    assert proc is not None
    assert sigterm_and_wait(proc, "broker run with 3 SIAK calls in flight") == 0
    assert "Traceback" not in stack.service.log.read_text()

    q = open_queue(stack.service.db)
    entries = q.entries()
    assert sorted(e.packet_id for e in entries) == sorted(ids)
    assert {e.state for e in entries} == {EntryState.PENDING}  # none lost, none dead
    assert {e.attempts for e in entries} == {1}  # leased once each, not put back by the stop
    assert stack.accepted_keys() == []  # SIAK is still sitting on the calls

    # SIAK recovers; a new process takes the packets again once their leases lapse
    stack.faults(latency_s=0.005)
    stack.service.start()
    assert wait_until(lambda: len(q.entries(state=EntryState.ACCEPTED)) == 3, timeout=60)
    assert {e.attempts for e in q.entries()} == {2}  # sent exactly once more
    q.close()
    exactly_once(stack, ids)
