"""The shell every CPython device simulator shares: a socketpair whose far end (`fd`) a
`Line` bridges to the host's pty, and a thread that feeds what the host sends to
`on_bytes` until stopped. Subclasses answer with `self._sock.sendall(...)`."""

from __future__ import annotations

import select
import socket
import threading
from typing import Self


class SimulatedDevice:
    poll_s = 0.05

    def __init__(self) -> None:
        self.host_fd_sock, self._sock = socket.socketpair()
        self.fd = self.host_fd_sock.fileno()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=type(self).__name__)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._sock.close()
        self.host_fd_sock.close()

    def on_bytes(self, data: bytes) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            if not select.select([self._sock], [], [], self.poll_s)[0]:
                continue
            try:
                data = self._sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            self.on_bytes(data)
