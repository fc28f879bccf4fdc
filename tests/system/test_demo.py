"""The whole system, as the README's main command runs it: real processes end to end.

Each run counts what SIAK accepted against what the kiosks captured: nothing lost, nothing
duplicated, whatever is injected.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow


def demo(*args: str, timeout: float = 300) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "demo", "--json", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )
    assert out.stdout.strip(), out.stderr[-2000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    summary["exit_code"] = out.returncode
    return summary


def test_demo_scenario_loses_nothing_and_serves_the_vulnerable_first():
    s = demo("--kiosks", "3", "--residents", "30", "--siak-outage", "20")
    assert s["exit_code"] == 0
    assert s["residents"] == s["served"] == 30
    assert s["captured"] == 26  # every kind but feedback makes a packet
    assert s["accepted_by_siak"] == 26
    assert s["lost"] == 0 and s["duplicates_at_siak"] == 0 and s["unexpected_at_siak"] == 0
    assert list(s["wait_by_class"]) == ["vulnerable", "first_recording", "routine"]
    w = s["wait_by_class"]
    assert w["vulnerable"] < w["first_recording"] < w["routine"]
    assert s["kiosk_exit_codes"] == {"dps-01": 0, "dps-02": 0, "dps-03": 0}


def test_demo_survives_kills_revocation_and_line_noise():
    s = demo("--kiosks", "3", "--residents", "21", "--siak-outage", "15",
             "--fault", "kill-kiosk", "--fault", "kill-centre", "--fault", "revoke-kiosk",
             "--peripherals", "sim-controller:noise=0.0002")
    assert s["faults_injected"] == ["kill-centre", "kill-kiosk", "revoke-kiosk"]
    assert s["served"] == s["residents"] == 21  # the interrupted resident was served again
    assert s["interrupted_sessions"] == 1
    assert s["refused"] > 0  # the revoked kiosk's later packets: refused, not lost
    assert s["accepted_by_siak"] + s["refused"] == s["captured"] == 18
    assert s["lost"] == 0 and s["duplicates_at_siak"] == 0 and s["unexpected_at_siak"] == 0
    assert s["exit_code"] == 0


def test_bad_arguments_are_one_line():
    out = subprocess.run([sys.executable, "-m", "entrypoints.cli", "demo", "--kiosks", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline[:200])
    return found


def test_ctrl_c_stops_every_process_it_started(tmp_path):
    work = tmp_path / "demo"
    demo_proc = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "demo", "--workdir", str(work), "--residents", "60"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(work.glob("dps-*-residents-*.json")):
        time.sleep(0.2)
    time.sleep(2)  # kiosks serving, SIAK down, centre queueing
    assert len(_processes_mentioning(str(work))) >= 5  # broker, centre, SIAK, three kiosks
    demo_proc.send_signal(signal.SIGINT)
    assert demo_proc.wait(timeout=30) == 130
    assert _processes_mentioning(str(work)) == []


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, …), from /proc."""
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; only its reaping is left)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkilled_demo_leaves_no_process(tmp_path):
    """SIGKILL gives the demo no chance to stop anything: its children (Mosquitto, the
    centre, the SIAK simulator, the kiosks and the firmware under micropython) must go with
    it by themselves (the parent-death signal, entrypoints/demo/processes.py)."""
    from tests.waiting import wait_until

    work = tmp_path / "demo"
    demo_proc = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "demo", "--workdir", str(work),
         "--residents", "60"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        seen: set[int] = set()

        def all_started() -> bool:  # broker, centre, SIAK, kiosks, the firmware
            kids = _descendants(demo_proc.pid)
            seen.update(kids)
            lines = " ".join(_cmdline(pid) for pid in kids)
            return all(name in lines for name in
                       ("mosquitto", "broker run", "siak-sim", "kiosk run", "micropython"))

        assert wait_until(all_started, timeout=120, every=0.2), "the demo never came up"
        seen.update(_descendants(demo_proc.pid))
        demo_proc.send_signal(signal.SIGKILL)
        demo_proc.wait(timeout=30)
        assert wait_until(lambda: not any(_running(pid) for pid in seen), timeout=30)
        assert [pid for pid in seen if _running(pid)] == []
        assert _processes_mentioning(str(work)) == []
    finally:
        if demo_proc.poll() is None:
            demo_proc.kill()
            demo_proc.wait()
