"""Where a SQL queue keeps sealed bodies: its own concern, apart from which database.

`SqlQueue` asks its `BodyStorage` at six points (stage, before the commit, the row's body
columns, inside a transaction that drops bodies, after it commits, after a lease) and
knows nothing else of where bodies live. Two strategies:

- `InlineBodies`: in the row's `packet` column (PostgreSQL).
- `FileBodies`: one file per body beside the database, written and fsynced before the row
  that names it commits (SQLite; bodies.py does the files, broker/queue/README.md tells why).

Both read rows of either kind: the row names a file or holds its body inline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from broker.queue.bodies import BodyLost, BodyStore, BodyUnreadable
from broker.queue.model import BodyRef, Envelope

log = logging.getLogger("anjungan.queue")
BODY_COLUMNS = ("body_file", "body_len", "body_sha256")
Rows = Callable[[str, Sequence[Any]], list[Any]]  # a read of its own (SqlQueue._read)
Execute = Callable[[Any, str, Sequence[Any]], Any]  # a statement on a cursor (SqlQueue._x)
DeadLetter = Callable[[str, float, str], object]  # (packet_id, now, reason)


class BodyStorage(Protocol):
    def stage(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """Optional work ahead of `enqueue`, nothing visible (see PacketQueue.stage)."""

    def make_durable(self, envelopes: Sequence[Envelope]) -> list[BodyRef | None]:
        """Before the transaction: make durable what the rows will name, one per envelope
        (None: the body goes in the row)."""

    def columns(self, env: Envelope, ref: BodyRef | None) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """The body's columns and values in the inserted row."""

    def held(self, cur: Any, where: str, params: Sequence[Any]) -> list[str]:
        """Inside the transaction that drops bodies: what to shred once it commits."""

    def shred(self, names: Sequence[str]) -> None:
        """After the commit: destroy bodies no row names any more."""

    def load(self, rows: list[Any], *, now: float) -> list[Any]:
        """After a lease commits: rows of (LEASE_COLUMNS) to (the first six, body bytes);
        a row whose body cannot be read now is left out."""

    def close(self) -> None: ...


def _inline(columns: tuple[Any, ...]) -> bool:
    return columns[7] is None  # no body file named


class InlineBodies:
    """Bodies in the `packet` column."""

    def stage(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        return list(envelopes)

    def make_durable(self, envelopes: Sequence[Envelope]) -> list[BodyRef | None]:
        return [None] * len(envelopes)

    def columns(self, env: Envelope, ref: BodyRef | None) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        if ref is None:
            return ("packet",), (env.packet,)
        return BODY_COLUMNS, (ref.name, ref.length, ref.sha256)

    def held(self, cur: Any, where: str, params: Sequence[Any]) -> list[str]:
        return []

    def shred(self, names: Sequence[str]) -> None:
        pass

    def load(self, rows: list[Any], *, now: float) -> list[Any]:
        out = []
        for r in rows:
            if not _inline(r):  # never written by this strategy
                log.error("packet %s names a body file this queue does not keep", r[0])
                continue
            out.append(tuple(r[:7]))
        return out

    def close(self) -> None:
        pass


class FileBodies(InlineBodies):
    """One file per body (bodies.py); rows from before keep theirs inline and still work."""

    def __init__(self, folder: Path, *, rows: Rows, execute: Execute, dead_letter: DeadLetter) -> None:
        self._rows, self._execute, self._dead_letter = rows, execute, dead_letter
        self.files = BodyStore(folder)
        if self.files.sole:  # no other process has the queue open: orphans can go
            self.files.sweep({r[0] for r in rows(
                "SELECT body_file FROM {P} WHERE body_file IS NOT NULL", ())})
            self.files.share()

    def stage(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """Write the bodies of packets not stored yet (unsynced: `make_durable` syncs them)."""
        fresh: dict[str, Envelope] = {}
        for env in envelopes:
            if env.body_ref is None:
                fresh.setdefault(env.packet_id, env)
        if fresh:
            marks = ",".join("?" * len(fresh))
            for (pid,) in self._rows(f"SELECT packet_id FROM {{P}} WHERE packet_id IN ({marks})", list(fresh)):
                del fresh[pid]  # a duplicate: its body is stored already
        refs = dict(zip(fresh, self.files.put([(p, e.packet) for p, e in fresh.items()]), strict=True))
        out = []
        for env in envelopes:
            ref = refs.pop(env.packet_id, None) if fresh.get(env.packet_id) is env else None
            out.append(dataclasses.replace(env, body_ref=ref) if ref else env)
        return out

    def make_durable(self, envelopes: Sequence[Envelope]) -> list[BodyRef | None]:
        if any(env.body_ref is None for env in envelopes):
            envelopes = self.stage(envelopes)
        # summed here, not in `stage`: the pipeline's verify stage is the busier one
        refs = [dataclasses.replace(env.body_ref, sha256=hashlib.sha256(env.packet).digest())
                if env.body_ref is not None else None for env in envelopes]
        self.files.sync([r for r in refs if r is not None])
        return refs  # `columns` as inherited: no ref is a duplicate, a no-op insert

    def held(self, cur: Any, where: str, params: Sequence[Any]) -> list[str]:
        rows = self._execute(cur, f"SELECT body_file FROM {{P}} WHERE {where} AND body_file IS NOT NULL", params)
        return [r[0] for r in rows.fetchall()]

    def shred(self, names: Sequence[str]) -> None:
        if names:
            self.files.shred(names)

    def load(self, rows: list[Any], *, now: float) -> list[Any]:
        out = []
        for r in rows:
            if _inline(r):  # a row from before bodies moved to files
                out.append(tuple(r[:7]))
                continue
            try:
                body = self.files.read(BodyRef(name=r[7], length=r[8], sha256=bytes(r[9])))
            except BodyLost as exc:
                log.error("packet %s: %s; dead letter", r[0], exc)
                self._dead_letter(r[0], now, "stored body lost")
                continue
            except BodyUnreadable as exc:  # stays leased: back when the lease runs out
                log.warning("packet %s: %s; retried after its lease", r[0], exc)
                continue
            out.append((*r[:6], body))
        return out

    def close(self) -> None:
        self.files.close()
