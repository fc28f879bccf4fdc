"""The one way tests wait: on a condition, never on the wall clock alone."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable


def wait_until(pred: Callable[[], object], timeout: float = 30.0, every: float = 0.02,
               step: Callable[[], None] | None = None) -> bool:
    """True as soon as `pred()` holds (`step()` runs before each look, e.g. to pump a loop);
    False if it still does not after `timeout` seconds, a hang guard, never a measured time."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if step is not None:
            step()
        if pred():
            return True
        time.sleep(every)
    return bool(pred())


def sigterm_and_wait(proc: subprocess.Popen, what: str, bound: float = 20.0) -> int:  # type: ignore[type-arg]
    """SIGTERM `proc` and wait up to `bound` s (a hang guard): its exit code. The time it took
    is printed (a measurement for the report, never asserted)."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{what} still running {bound:g} s after SIGTERM") from None
    print(f"\n{what} stopped {time.monotonic() - started:.2f} s after SIGTERM")
    return rc
