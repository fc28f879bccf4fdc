"""Files at rest hold sealed packets and fleet data: only the service's user may read them."""

from __future__ import annotations

import os
from pathlib import Path


def private_database(path: str | Path) -> None:
    """Before SQLite opens `path`: its folder exists (made 0700), the file exists and is
    0600 (SQLite makes its -wal and -shm files with the database file's mode)."""
    p = Path(path)
    p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older file may have been made 0644
    finally:
        os.close(fd)
