"""Sealed packet bodies as files beside the SQLite queue: each written once, shredded when done.

A ~1.2 MB body stored in SQLite's WAL is written twice (into the WAL, then again by the
checkpoint, which stalls the committing thread). Here each body is its own file in
`<queue.db>-bodies/`, named `<packet id>.<random>` so two writers never share a name:

  put     writes new files and asks the kernel to start writing them back (no wait): the
          ingest pipeline does this while the previous batch commits.
  sync    fsyncs them and the folder; only then does the caller commit the rows that name
          them. The row commit is the commit point: a crash before it leaves an orphan,
          never a row without its body.
  read    checks the length and SHA-256 the row recorded (`BodyLost` if either is off).
  shred   after the row stops naming it: overwrite with zeros, fdatasync, unlink. The
          body is HPKE-sealed already; this is the "deleted once the centre is done" promise.
  sweep   shreds every file no row names (orphans of a crash), at open, but only by the
          sole user of the folder: each open queue holds a shared `flock` on `.lock`, and
          the sweep needs it exclusively, so a queue opened by the operator CLI while the
          service runs never deletes a body the service has written but not yet committed.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

from broker.errors import QueueError
from broker.queue.model import BodyRef

log = logging.getLogger("anjungan.queue")

LOCK_NAME = ".lock"
FOLDER_SUFFIX = "-bodies"


def folder_for(database: str | Path) -> Path:
    """The body folder of the SQLite queue `database`: `<queue.db>-bodies`."""
    return Path(f"{database}{FOLDER_SUFFIX}")
_ZEROS = bytes(1 << 20)


# errors that may pass: a disk hiccup, out of file handles or memory; anything else
# (missing, a directory, permissions) will not fix itself
_TRANSIENT = frozenset({errno.EIO, errno.EMFILE, errno.ENFILE, errno.EAGAIN, errno.ENOMEM, errno.EINTR})


class BodyUnreadable(QueueError):
    """A body that could not be read this time (it may be readable later)."""


class BodyLost(QueueError):
    """A stored body is missing or does not match its row (disk fault, tampering)."""


class BodyStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._lock_fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
            self._dir_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise QueueError(f"cannot open the body store {self.root}: {exc.strerror}") from exc
        self.sole = _try_lock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not self.sole:
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH)

    def share(self) -> None:
        """Let other queues open the store too (after the sole owner's sweep)."""
        if self.sole:
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
            self.sole = False

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._dir_fd)
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = self._dir_fd = -1

    # -- the life of a body --------------------------------------------------------------
    def put(self, items: Sequence[tuple[str, bytes]]) -> list[BodyRef]:
        """One new file per (packet id, body), written but not yet synced; writeback starts
        now. On failure nothing written is left behind."""
        refs: list[BodyRef] = []
        try:
            for packet_id, data in items:
                name = f"{packet_id}.{secrets.token_hex(4)}"
                fd = os.open(self.root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    refs.append(BodyRef(name=name, length=len(data)))
                    _write_all(fd, data)
                    # Linux: DONTNEED starts writeback of the dirty pages without waiting, so
                    # the `sync` before the commit finds them (mostly) on disk already
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
        except OSError as exc:
            self.shred(r.name for r in refs)
            raise QueueError(f"cannot store packet bodies: {exc.strerror}") from exc
        return refs

    def sync(self, refs: Sequence[BodyRef]) -> None:
        """Make `put` durable: each file's data, then the folder's entries."""
        try:
            for ref in refs:
                fd = os.open(self.root / ref.name, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if refs:
                os.fsync(self._dir_fd)
        except OSError as exc:
            raise QueueError(f"cannot store packet bodies: {exc.strerror}") from exc

    def read(self, ref: BodyRef) -> bytes:
        """The body, checked against its record. `BodyLost` when it is gone or damaged for
        good; `BodyUnreadable` for a failure that may pass (I/O error, no file handles)."""
        try:
            with open(self.root / ref.name, "rb") as f:
                data = f.read(ref.length + 1)
        except OSError as exc:
            if exc.errno in _TRANSIENT:
                raise BodyUnreadable(f"body {ref.name} unreadable for now: {exc.strerror}") from exc
            raise BodyLost(f"body {ref.name} unreadable: {exc.strerror}") from exc
        if len(data) != ref.length or hashlib.sha256(data).digest() != (ref.sha256 or None):
            raise BodyLost(f"body {ref.name} does not match its record")
        return data

    def shred(self, names: Iterable[str]) -> int:
        """Overwrite with zeros, flush, unlink. Best effort: a failure is logged, and what
        is left is an orphan for the next sweep. Returns how many files went."""
        gone = 0
        for name in names:
            path = self.root / name
            try:
                fd = os.open(path, os.O_WRONLY)
                try:
                    size = os.fstat(fd).st_size
                    for off in range(0, size, len(_ZEROS)):
                        os.pwrite(fd, _ZEROS[: min(len(_ZEROS), size - off)], off)
                    os.fdatasync(fd)
                finally:
                    os.close(fd)
                os.unlink(path)
                gone += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("could not shred body %s: %s", name, exc.strerror)
        return gone

    def names(self) -> set[str]:
        return {e.name for e in os.scandir(self.root) if e.name != LOCK_NAME}

    def sweep(self, referenced: set[str]) -> int:
        """Shred every body no committed row names. Only the sole user may sweep."""
        if not self.sole:
            return 0
        orphans = self.names() - referenced
        gone = self.shred(sorted(orphans))
        if gone:
            self._sync_dir()
            log.info("shredded %d orphaned packet bodies (written, never committed)", gone)
        return gone

    def _sync_dir(self) -> None:
        os.fsync(self._dir_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _try_lock(fd: int, how: int) -> bool:
    try:
        fcntl.flock(fd, how)
    except BlockingIOError:
        return False
    return True
