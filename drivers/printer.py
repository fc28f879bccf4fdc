"""ESC/POS receipt printer: python-escpos renders, our transport carries the bytes.

python-escpos' `Dummy` printer builds the byte stream (text, native QR via GS ( k, cut), so
the same driver prints to a serial port, a pty or a file URL. Status is asked with
DLE EOT 1 (printer) and DLE EOT 4 (paper roll sensor) before each receipt.

A status byte has no checksum, only fixed bits (bit 1 and bit 4 set, bits 0 and 7 clear):
a query is repeated when its answer is missing or breaks the fixed bits, and a status is
believed only when two answers in a row agree, so one flipped bit on the cable neither
hides a fault nor invents one. DLE EOT is a real-time command: the printer answers at once,
so each try waits ANSWER_S plus the bytes' time on the line, up to STATUS_TRIES tries.
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
FIXED_MASK, FIXED_BITS = 0x93, 0x12
ANSWER_S = 0.2
STATUS_TRIES = 6


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
        self.stats = {"receipts": 0, "reconnects": 0, "status_retries": 0}

    def connect(self) -> str:
        if not self.transport.is_open:
            self.transport.open()
        self._status()
        self.state = "ok"
        return "escpos"

    def _answer(self, query: bytes) -> int | None:
        self.transport.read()  # stale bytes
        self.transport.write(query)
        deadline = time.monotonic() + ANSWER_S + (len(query) + 1) * 10 / self.transport.baud
        while time.monotonic() < deadline:
            data = self.transport.read(1)
            if data:
                return data[0]
        return None

    def _ask(self, query: bytes) -> int:
        """The status byte, once two valid answers in a row agree (see the module doc)."""
        last: int | None = None
        heard = False
        for _ in range(STATUS_TRIES):
            byte = self._answer(query)
            heard = heard or byte is not None
            if byte is None or byte & FIXED_MASK != FIXED_BITS:
                self.stats["status_retries"] += 1
                last = None
                continue
            if byte == last:
                return byte
            if last is not None:
                self.stats["status_retries"] += 1
            last = byte
        if not heard:
            raise DeviceTimeout(f"no status answer in {STATUS_TRIES} queries", device="printer")
        raise PeripheralError(
            f"no two status answers agreed in {STATUS_TRIES} queries", device="printer"
        )

    def _status(self) -> None:
        if self._ask(DLE_EOT_PRINTER) & 0x08:
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
