"""A real `anjungan broker run` under systemd's notify protocol: READY=1 once ingest and
relay run, then WATCHDOG=1 while they live, to an abstract unix datagram socket."""

from __future__ import annotations

import socket
import threading
import uuid
from pathlib import Path

import pytest

from broker import service as service_module
from broker.service import CentralService
from provisioning.broker_process import free_port
from tests.waiting import wait_until

from .harness import Mosquitto, Service
from .kit import make_fleet


@pytest.mark.parametrize("extra", [(), ("--http", "127.0.0.1:0")], ids=["service", "with-dashboard"])
def test_centre_says_ready_then_pings_its_watchdog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  extra: tuple[str, ...]) -> None:
    fleet_dir, _ = make_fleet(tmp_path, kiosks=())
    name = f"anjungan-centre-test-{uuid.uuid4().hex}"
    mosquitto = Mosquitto(fleet_dir, tmp_path).start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(60)  # a hang guard
        monkeypatch.setenv("NOTIFY_SOCKET", f"@{name}")
        monkeypatch.setenv("WATCHDOG_USEC", "400000")
        service = Service(fleet_dir, tmp_path, mqtt_url=mosquitto.url,
                          siak_url=f"http://127.0.0.1:{free_port()}", extra=extra).start()
        try:
            got = [sock.recv(64) for _ in range(3)]
            assert service.alive()
        finally:
            service.stop()
            mosquitto.stop()
    assert got == [b"READY=1", b"WATCHDOG=1", b"WATCHDOG=1"], (tmp_path / "service.log").read_text()[-2000:]


class _Liveness:
    """Stands in for the service: `alive` as the test says, each look counted."""

    def __init__(self) -> None:
        self.ok, self.looks = True, 0

    def alive(self) -> bool:
        self.looks += 1
        return self.ok


class _Dog:
    def __init__(self) -> None:
        self.pings, self.readies = 0, 0

    def ready(self) -> bool:
        self.readies += 1
        return True

    def ping(self) -> bool:
        self.pings += 1
        return True


def test_pings_stop_when_a_worker_dies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "WATCHDOG_TICK_S", 0.01)
    service, dog, stop = _Liveness(), _Dog(), threading.Event()
    loop = threading.Thread(target=CentralService.keep_watchdog, args=(service, stop, dog))  # type: ignore[arg-type]
    loop.start()
    try:
        assert wait_until(lambda: dog.pings >= 2)
        service.ok = False  # a relay or ingest thread died
        seen = service.looks
        assert wait_until(lambda: service.looks >= seen + 2)
        pings = dog.pings
        assert wait_until(lambda: service.looks >= seen + 10)
        assert dog.pings == pings and dog.readies == 1
    finally:
        stop.set()
        loop.join(timeout=10)
