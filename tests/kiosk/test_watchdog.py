"""A real `anjungan kiosk run` under systemd's notify protocol: READY=1 once it is up, then
WATCHDOG=1 from its loop, to an abstract unix datagram socket as systemd gives it."""

from __future__ import annotations

import os
import signal
import socket
import uuid
from pathlib import Path

import pytest

from provisioning.broker_process import free_port
from provisioning.bundle import KioskBundle

from .kiosk_process import KioskProcess


def test_kiosk_says_ready_then_pings_its_watchdog(bundle: KioskBundle, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"anjungan-kiosk-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(60)  # a hang guard
        monkeypatch.setenv("NOTIFY_SOCKET", f"@{name}")
        monkeypatch.setenv("WATCHDOG_USEC", "400000")  # a ping at most every 0.1 s
        # systemd names the unit's main process, cage; here the kiosk's parent is this test
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
        steps = [{"mark": "waiting"}, *[{"wait": 86400}] * 5]  # the script's loop turns for minutes
        kiosk = KioskProcess(bundle.root, free_port(), tmp_path, steps, drain=600)
        try:
            got = [sock.recv(64) for _ in range(3)]
            kiosk.proc.send_signal(signal.SIGTERM)
            assert kiosk.finish(timeout=30) == 0
        finally:
            if kiosk.proc.poll() is None:
                kiosk.kill()
    assert got == [b"READY=1", b"WATCHDOG=1", b"WATCHDOG=1"]
    assert kiosk.named("started")
