"""A simulated serial cable: bridges a device endpoint to a host-side pty, with line-rate
pacing, latency, noise (flipped bits), dropped and duplicated bytes, and unplug/replug.

The host opens `line.path` (a stable symlink, as udev gives real devices) with the real
driver. Each direction is modelled as a UART that is never idle while bytes wait: a byte
starts on the wire when it is ready (arrival + latency) and the wire is free, takes
10 bits / baud, and is delivered when its transmission ends. Impairments hit bytes as they
enter the line, with a seeded RNG, so a run is reproducible.
"""

from __future__ import annotations

import collections
import errno
import os
import random
import select
import threading
import time
import tty
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Impairments:
    baud: int = 115200
    paced: bool = True
    latency_s: float = 0.0
    noise: float = 0.0  # probability per byte of one flipped bit
    drop: float = 0.0  # probability per byte of being lost
    dup: float = 0.0  # probability per byte of being doubled
    seed: int = 0

    def __post_init__(self) -> None:
        if self.baud <= 0:
            raise ValueError("baud must be positive")
        for name in ("noise", "drop", "dup"):
            if not 0.0 <= getattr(self, name) <= 0.5:
                raise ValueError(f"{name} must be between 0 and 0.5")

    @property
    def bytes_per_s(self) -> float:
        return self.baud / 10.0  # 8N1: start + 8 data + stop


_PIECE = 64  # bytes delivered per step: fine-grained enough for 921600 baud


class _Direction:
    def __init__(self, imp: Impairments, rng: random.Random) -> None:
        self.imp, self.rng = imp, rng
        self.pending: collections.deque[list] = collections.deque()  # [ready_time, bytearray]
        self.wire_free = 0.0
        self.bytes_in = 0
        self.bytes_out = 0

    def ingest(self, data: bytes, now: float) -> None:
        self.bytes_in += len(data)
        imp = self.imp
        if imp.noise or imp.drop or imp.dup:
            out = bytearray()
            rnd = self.rng.random
            for b in data:
                r = rnd()
                if r < imp.drop:
                    continue
                if r < imp.drop + imp.noise:
                    b ^= 1 << self.rng.randrange(8)
                out.append(b)
                if rnd() < imp.dup:
                    out.append(b)
            data = bytes(out)
        if data:
            self.pending.append([now + imp.latency_s, bytearray(data)])

    def due(self, now: float) -> tuple[bytes, float | None]:
        """Bytes whose transmission has ended by `now`, and when the next piece will be."""
        out = bytearray()
        rate = self.imp.bytes_per_s
        while self.pending:
            ready, data = self.pending[0]
            if not self.imp.paced:
                if ready > now:
                    return bytes(out), ready
                out += data
                self.pending.popleft()
                continue
            start = max(ready, self.wire_free)
            k = min(len(data), _PIECE)
            end = start + k / rate
            if end > now:
                return bytes(out), end
            out += data[:k]
            del data[:k]
            self.wire_free = end
            if not data:
                self.pending.popleft()
        return bytes(out), None

    def clear(self) -> None:
        self.pending.clear()


class Line:
    """Run with `start()`; `path` is what the host opens; `unplug()` / `replug()`; `stop()`."""

    def __init__(self, device_fd: int, imp: Impairments, path: str) -> None:
        self.imp = imp
        self.path = path
        self._dev = device_fd
        os.set_blocking(device_fd, False)
        rng = random.Random(imp.seed)
        self.to_host = _Direction(imp, rng)
        self.to_device = _Direction(imp, random.Random(imp.seed + 1))
        self._master: int | None = None
        self._slave: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"line:{path}", daemon=True)
        self.unplugs = 0
        self.device_gone = False
        self._plug()

    # --- plugging --------------------------------------------------------------------------

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.path)  # the stable name now points at the new pty
        self._master, self._slave = master, slave

    def unplug(self) -> None:
        """The cable is pulled: the host's port errors out and the name disappears."""
        with self._lock:
            if self._master is None:
                return
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
            if os.path.lexists(self.path):
                os.unlink(self.path)
            self.to_host.clear()
            self.to_device.clear()
            self.unplugs += 1
        self._poke()

    def replug(self) -> None:
        with self._lock:
            if self._master is None:
                self._plug()
        self._poke()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    # --- running ---------------------------------------------------------------------------

    def start(self) -> Line:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._poke()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.unplug()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)

    def _poke(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _run(self) -> None:
        next_at: float | None = None
        while not self._stop.is_set():
            with self._lock:
                master = self._master
            fds = [self._wake_r] + ([self._dev] if not self.device_gone else [])
            if master is not None:
                fds.append(master)
            timeout = None if next_at is None else max(0.0, next_at - time.monotonic())
            try:
                readable, _, _ = select.select(fds, [], [], 0.5 if timeout is None else timeout)
            except OSError as exc:  # unplug() closed the master between our look and select
                if exc.errno != errno.EBADF:
                    raise
                continue
            now = time.monotonic()
            if self._wake_r in readable:
                os.read(self._wake_r, 64)
            if self._dev in readable:
                data = self._read(self._dev)
                if data is None:
                    self.device_gone = True
                elif master is not None:
                    self.to_host.ingest(data, now)
            if master is not None and master in readable:
                data = self._read(master)
                if data:
                    self.to_device.ingest(data, now)
            next_at = self._deliver(now)

    @staticmethod
    def _read(fd: int) -> bytes | None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):
                return None  # the other end is gone
            raise
        return data if data else None

    def _deliver(self, now: float) -> float | None:
        wakes = []
        for direction, fd in ((self.to_host, self._master), (self.to_device, self._dev)):
            data, wake = direction.due(now)
            if data and fd is not None:
                self._write_all(fd, data)
                direction.bytes_out += len(data)
            if wake is not None:
                wakes.append(wake)
        return min(wakes) if wakes else None

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 2.0
        while view:
            try:
                n = os.write(fd, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # nobody reads: the bytes fall on the floor, like a real UART
                time.sleep(0.001)
            except OSError:
                return
