"""Backup and restore of the SQLite queue (`queue.db` and its `queue.db-bodies/` folder),
while the service runs.

The rows name body files, and the service shreds a body once its row stops naming it
(accepted by SIAK, purged). So a copy of the database and a copy of the folder taken at two
instants disagree. `backup` therefore:

  1. snapshots the database with SQLite's online backup API (one step: a consistent
     snapshot, never blocking the service's writer for long);
  2. copies every body that snapshot names, checking each against the length and SHA-256
     its row recorded (a body being shredded meanwhile fails the check);
  3. if any was gone or changed, the service moved on since the snapshot: it snapshots
     again and copies only the bodies it still lacks. Each round converges on a snapshot
     whose every body is in hand; bodies copied for an earlier round and named no longer
     are dropped.

The result, in DIR: `queue.db` (a self-contained file, no WAL), `queue.db-bodies/` and
`backup.json` (counts). Files are 0600, folders 0700: they hold sealed packets.

`restore` refuses a damaged backup (a body missing or not matching its row) and a queue in
use (the service holds its body folder's lock), keeps whatever was at the target aside
(`*.replaced-<time>`), copies, syncs, and checks again. PostgreSQL queues: `pg_dump`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from broker.errors import QueueError
from broker.private import private_database
from broker.queue.bodies import LOCK_NAME, folder_for

MANIFEST = "backup.json"
DATABASE = "queue.db"
FORMAT = 1
ROUNDS = 20
Ref = tuple[str, int, bytes]  # body file name, length, SHA-256


@dataclass(frozen=True, kw_only=True)
class BackupReport:
    folder: Path
    packets: int  # rows in the snapshot
    bodies: int  # body files copied with them
    rounds: int  # snapshots taken until every body named was in hand


def backup(database: str | Path, out: str | Path, *, rounds: int = ROUNDS) -> BackupReport:
    source, folder = Path(database), Path(out)
    if not source.is_file():
        raise QueueError(f"no queue at {source}")
    if folder.exists() and any(folder.iterdir()):
        raise QueueError(f"{folder} is not empty: give a new folder for the backup")
    target = folder / DATABASE
    bodies_out = folder_for(target)
    _private_dir(folder)
    _private_dir(bodies_out)
    have: set[str] = set()
    attempt, missing = 0, [("", 0, b"")]
    while missing:
        attempt += 1
        if attempt > rounds:
            raise QueueError(f"the queue changed faster than it could be copied ({rounds} tries); try again")
        _snapshot(source, target)
        refs = _references(target)
        missing = [r for r in refs if r[0] not in have and not _copy_body(folder_for(source), bodies_out, r)]
        have |= {r[0] for r in refs} - {r[0] for r in missing}
    named = {r[0] for r in refs}
    for stale in have - named:  # copied for an earlier snapshot, shredded since
        (bodies_out / stale).unlink()
    _sync_dir(bodies_out)
    packets = _count(target)
    _write_private(folder / MANIFEST, json.dumps({"format": FORMAT, "at": time.time(), "source": str(source),
                                                  "packets": packets, "bodies": len(named)}).encode())
    _sync_dir(folder)
    return BackupReport(folder=folder, packets=packets, bodies=len(named), rounds=attempt)


def restore(backup_dir: str | Path, database: str | Path, *, replace: bool = False) -> BackupReport:
    folder, target = Path(backup_dir), Path(database)
    saved = folder / DATABASE
    if not (folder / MANIFEST).is_file() or not saved.is_file():
        raise QueueError(f"{folder} is not a queue backup (no {MANIFEST} and {DATABASE})")
    refs = _references(saved)
    for name, length, digest in refs:
        if _read_checked(folder_for(saved) / name, length, digest) is None:
            raise QueueError(f"the backup is damaged: body {name} is missing or does not match its row")
    present = [p for p in (target, *_sidecars(target), folder_for(target)) if p.exists()]
    if present:
        if not replace:
            raise QueueError(f"a queue exists at {target}: give --replace to keep it aside and restore over it")
        _refuse_if_in_use(target)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for p in present:
            p.rename(p.with_name(f"{p.name}.replaced-{stamp}"))
    private_database(target)  # folder 0700, file 0600 before SQLite writes it
    _snapshot(saved, target)
    bodies = folder_for(target)
    _private_dir(bodies)
    for ref in refs:
        if not _copy_body(folder_for(saved), bodies, ref):
            raise QueueError(f"could not restore body {ref[0]}")
    _sync_dir(bodies)
    _sync_dir(target.parent)
    return BackupReport(folder=folder, packets=_count(target), bodies=len(refs), rounds=1)


# -- the pieces ------------------------------------------------------------------------------
def _snapshot(source: Path, target: Path) -> None:
    """`source` copied to `target` (replaced) in one consistent step, as one file (no WAL)."""
    for p in (target, *_sidecars(target)):
        p.unlink(missing_ok=True)
    private_database(target)
    try:
        src = sqlite3.connect(source, timeout=30.0)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # pages=-1: all in one step, under one read lock
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise QueueError(f"cannot copy the queue database {source}: {exc}") from exc


def _references(database: Path) -> list[Ref]:
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT body_file, body_len, body_sha256 FROM packets"
                              " WHERE body_file IS NOT NULL ORDER BY body_file").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise QueueError(f"cannot read the queue database {database}: {exc}") from exc
    return [(str(name), int(length), bytes(digest or b"")) for name, length, digest in rows]


def _count(database: Path) -> int:
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM packets").fetchone()[0])
    finally:
        db.close()


def _read_checked(path: Path, length: int, digest: bytes) -> bytes | None:
    """The body at `path` if it is whole (the length and SHA-256 its row recorded), else None."""
    try:
        with open(path, "rb") as f:
            data = f.read(length + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise QueueError(f"cannot read body {path.name}: {exc.strerror}") from exc
    return data if len(data) == length and hashlib.sha256(data).digest() == digest else None


def _copy_body(source: Path, dest: Path, ref: Ref) -> bool:
    """Copy one body, checked; False when the service has shredded (or is shredding) it."""
    name, length, digest = ref
    data = _read_checked(source / name, length, digest)
    if data is None:
        return False
    _write_private(dest / name, data)
    return True


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sidecars(database: Path) -> tuple[Path, Path]:
    return database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")


def _refuse_if_in_use(database: Path) -> None:
    """A running service holds its body folder's lock (shared); so does any open queue."""
    lock = folder_for(database) / LOCK_NAME
    if not lock.exists():
        return
    fd = os.open(lock, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise QueueError(f"the queue at {database} is in use: stop `broker run` first") from None
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
