"""ESC/POS printer simulator: understands enough of the stream to record what a resident
would hold (text lines, QR contents, cuts) and answers DLE EOT status queries.

DLE EOT n is a real-time command, as on a real printer: it is answered the moment its three
bytes arrive, wherever they fall in the stream (a receipt still being parsed, a command
waiting for its arguments). A 0x10 that does not start DLE EOT is dropped."""

from __future__ import annotations

from drivers.simulators.device import SimulatedDevice


class PrinterSim(SimulatedDevice):
    def __init__(self, *, paper: bool = True) -> None:
        super().__init__()
        self.paper = paper
        self.receipts: list[dict[str, object]] = []
        self._current: dict[str, list[str]] = {"lines": [], "qr": []}
        self._buf = bytearray()
        self._realtime = b""  # the start of a DLE EOT seen so far
        self.status_answers = 0

    def on_bytes(self, data: bytes) -> None:
        self._answer_realtime(data)
        self._buf += data
        self._parse()

    def _answer_realtime(self, data: bytes) -> None:
        seen = self._realtime
        for c in data:
            if seen == b"\x10\x04" and 1 <= c <= 4:
                status = 0x12 if c == 1 or self.paper else 0x72
                self._sock.sendall(bytes((status,)))
                self.status_answers += 1
                seen = b""
            elif c == 0x10:
                seen = b"\x10"
            elif seen == b"\x10" and c == 0x04:
                seen = b"\x10\x04"
            else:
                seen = b""
        self._realtime = seen

    def _parse(self) -> None:
        b = self._buf
        i = 0
        text = bytearray()
        while i < len(b):
            c = b[i]
            if c == 0x10 and i + 2 < len(b) and b[i + 1] == 0x04:  # DLE EOT n: answered
                i += 3
            elif c == 0x10 and i + 1 < len(b) and b[i + 1] != 0x04:
                i += 1  # not a command this printer knows: dropped
            elif c == 0x10:
                break  # wait for the rest
            elif c == 0x1B:  # ESC x n: all we send take one argument byte
                if i + 2 >= len(b):
                    break
                i += 3
            elif c == 0x1D and i + 1 < len(b) and b[i + 1] == 0x28:  # GS ( k pL pH ...
                if i + 5 > len(b):
                    break
                n = b[i + 3] | (b[i + 4] << 8)
                if i + 5 + n > len(b):
                    break
                body = bytes(b[i + 5 : i + 5 + n])
                if body[:3] == b"1P0":
                    self._current["qr"].append(body[3:].decode("utf-8", "replace"))
                i += 5 + n
            elif c == 0x1D and i + 1 < len(b) and b[i + 1] == 0x56:  # GS V cut
                if i + 2 >= len(b):
                    break
                self.receipts.append({"lines": list(self._current["lines"]),
                                      "qr": list(self._current["qr"])})
                self._current = {"lines": [], "qr": []}
                i += 3
            elif c == 0x1D:
                if i + 2 >= len(b):
                    break
                i += 3
            elif c == 0x0A:
                self._current["lines"].append(text.decode("utf-8", "replace"))
                text = bytearray()
                i += 1
            else:
                text.append(c)
                i += 1
        # keep an unfinished command and unterminated text for the next read
        self._buf = bytearray(b[i:]) if i < len(b) else bytearray()
        if text:
            self._buf[:0] = text
