"""A `peripherals selftest` killed with SIGKILL leaves no `micropython` child running: the
firmware simulator is started with a parent-death signal (drivers/simulators/firmware_sim.py)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; only its parent's reaping is left)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def _wait(predicate, limit_s: float = 30.0) -> bool:
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_sigkilled_selftest_leaves_no_firmware_running(micropython):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys; from entrypoints.cli import main; sys.exit(main())",
         "peripherals", "selftest", "--sim", "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
    )
    try:
        firmware: list[int] = []

        def started() -> bool:  # the controller's firmware and the fingerprint bridge's
            firmware[:] = [c for c in _children(parent.pid) if "micropython" in _cmdline(c)]
            return any("fpbridge_main.py" in _cmdline(c) for c in firmware) and len(firmware) >= 2

        assert _wait(started), "the self-test never started the firmware"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _wait(lambda: not any(_running(pid) for pid in firmware))
        assert [pid for pid in firmware if _running(pid)] == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
