"""A real `anjungan broker run` under systemd's notify protocol: READY=1 once ingest and
relay run, then WATCHDOG=1 while they live, to an abstract unix datagram socket."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from provisioning.broker_process import free_port

from .harness import Mosquitto, Service
from .kit import make_fleet


def test_centre_says_ready_then_pings_its_watchdog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet_dir, _ = make_fleet(tmp_path, kiosks=())
    name = f"anjungan-centre-test-{uuid.uuid4().hex}"
    mosquitto = Mosquitto(fleet_dir, tmp_path).start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(60)  # a hang guard
        monkeypatch.setenv("NOTIFY_SOCKET", f"@{name}")
        monkeypatch.setenv("WATCHDOG_USEC", "400000")
        service = Service(fleet_dir, tmp_path, mqtt_url=mosquitto.url,
                          siak_url=f"http://127.0.0.1:{free_port()}").start()
        try:
            got = [sock.recv(64) for _ in range(3)]
            assert service.alive()
        finally:
            service.stop()
            mosquitto.stop()
    assert got == [b"READY=1", b"WATCHDOG=1", b"WATCHDOG=1"], (tmp_path / "service.log").read_text()[-2000:]
