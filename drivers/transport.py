"""Serial transport by pyserial URL: a device path, a pty path, `socket://`, `loop://`.

The one place pyserial is touched: its errors become `DeviceUnavailable`. Exclusive open
on real ports (flock), timeouts on every read, reconnect with exponential backoff.
"""

from __future__ import annotations

import time

import serial

from drivers.errors import DeviceUnavailable


class SerialTransport:
    def __init__(self, url: str, baud: int, *, device: str) -> None:
        if not url:
            raise DeviceUnavailable("not configured", device=device)
        self.url, self.baud, self.device = url, baud, device
        self._port: serial.SerialBase | None = None
        self.reconnects = 0

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        exclusive = "://" not in self.url  # flock only means something on a device node
        try:
            port = serial.serial_for_url(self.url, baudrate=self.baud, timeout=0.005,
                                         write_timeout=10.0, exclusive=exclusive or None)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceUnavailable(f"cannot open {self.url}: {exc}", device=self.device) from exc
        self._port = port

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def _require(self) -> serial.SerialBase:
        if self._port is None:
            raise DeviceUnavailable("port is closed", device=self.device)
        return self._port

    def read(self, max_bytes: int = 4096) -> bytes:
        """What arrived within ~5 ms (possibly b"")."""
        port = self._require()
        try:
            waiting = port.in_waiting
            return bytes(port.read(min(max_bytes, max(1, waiting))))
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise DeviceUnavailable(f"lost {self.url}: {exc}", device=self.device) from exc

    def write(self, data: bytes) -> None:
        port = self._require()
        try:
            port.write(data)
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise DeviceUnavailable(f"lost {self.url}: {exc}", device=self.device) from exc

    def reopen(self, *, deadline: float, first_delay: float = 0.05, max_delay: float = 1.0) -> None:
        """Reopen until it works or `deadline` (time.monotonic) passes, backing off."""
        self.close()
        delay = first_delay
        while True:
            try:
                self.open()
                self.reconnects += 1
                return
            except DeviceUnavailable:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(max_delay, delay * 2)
