"""One process per data file: an advisory lock beside it (`outbox.db` -> `outbox.db.lock`).

Two kiosks on one outbox would both take sequence numbers and send, ack and shred the same
rows. `flock(2)` is dropped by the kernel when its holder dies, even by SIGKILL or a power
cut, so a crash never leaves a stale lock; the pid written inside only names the holder in
the error.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from anjungan.errors import AnjunganError


class AlreadyRunning(AnjunganError):
    """Another process holds the data file's lock."""


class InstanceLock:
    def __init__(self, path: Path, file: IO[str]) -> None:
        self.path = path
        self._file = file

    def release(self) -> None:
        self._file.close()  # closing the last descriptor drops the flock


def lock_path(data_file: Path) -> Path:
    return data_file.with_name(data_file.name + ".lock")


def hold(data_file: Path, *, what: str) -> InstanceLock:
    """Take `data_file`'s lock or raise `AlreadyRunning` at once (never waits)."""
    path = lock_path(data_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    file = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600), "r+")
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = file.read().strip() or "?"
        file.close()
        raise AlreadyRunning(f"another {what} is already running on {data_file} "
                             f"(pid {holder} holds {path})") from None
    file.truncate(0)
    file.write(f"{os.getpid()}\n")
    file.flush()
    return InstanceLock(path, file)
