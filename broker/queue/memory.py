"""The in-memory twin of the durable queue: same interface, same semantics, no durability."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from anjungan.messages import SiakState
from anjungan.packet.model import PriorityClass
from broker.policy import DEFAULT_AGING_S, rank
from broker.queue.model import (
    FINAL_SIAK_STATES,
    REJECTIONS_KEPT,
    Admission,
    ClassDepth,
    Entry,
    EntryState,
    Envelope,
    Lease,
    Rejection,
)


@dataclass(kw_only=True)
class _Row:
    entry: Entry
    packet: bytes | None
    rank: float
    visible_at: float
    owner: str = ""


class MemoryQueue:
    def __init__(self, *, aging_s: float = DEFAULT_AGING_S) -> None:
        self.aging_s = aging_s
        self._rows: dict[str, _Row] = {}
        self._sequences: dict[tuple[str, int], str] = {}
        self._rejections: list[Rejection] = []
        self._lock = threading.Lock()

    def stage(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        return list(envelopes)

    def enqueue(self, envelopes: Sequence[Envelope], *, now: float) -> list[Admission]:
        out = []
        with self._lock:
            for env in envelopes:
                if env.packet_id in self._rows:
                    out.append(Admission.DUPLICATE)
                elif (env.kiosk_id, env.sequence) in self._sequences:
                    out.append(Admission.REPLAYED_SEQUENCE)
                else:
                    entry = Entry(
                        packet_id=env.packet_id, kiosk_id=env.kiosk_id, sequence=env.sequence,
                        priority=env.priority, state=EntryState.PENDING,
                        captured_at=env.captured_at, committed_at=now, accepted_at=None,
                        attempts=0, siak_state=SiakState.QUEUED, reason="",
                    )
                    self._rows[env.packet_id] = _Row(
                        entry=entry, packet=env.packet,
                        rank=rank(env.priority, now, self.aging_s), visible_at=now,
                    )
                    self._sequences[(env.kiosk_id, env.sequence)] = env.packet_id
                    out.append(Admission.NEW)
        return out

    def lease(self, *, owner: str, now: float, lease_s: float, limit: int = 1) -> list[Lease]:
        with self._lock:
            ready = sorted(
                (r for r in self._rows.values()
                 if r.entry.state is EntryState.PENDING and r.visible_at <= now),
                key=lambda r: (r.rank, r.entry.packet_id),
            )[:limit]
            leases = []
            for row in ready:
                row.owner, row.visible_at = owner, now + lease_s
                row.entry = replace(row.entry, attempts=row.entry.attempts + 1)
                assert row.packet is not None  # pending rows always keep their body
                leases.append(_lease(row, owner))
            return leases

    def accept(self, packet_id: str, *, now: float, siak_state: SiakState) -> bool:
        with self._lock:
            row = self._rows.get(packet_id)
            if row is None or row.entry.state is not EntryState.PENDING:
                return False
            row.entry = replace(
                row.entry, state=EntryState.ACCEPTED, accepted_at=now, siak_state=siak_state
            )
            row.packet, row.owner = None, ""
            return True

    def retry_later(self, packet_id: str, *, owner: str, visible_at: float, reason: str) -> bool:
        with self._lock:
            row = self._rows.get(packet_id)
            if row is None or row.entry.state is not EntryState.PENDING or row.owner != owner:
                return False
            row.visible_at, row.owner = visible_at, ""
            row.entry = replace(row.entry, reason=reason)
            return True

    def release_held(self, *, now: float) -> int:
        with self._lock:
            held = [r for r in self._rows.values() if r.entry.state is EntryState.PENDING
                    and not r.owner and r.visible_at > now]
            for row in held:
                row.visible_at = now
            return len(held)

    def dead_letter(self, packet_id: str, *, now: float, reason: str) -> bool:
        with self._lock:
            row = self._rows.get(packet_id)
            if row is None or row.entry.state is not EntryState.PENDING:
                return False
            row.entry = replace(row.entry, state=EntryState.DEAD, reason=reason)
            row.owner = ""
            return True

    def set_siak_state(self, packet_id: str, state: SiakState, *, now: float) -> bool:
        with self._lock:
            row = self._rows.get(packet_id)
            if row is None or row.entry.siak_state is state:
                return False
            row.entry = replace(row.entry, siak_state=state)
            return True

    def reject(self, rejection: Rejection) -> None:
        with self._lock:
            same = [i for i, r in enumerate(self._rejections)
                    if (r.kiosk_id, r.reason) == (rejection.kiosk_id, rejection.reason)]
            if len(same) >= REJECTIONS_KEPT:
                last = self._rejections[same[-1]]
                self._rejections[same[-1]] = replace(
                    rejection, repeats=last.repeats + rejection.repeats)
                return
            self._rejections.append(rejection)

    def rejections(self, *, limit: int = 100) -> list[Rejection]:
        with self._lock:
            return sorted(reversed(self._rejections), key=lambda r: r.at, reverse=True)[:limit]

    def get(self, packet_id: str) -> Entry | None:
        with self._lock:
            row = self._rows.get(packet_id)
            return row.entry if row else None

    def entries(self, *, state: EntryState | None = None, limit: int = 100_000) -> list[Entry]:
        with self._lock:
            rows = sorted(self._rows.values(), key=lambda r: (r.entry.committed_at, r.entry.packet_id))
            return [r.entry for r in rows if state is None or r.entry.state is state][:limit]

    def in_enrollment(self, *, limit: int = 100) -> list[Entry]:
        with self._lock:
            return [
                r.entry for r in self._rows.values()
                if r.entry.state is EntryState.ACCEPTED
                and r.entry.siak_state not in FINAL_SIAK_STATES
            ][:limit]

    def depth(self, *, now: float) -> list[ClassDepth]:
        with self._lock:
            out = []
            for cls in PriorityClass:
                rows = [r for r in self._rows.values()
                        if r.entry.state is EntryState.PENDING and r.entry.priority is cls]
                oldest = min((r.entry.committed_at for r in rows), default=now)
                out.append(ClassDepth(
                    priority=cls, depth=len(rows),
                    leased=sum(1 for r in rows if r.owner and r.visible_at > now),
                    oldest_age_s=max(0.0, now - oldest),
                ))
            return out

    def retry_dead(self, packet_ids: Sequence[str] | None, *, now: float) -> int:
        with self._lock:
            n = 0
            for row in self._rows.values():
                if row.entry.state is EntryState.DEAD and (
                    packet_ids is None or row.entry.packet_id in packet_ids
                ):
                    row.entry = replace(row.entry, state=EntryState.PENDING, attempts=0, reason="")
                    row.visible_at, row.owner = now, ""
                    n += 1
            return n

    def purge_dead(self, packet_ids: Sequence[str] | None) -> int:
        with self._lock:
            n = 0
            for row in self._rows.values():
                if row.entry.state is EntryState.DEAD and (
                    packet_ids is None or row.entry.packet_id in packet_ids
                ):
                    row.entry = replace(row.entry, state=EntryState.PURGED)
                    row.packet = None
                    n += 1
            return n

    def close(self) -> None:
        pass


def _lease(row: _Row, owner: str) -> Lease:
    e = row.entry
    assert row.packet is not None
    return Lease(
        packet_id=e.packet_id, kiosk_id=e.kiosk_id, priority=e.priority,
        captured_at=e.captured_at, committed_at=e.committed_at, attempts=e.attempts,
        packet=row.packet, owner=owner, expires_at=row.visible_at,
    )
