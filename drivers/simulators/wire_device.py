"""A CPython device that speaks the shared wire codec on one end of a socketpair, in a thread:
the base of the camera and signature pad simulators (the controller runs the real firmware)."""

from __future__ import annotations

import binascii
import queue
import select
import time
from collections.abc import Callable

from drivers.simulators.device import SimulatedDevice
from firmware import bulk, wire
from firmware.app import MIN_RTO_MS


def _reader(blob: bytes) -> Callable[[int, int], bytes]:
    return lambda offset, n: blob[offset : offset + n]


class WireDevice(SimulatedDevice):
    """Subclasses implement `on_request(cmd, args) -> (status, data, offer)`, where `offer` is
    None or (obj, data bytes, meta) to OFFER after the response; or -> None, and answer later
    from any thread with `answer(cmd, status, data, offer)` (a request that takes seconds,
    e.g. a sensor read-out, while the link keeps acknowledging and ticking)."""

    def __init__(self, *, baud: int = 0) -> None:
        super().__init__()
        self._sock.setblocking(False)
        self.link = wire.Link(window=4, rto_ms=400, max_retries=20, min_rto_ms=MIN_RTO_MS,
                              baud=baud)
        self.sender = bulk.BulkSender(self.link)
        self._queue: list[tuple[int, bytes]] = []
        self._offer: tuple[int, bytes, bytes] | None = None
        self._later: queue.SimpleQueue[tuple[int, int, bytes, tuple[int, bytes, bytes] | None]] = (
            queue.SimpleQueue())
        self.errors: list[str] = []

    def on_request(
        self, cmd: int, args: bytes
    ) -> tuple[int, bytes, tuple[int, bytes, bytes] | None] | None:
        raise NotImplementedError

    def answer(self, cmd: int, status: int, data: bytes = b"",
               offer: tuple[int, bytes, bytes] | None = None) -> None:
        """The answer to a request `on_request` deferred (thread-safe)."""
        self._later.put((cmd, status, data, offer))

    def _respond(self, cmd: int, status: int, data: bytes,
                 offer: tuple[int, bytes, bytes] | None) -> None:
        self._queue.append((wire.T_RSP, bytes((cmd, status)) + data))
        if offer is not None:
            self._offer = offer

    def _run(self) -> None:
        clock: Callable[[], float] = time.monotonic
        while not self._stop.is_set():
            readable, _, _ = select.select([self._sock], [], [], 0.002)
            if readable:
                try:
                    data = self._sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    data = b""
                except OSError:
                    return
                if data:
                    self.link.receive_data(data)
            self.link.tick(int(clock() * 1000))
            ev = self.link.next_event()
            while ev is not None:
                self._handle(ev)
                ev = self.link.next_event()
            while not self._later.empty():
                self._respond(*self._later.get())
            while self._queue and self.link.can_send():
                self.link.send(*self._queue.pop(0))
            if self._offer is not None and not self._queue and self.link.can_send():
                obj, blob, meta = self._offer
                self.sender.offer(obj, len(blob), binascii.crc32(blob), _reader(blob), meta)
                self._offer = None
            if not self._queue:
                self.sender.pump()
            out = self.link.data_to_send()
            if out:
                try:
                    self._sock.sendall(out)
                except OSError:
                    return

    def _handle(self, ev: tuple) -> None:
        if ev[0] == wire.EV_PEER_RESET:
            self._queue.clear()
            self.sender.pause()
            return
        if ev[0] != wire.EV_FRAME:
            return
        ftype, payload = ev[1], ev[3]
        if ftype == wire.T_BULK_FETCH:
            try:
                self.sender.on_fetch(payload)
            except bulk.BulkError as exc:
                self.errors.append(str(exc))
        elif ftype == wire.T_REQ and payload:
            try:
                answer = self.on_request(payload[0], bytes(payload[1:]))
            except Exception as exc:  # a simulator bug must show, not hang the host
                self.errors.append(repr(exc))
                answer = 0xFF, b"", None
            if answer is not None:
                self._respond(payload[0], *answer)
