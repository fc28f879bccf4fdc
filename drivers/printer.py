"""ESC/POS receipt printer: python-escpos renders, our transport carries the bytes.

python-escpos' `Dummy` printer builds the byte stream (text, native QR via GS ( k, cut), so
the same driver prints to a serial port, a pty or a file URL. Status is asked with
DLE EOT 1 (printer) and DLE EOT 4 (paper roll sensor) before each receipt.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from escpos.printer import Dummy

from drivers.errors import DeviceTimeout, DeviceUnavailable, PeripheralError
from drivers.transport import SerialTransport

DLE_EOT_PRINTER = b"\x10\x04\x01"
DLE_EOT_PAPER = b"\x10\x04\x04"


def render_receipt(lines: Sequence[str], qr_data: str | None = None) -> bytes:
    p = Dummy()
    p.set(align="center", bold=True)
    p.text("ANJUNGAN KTP-el\n")
    p.set(align="left", bold=False)
    for line in lines:
        p.text(line.replace("\r", " ").replace("\n", " ") + "\n")
    if qr_data:
        p.set(align="center")
        p.qr(qr_data, native=True, size=6)
    p.cut()
    return bytes(p.output)


class PrinterDriver:
    def __init__(self, transport: SerialTransport, *, timeout_s: float = 2.0) -> None:
        self.transport = transport
        self.timeout_s = timeout_s
        self.state = "closed"
        self.stats = {"receipts": 0, "reconnects": 0}

    def connect(self) -> str:
        if not self.transport.is_open:
            self.transport.open()
        self._status()
        self.state = "ok"
        return "escpos"

    def _ask(self, query: bytes) -> int:
        self.transport.read()  # stale bytes
        self.transport.write(query)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            data = self.transport.read(1)
            if data:
                return data[0]
        raise DeviceTimeout("no status answer", device="printer")

    def _status(self) -> None:
        status = self._ask(DLE_EOT_PRINTER)
        if status & 0x93 != 0x12:
            raise PeripheralError(f"unexpected status byte 0x{status:02x}", device="printer")
        if status & 0x08:
            raise PeripheralError("printer is offline (cover open?)", device="printer")
        if self._ask(DLE_EOT_PAPER) & 0x60:
            raise PeripheralError("out of paper", device="printer")

    def print_receipt(self, lines: Sequence[str], qr_data: str | None = None) -> None:
        data = render_receipt(lines, qr_data)
        try:
            self._status()
            self.transport.write(data)
        except DeviceUnavailable:
            self.state = "unplugged"
            self.transport.reopen(deadline=time.monotonic() + 5)
            self.stats["reconnects"] += 1
            self._status()
            self.transport.write(data)
        self.state = "ok"
        self.stats["receipts"] += 1

    def health(self) -> dict[str, Any]:
        return {"version": "escpos", "state": self.state, **self.stats}

    def close(self) -> None:
        self.transport.close()
        self.state = "closed"
