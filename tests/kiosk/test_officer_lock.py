"""The officer-PIN lockout outlives the session and the process: its file, read strictly
(garbage locks, never unlocks), and a kiosk SIGKILLed right after the third wrong PIN that
comes back still locked."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kiosk.flow.pins import LOCKOUT_S, PinLock
from kiosk.officers import LOCK_FILE, add_officer, load_pin_lock, save_pin_lock
from provisioning.broker_process import free_port
from provisioning.bundle import KioskBundle
from tests.kiosk.kiosk_process import KioskProcess
from tests.waiting import wait_until

NOW = 1_800_000_000.0


def test_the_lock_file_round_trips_and_no_file_is_no_lock(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    assert load_pin_lock(path, NOW) == (PinLock(), "")
    for lock in (PinLock(failures=2), PinLock(locked_until=NOW + 60)):
        save_pin_lock(path, lock)
        assert load_pin_lock(path, NOW) == (lock, "")
    assert path.stat().st_mode & 0o077 == 0
    save_pin_lock(path, PinLock(locked_until=NOW + 10 * LOCKOUT_S))  # a clock gone wrong
    assert load_pin_lock(path, NOW)[0].locked_until == NOW + LOCKOUT_S  # never longer than a lockout


@pytest.mark.parametrize("text", [
    "", "{", '{"failures": 1, "locked_until": NaN}', '{"failures": 1, "locked_until": 1e999}',
    '{"failures": 1, "locked_until": Infinity}', '{"failures": 99, "locked_until": 0}',
    '{"failures": -1, "locked_until": 0}', '{"failures": true, "locked_until": 0}',
    '{"failures": 0, "locked_until": "soon"}', '{"failures": 0}', "[]", "null",
    "[" * 100_000 + "]" * 100_000, '{"failures": 0, "locked_until": ' + "9" * 5000 + "}",
    '{"failures": {"a": {"b": [1]}}, "locked_until": 0}', "\udcff",
])
def test_a_damaged_lock_file_locks_with_a_one_line_reason(tmp_path: Path, text: str) -> None:
    path = tmp_path / LOCK_FILE
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    lock, problem = load_pin_lock(path, NOW)
    assert lock.locked(NOW) and not lock.locked(NOW + LOCKOUT_S)
    assert problem and "\n" not in problem and len(problem) < 120
    assert math.isfinite(lock.locked_until)


def _wrong_pins_then_help() -> list[dict]:
    return [{"tap": "officer"}, {"type": "198703122010"}, {"tap": "confirm"},
            *[step for _ in range(3) for step in ({"type": "1111"}, {"tap": "confirm"})],
            {"expect": "welcome"}, {"tap": "help"}]  # the help request keeps the kiosk up (no broker)


def test_sigkill_right_after_the_third_wrong_pin_and_the_restarted_kiosk_is_still_locked(
        bundle: KioskBundle, tmp_path: Path) -> None:
    officers = tmp_path / "officers.json"
    add_officer(officers, "198703122010", "2468")
    port = free_port()  # nothing listens: the help request waits, so the kiosk is up when killed
    first = KioskProcess(bundle.root, port, tmp_path, _wrong_pins_then_help(), extra=("--officers", str(officers)))
    try:
        assert first.wait_for("officer_lock", timeout=60) == {"event": "officer_lock", "failures": 1, "locked": False}
        assert wait_until(lambda: len(first.named("officer_lock")) == 3, timeout=60)
        assert first.named("officer_lock")[-1] == {"event": "officer_lock", "failures": 0, "locked": True}
    finally:
        first.kill()
    assert first.proc.returncode == -9
    saved = json.loads((tmp_path / LOCK_FILE).read_text())
    assert saved["failures"] == 0 and saved["locked_until"] > 0
    steps = [{"tap": "officer"}, {"type": "198703122010"}, {"tap": "confirm"},
             {"expect": "officer_id"},  # the right PIN is not even asked for
             {"tap": "back"}, {"expect": "welcome"}]
    second = KioskProcess(bundle.root, port, tmp_path, steps, extra=("--officers", str(officers)), drain=0)
    assert second.finish() == 0, second.stderr()
    assert not second.named("officer_lock") and not second.named("officer_lock_problem")
    screens = [e["screen"] for e in second.named("screen")]
    assert "officer_id" in screens and "officer_pin" not in screens and screens[-1] == "welcome"
