"""Poison from a valid kiosk certificate against the real centre (`anjungan broker run`) over
a real Mosquitto from the generated config, while another kiosk sends valid captures: the
valid ones are acked, each poison message is set aside once, and the same holds after the
centre is SIGKILLed and restarted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from anjungan import topics
from anjungan.messages import AckOutcome
from broker.queue import open_queue
from tests.broker.harness import TestKiosk, drive
from tests.broker.test_service import Stack, publish
from tests.security.poison import JSON_POISON, captures
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    yield s
    s.close()


def rejections(stack: Stack) -> list:  # type: ignore[type-arg]
    q = open_queue(stack.service.db)
    try:
        return [r for r in q.rejections(limit=1000) if r.kiosk_id == "kiosk-02"]
    finally:
        q.close()


def attack(attacker: TestKiosk, first_seq: int) -> int:
    """Every poison capture, and JSON poison on the topics the centre reads; returns how many
    captures were sent (each must be set aside exactly once)."""
    poison = captures(attacker.bundle, first_seq)
    for raw in poison.values():
        attacker.publish_raw(raw)
    for raw in JSON_POISON.values():
        for kind in ("query", "feedback", "health", "status"):
            attacker.client.publish(topics.topic(attacker.bundle.kiosk_id, kind), raw, qos=1)
    return len(poison)


def valid_all_acked(kiosk: TestKiosk, ids: list[str]) -> bool:
    with kiosk.lock:
        return all(i in kiosk.acks and kiosk.acks[i].outcome is AckOutcome.ACCEPTED for i in ids)


def test_poison_never_holds_back_valid_captures_even_after_a_restart(stack: Stack) -> None:
    stack.service.start()
    honest, attacker = stack.kiosk("kiosk-01"), stack.kiosk("kiosk-02")
    ids = publish(honest, stack.bundles["kiosk-01"], range(1, 6))
    # the centre's session exists once it has acked something: from here on nothing is lost
    assert drive([honest], lambda: valid_all_acked(honest, ids), timeout=60)
    ids += publish(honest, stack.bundles["kiosk-01"], range(6, 11))
    sent = attack(attacker, 100)
    ids += publish(honest, stack.bundles["kiosk-01"], range(11, 21))
    assert drive([honest], lambda: valid_all_acked(honest, ids), timeout=60), "valid captures must be acked"
    assert wait_until(lambda: len(rejections(stack)) >= sent, timeout=30), [
        (r.reason, r.detail) for r in rejections(stack)]
    time.sleep(1.0)  # let the broker take the last PUBACKs before the kill
    first = rejections(stack)
    assert len(first) == sent, "each poison capture is set aside exactly once"

    stack.service.kill()  # SIGKILL
    stack.service.start()
    sent += attack(attacker, 200)
    more = publish(honest, stack.bundles["kiosk-01"], range(21, 31))
    assert drive([honest], lambda: valid_all_acked(honest, ids + more), timeout=60)
    assert wait_until(lambda: len(rejections(stack)) >= sent, timeout=30)
    time.sleep(1.0)
    assert len(rejections(stack)) == sent, "nothing redelivered in a loop after the restart"
    log = Path(stack.service.log).read_text()
    assert "retrying" not in log and "Traceback" not in log
    assert "NaN" not in log and "nan" not in {w.lower() for w in log.split()}
