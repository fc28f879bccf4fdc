"""SQLite dialect of the fleet store (the default; `sqlite://:memory:` is the in-memory twin)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from broker.fleet.errors import StoreError
from broker.fleet.store.sql import SqlFleetStore


class SqliteFleetStore(SqlFleetStore):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open fleet store {path}: {exc}") from exc
        self._create()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            if self._db is None:
                raise StoreError("fleet store is closed")
            cur = self._db.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                yield cur
                cur.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.rollback()
                raise StoreError(f"fleet store failed: {exc}") from exc
            except BaseException:
                self._db.rollback()
                raise
            finally:
                cur.close()
