"""Run a private Mosquitto from a generated configuration (demo, benches, tests).

Production brokers run under systemd (see rpi/ and the README); this starts one as a child
process, waits until its TLS port accepts connections, and stops it.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from provisioning.errors import ProvisioningError


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if not found:
        raise ProvisioningError("mosquitto is not installed; run: sudo apt-get install mosquitto")
    return found


_GIVEN: set[int] = set()  # ports this process has handed out


def free_port() -> int:
    """A loopback port free now, for a server started a moment later. Taken below the
    kernel's ephemeral range: a port the kernel hands out itself (bind to 0) is also what any
    outgoing connection may be given meanwhile (a client dialling a server not up yet), and
    the server would then find its port taken."""
    low = _ephemeral_low()
    for _ in range(64):
        port = random.randrange(max(1024, low - 12_000), low)
        if port in _GIVEN:  # handed out already (its server may not be up yet)
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    with socket.socket() as s:  # a crowded range: let the kernel choose
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def wait_for_port(port: int, *, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise ProvisioningError(f"nothing answers on {host}:{port} after {timeout:.0f} s")


@dataclass
class BrokerProcess:
    conf: Path
    port: int
    process: subprocess.Popen | None = None

    def start(self, *, log: Path | None = None, env: Mapping[str, str] | None = None) -> BrokerProcess:
        """`env` is added to ours (e.g. libfaketime's LD_PRELOAD and FAKETIME for tests that
        move the broker's clock; the pid stays mosquitto's own, so SIGHUP reaches it)."""
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.conf)], stdout=out, stderr=out,
            stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
        try:
            wait_for_port(self.port)
        except ProvisioningError:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
