"""The one way tests wait: on a condition, never on the wall clock alone."""

from __future__ import annotations

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
