"""systemd's notify protocol, stdlib only: READY=1 once a service is up, WATCHDOG=1 from
its main loop so a hung loop is restarted (`Type=notify`, `WatchdogSec=` in the units).

Off unless systemd asked for it: without $NOTIFY_SOCKET nothing is sent; without
$WATCHDOG_USEC (or with $WATCHDOG_PID naming another process, or with `parent_ok` a process
other than this one or its parent) no pings. A datagram that
cannot be sent is dropped: notifying never stops a service.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping


def socket_address(value: str) -> str | bytes | None:
    """$NOTIFY_SOCKET as a unix address: a path, or '@name' for the abstract namespace."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None  # vsock and others: not ours to speak


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `state` (e.g. "READY=1") to systemd; True if a datagram went."""
    address = socket_address((os.environ if env is None else env).get("NOTIFY_SOCKET", ""))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
        return True
    except OSError:
        return False


class Watchdog:
    """READY=1 once, then WATCHDOG=1 at most every quarter of $WATCHDOG_USEC however often
    `ping` is called (a loop calls it every turn)."""

    def __init__(self, env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic, *, parent_ok: bool = False) -> None:
        """`parent_ok`: this process is the child of the unit's main process (the kiosk
        under cage: systemd names cage in $WATCHDOG_PID; the unit has NotifyAccess=all)."""
        self._env = dict(os.environ if env is None else env)
        self._clock = clock
        self.period = 0.0  # seconds between pings; 0: off
        try:
            usec = int(self._env.get("WATCHDOG_USEC", "0"))
            pid = int(self._env.get("WATCHDOG_PID", str(os.getpid())))
        except ValueError:
            usec, pid = 0, 0
        ours = (os.getpid(), os.getppid()) if parent_ok else (os.getpid(),)
        if usec > 0 and pid in ours and self._env.get("NOTIFY_SOCKET"):
            self.period = usec / 1e6 / 4
        self._last = float("-inf")

    @property
    def enabled(self) -> bool:
        return self.period > 0

    def ready(self) -> bool:
        return notify("READY=1", self._env)

    def ping(self) -> bool:
        if not self.period:
            return False
        now = self._clock()
        if now - self._last < self.period:
            return False
        self._last = now
        return notify("WATCHDOG=1", self._env)

    def stopping(self) -> bool:
        return notify("STOPPING=1", self._env)
