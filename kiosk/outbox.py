"""The kiosk's durable outbox: the source of truth for a capture until the centre acks it.

- `store` commits the encoded packet (its body already HPKE-sealed: nothing biometric is ever
  plain on disk) with `synchronous=FULL` before the resident is told "done".
- Per-kiosk sequence numbers are persisted, strictly increasing across restarts; `append`
  takes the next one and stores the packet built with it in one transaction (one fsync).
- `due` gives pending packets highest priority first, oldest first within a priority, each
  again after `resend_after_s` without an ack (the centre's ack, not PUBACK, is the guarantee).
- `ack` shreds an accepted/duplicate packet: `secure_delete` overwrites its pages with zeros
  and a WAL checkpoint(TRUNCATE) carries that into the database file. A rejected packet stays
  (state `rejected`) for a technician; it is no longer sent.
- Tickets (ticket -> packet id, last known state) stay for status checks; they hold no
  personal data. Feedback messages wait in `messages` until the centre's `FeedbackAck`.

`MemoryOutbox` is the in-memory twin with the same interface, for tests and benchmarks.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from anjungan.messages import AckOutcome
from kiosk.errors import OutboxError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('sequence', 0);
CREATE TABLE IF NOT EXISTS outbox (
    sequence INTEGER PRIMARY KEY,
    packet_id TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL,
    created_at REAL NOT NULL,
    data BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_sent_at REAL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (state, priority, sequence);
CREATE TABLE IF NOT EXISTS tickets (
    ticket TEXT PRIMARY KEY,
    packet_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL
);
"""

_T = TypeVar("_T")
PENDING, REJECTED = "pending", "rejected"
TICKET_PENDING, TICKET_QUEUED, TICKET_REJECTED = "PENDING", "QUEUED", "REJECTED"


@dataclass(frozen=True, kw_only=True)
class OutboxEntry:
    sequence: int
    packet_id: str
    priority: int
    created_at: float
    data: bytes
    state: str = PENDING
    attempts: int = 0
    last_sent_at: float | None = None

    def __repr__(self) -> str:  # never print the sealed bytes
        return f"OutboxEntry(seq={self.sequence}, {self.packet_id}, prio={self.priority}, {self.state})"


@dataclass(frozen=True, kw_only=True)
class QueuedMessage:
    id: int
    kind: str
    payload: bytes


class Outbox(Protocol):
    def reserve_sequence(self) -> int: ...
    def store(self, entry: OutboxEntry, *, ticket: str) -> None: ...
    def append(self, make: Callable[[int], tuple[OutboxEntry, str]]) -> OutboxEntry: ...
    def due(self, now: float, *, resend_after_s: float, limit: int = 16) -> list[OutboxEntry]: ...
    def mark_sent(self, packet_id: str, now: float) -> None: ...
    def mark_all_unsent(self) -> None: ...
    def ack(self, packet_id: str, outcome: AckOutcome, now: float, reason: str = "") -> bool: ...
    def set_ticket_state(self, packet_id: str, state: str, now: float) -> None: ...
    def ticket_state(self, ticket: str) -> str | None: ...
    def pending(self) -> list[OutboxEntry]: ...
    def depth(self) -> int: ...
    def rejected_count(self) -> int: ...
    def oldest_created_at(self) -> float | None: ...
    def add_message(self, kind: str, payload: bytes, now: float) -> int: ...
    def messages(self, limit: int = 16) -> list[QueuedMessage]: ...
    def remove_message(self, message_id: int) -> None: ...
    def close(self) -> None: ...


class SqliteOutbox:
    def __init__(self, path: str | Path, *, sequence_floor: int = 0) -> None:
        """`sequence_floor`: the bundle's; a kiosk re-enrolled under its old id starts above
        every sequence the centre has seen from it (see provisioning/bundle.py)."""
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(mode=0o600, exist_ok=True)  # sealed packets and feedback: ours only
            self.path.chmod(0o600)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(SCHEMA)
            self._db.execute("UPDATE meta SET value = max(value, ?) WHERE key = 'sequence'",
                             (sequence_floor,))
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
        self._lock = threading.Lock()  # paho's thread may ask for depth while the UI stores

    def _tx(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox write failed: {exc}") from exc

    def reserve_sequence(self) -> int:
        row = self._tx("UPDATE meta SET value = value + 1 WHERE key = 'sequence' RETURNING value").fetchone()
        return int(row[0])

    def store(self, entry: OutboxEntry, *, ticket: str) -> None:
        self._in_transaction(lambda: self._insert(entry, ticket))

    def append(self, make: Callable[[int], tuple[OutboxEntry, str]]) -> OutboxEntry:
        """Take the next sequence, build the entry with it, insert: one transaction, one
        fsync (the slowest part of a resident's session)."""

        def work() -> OutboxEntry:
            row = self._db.execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'sequence' RETURNING value"
            ).fetchone()
            entry, ticket = make(int(row[0]))
            self._insert(entry, ticket)
            return entry

        return self._in_transaction(work)

    def _insert(self, entry: OutboxEntry, ticket: str) -> None:
        self._db.execute(
            "INSERT INTO outbox (sequence, packet_id, priority, created_at, data) VALUES (?, ?, ?, ?, ?)",
            (entry.sequence, entry.packet_id, entry.priority, entry.created_at, entry.data),
        )
        self._db.execute(
            "INSERT INTO tickets (ticket, packet_id, state, updated_at) VALUES (?, ?, ?, ?)",
            (ticket, entry.packet_id, TICKET_PENDING, entry.created_at),
        )

    def _in_transaction(self, work: Callable[[], _T]) -> _T:
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    result = work()
                    self._db.execute("COMMIT")
                    return result
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox write failed: {exc}") from exc

    def _entries(self, where: str, params: tuple = (), limit: int = -1) -> list[OutboxEntry]:
        rows = self._tx(
            "SELECT sequence, packet_id, priority, created_at, data, state, attempts, last_sent_at "
            f"FROM outbox WHERE {where} ORDER BY priority, sequence LIMIT ?", (*params, limit),
        ).fetchall()
        return [
            OutboxEntry(sequence=r[0], packet_id=r[1], priority=r[2], created_at=r[3], data=bytes(r[4]),
                        state=r[5], attempts=r[6], last_sent_at=r[7])
            for r in rows
        ]

    def due(self, now: float, *, resend_after_s: float, limit: int = 16) -> list[OutboxEntry]:
        return self._entries(
            "state = 'pending' AND (last_sent_at IS NULL OR last_sent_at <= ?)",
            (now - resend_after_s,), limit,
        )

    def pending(self) -> list[OutboxEntry]:
        return self._entries("state = 'pending'")

    def mark_sent(self, packet_id: str, now: float) -> None:
        self._tx("UPDATE outbox SET attempts = attempts + 1, last_sent_at = ? WHERE packet_id = ?",
                 (now, packet_id))

    def mark_all_unsent(self) -> None:
        self._tx("UPDATE outbox SET last_sent_at = NULL WHERE state = 'pending'")

    def ack(self, packet_id: str, outcome: AckOutcome, now: float, reason: str = "") -> bool:
        """Apply the centre's ack; False if this kiosk holds no such pending packet."""
        if outcome is AckOutcome.REJECTED:
            cur = self._tx("UPDATE outbox SET state = 'rejected', reason = ? WHERE packet_id = ?",
                           (reason[:200], packet_id))
            self.set_ticket_state(packet_id, TICKET_REJECTED, now)
            return cur.rowcount > 0
        cur = self._tx("DELETE FROM outbox WHERE packet_id = ?", (packet_id,))
        self._tx("UPDATE tickets SET state = ?, updated_at = ? WHERE packet_id = ? AND state = ?",
                 (TICKET_QUEUED, now, packet_id, TICKET_PENDING))
        if cur.rowcount:
            self._tx("PRAGMA wal_checkpoint(TRUNCATE)")  # zeroed pages into the file, WAL emptied
        return cur.rowcount > 0

    def set_ticket_state(self, packet_id: str, state: str, now: float) -> None:
        self._tx("UPDATE tickets SET state = ?, updated_at = ? WHERE packet_id = ?", (state, now, packet_id))

    def ticket_state(self, ticket: str) -> str | None:
        row = self._tx("SELECT state FROM tickets WHERE ticket = ?", (ticket,)).fetchone()
        return str(row[0]) if row else None

    def depth(self) -> int:
        return int(self._tx("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])

    def rejected_count(self) -> int:
        """Packets the centre refused for good, kept for a technician."""
        return int(self._tx("SELECT count(*) FROM outbox WHERE state = 'rejected'").fetchone()[0])

    def oldest_created_at(self) -> float | None:
        row = self._tx("SELECT min(created_at) FROM outbox WHERE state = 'pending'").fetchone()
        return None if row[0] is None else float(row[0])

    def add_message(self, kind: str, payload: bytes, now: float) -> int:
        cur = self._tx("INSERT INTO messages (kind, payload, created_at) VALUES (?, ?, ?)", (kind, payload, now))
        return int(cur.lastrowid or 0)

    def messages(self, limit: int = 16) -> list[QueuedMessage]:
        rows = self._tx("SELECT id, kind, payload FROM messages ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [QueuedMessage(id=r[0], kind=r[1], payload=bytes(r[2])) for r in rows]

    def remove_message(self, message_id: int) -> None:
        self._tx("DELETE FROM messages WHERE id = ?", (message_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class MemoryOutbox:
    """The in-memory twin: same answers, nothing survives the process."""

    def __init__(self, *, sequence_floor: int = 0) -> None:
        self._seq = sequence_floor
        self._entries: dict[str, OutboxEntry] = {}
        self._tickets: dict[str, tuple[str, str]] = {}  # ticket -> (packet_id, state)
        self._messages: dict[int, QueuedMessage] = {}
        self._lock = threading.Lock()

    def reserve_sequence(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def store(self, entry: OutboxEntry, *, ticket: str) -> None:
        with self._lock:
            if entry.packet_id in self._entries or ticket in self._tickets:
                raise OutboxError("outbox write failed: duplicate packet or ticket")
            self._entries[entry.packet_id] = entry
            self._tickets[ticket] = (entry.packet_id, TICKET_PENDING)

    def append(self, make: Callable[[int], tuple[OutboxEntry, str]]) -> OutboxEntry:
        entry, ticket = make(self.reserve_sequence())
        self.store(entry, ticket=ticket)
        return entry

    def _sorted(self) -> list[OutboxEntry]:
        return sorted((e for e in self._entries.values() if e.state == PENDING),
                      key=lambda e: (e.priority, e.sequence))

    def due(self, now: float, *, resend_after_s: float, limit: int = 16) -> list[OutboxEntry]:
        with self._lock:
            ready = [e for e in self._sorted()
                     if e.last_sent_at is None or e.last_sent_at <= now - resend_after_s]
            return ready[:limit]

    def pending(self) -> list[OutboxEntry]:
        with self._lock:
            return self._sorted()

    def _replace(self, packet_id: str, **changes: object) -> None:
        from dataclasses import replace

        e = self._entries.get(packet_id)
        if e is not None:
            self._entries[packet_id] = replace(e, **changes)  # type: ignore[arg-type]

    def mark_sent(self, packet_id: str, now: float) -> None:
        with self._lock:
            e = self._entries.get(packet_id)
            if e is not None:
                self._replace(packet_id, attempts=e.attempts + 1, last_sent_at=now)

    def mark_all_unsent(self) -> None:
        with self._lock:
            for pid in list(self._entries):
                self._replace(pid, last_sent_at=None)

    def ack(self, packet_id: str, outcome: AckOutcome, now: float, reason: str = "") -> bool:
        with self._lock:
            e = self._entries.get(packet_id)
            if e is None or e.state != PENDING:
                return False
            if outcome is AckOutcome.REJECTED:
                self._replace(packet_id, state=REJECTED)
                new = TICKET_REJECTED
            else:
                del self._entries[packet_id]
                new = TICKET_QUEUED
        self.set_ticket_state(packet_id, new, now)
        return True

    def set_ticket_state(self, packet_id: str, state: str, now: float) -> None:
        with self._lock:
            for ticket, (pid, _old) in self._tickets.items():
                if pid == packet_id:
                    self._tickets[ticket] = (pid, state)

    def ticket_state(self, ticket: str) -> str | None:
        with self._lock:
            found = self._tickets.get(ticket)
            return found[1] if found else None

    def depth(self) -> int:
        return len(self.pending())

    def rejected_count(self) -> int:
        with self._lock:
            return sum(1 for e in self._entries.values() if e.state == REJECTED)

    def oldest_created_at(self) -> float | None:
        entries = self.pending()
        return min(e.created_at for e in entries) if entries else None

    def add_message(self, kind: str, payload: bytes, now: float) -> int:
        with self._lock:
            mid = max(self._messages, default=0) + 1
            self._messages[mid] = QueuedMessage(id=mid, kind=kind, payload=payload)
            return mid

    def messages(self, limit: int = 16) -> list[QueuedMessage]:
        with self._lock:
            return [self._messages[k] for k in sorted(self._messages)][:limit]

    def remove_message(self, message_id: int) -> None:
        with self._lock:
            self._messages.pop(message_id, None)

    def close(self) -> None:
        pass


def open_outbox(url: str) -> Outbox:
    """'memory' for the twin, else a SQLite file path."""
    return MemoryOutbox() if url == "memory" else SqliteOutbox(url)


def pending_in(path: str | Path) -> int:
    """Pending packets in the outbox at `path`, read-only from outside the kiosk (a monitor,
    the demo): 0 when there is none yet, -1 when it cannot be read."""
    if not Path(path).exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM outbox WHERE state = ?", (PENDING,)).fetchone()[0])
    except sqlite3.Error:
        return -1
