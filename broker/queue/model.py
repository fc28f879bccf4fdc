"""The durable priority queue's records and its one small interface.

A packet moves through: PENDING (waiting or leased; `visible_at` is when it may be leased
next, so an expired lease simply makes it visible again) -> ACCEPTED (SIAK has it; the
sealed body is dropped) or DEAD (a permanent rejection, kept for an operator) -> PURGED
(an operator dropped it; the id stays so a redelivery is still a duplicate).
Every method takes `now`: the queue never reads a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from anjungan.ids import is_packet_id
from anjungan.messages import SiakState
from anjungan.packet.model import PriorityClass


class Admission(enum.Enum):
    NEW = "new"  # committed now
    DUPLICATE = "duplicate"  # this packet id was committed before: stored once
    REPLAYED_SEQUENCE = "replayed_sequence"  # another packet already used (kiosk, sequence)


class EntryState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DEAD = "dead"
    PURGED = "purged"


@dataclass(frozen=True, kw_only=True)
class BodyRef:
    """Where a packet's body was put outside the row (SQLite: a file, see bodies.py), with
    its length and SHA-256 so a read can tell a damaged body from a good one."""

    name: str
    length: int
    sha256: bytes = b""  # empty while staged: summed just before the commit

    def __post_init__(self) -> None:
        if "/" in self.name or self.name.startswith(".") or len(self.sha256) not in (0, 32):
            raise ValueError("a body reference needs a plain file name and a SHA-256")


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """What ingest commits: the verified header fields and the packet as received."""

    packet_id: str
    kiosk_id: str
    sequence: int
    priority: PriorityClass
    captured_at: float
    packet: bytes
    body_ref: BodyRef | None = None  # set by `PacketQueue.stage` when it put the body aside

    def __post_init__(self) -> None:
        object.__setattr__(self, "priority", PriorityClass(self.priority))
        if not is_packet_id(self.packet_id):
            raise ValueError("packet_id must be a UUID string")


@dataclass(frozen=True, kw_only=True)
class Lease:
    """A packet handed to one relay worker until `expires_at`."""

    packet_id: str
    kiosk_id: str
    priority: PriorityClass
    captured_at: float
    committed_at: float
    attempts: int  # including this one
    packet: bytes
    owner: str
    expires_at: float


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One stored packet's bookkeeping (never its body)."""

    packet_id: str
    kiosk_id: str
    sequence: int
    priority: PriorityClass
    state: EntryState
    captured_at: float
    committed_at: float
    accepted_at: float | None
    attempts: int
    siak_state: SiakState
    reason: str  # last error, or why it is dead


@dataclass(frozen=True, kw_only=True)
class Rejection:
    """A bad packet: who sent it and why it was refused. Never its body."""

    kiosk_id: str
    packet_id: str  # "" when not even the id could be read
    reason: str
    at: float  # the latest time
    detail: str = ""
    repeats: int = 1  # > 1: the same kiosk and reason again, past the cap (see REJECTIONS_KEPT)


# Rejections kept one by one per (kiosk, reason); past that they are counted on the newest
# row (`repeats`), so a kiosk sending garbage cannot fill the centre's disk.
REJECTIONS_KEPT = 50


@dataclass(frozen=True, kw_only=True)
class ClassDepth:
    priority: PriorityClass
    depth: int  # pending, leased included
    leased: int
    oldest_age_s: float  # since commit, of the oldest pending packet; 0 when empty


class PacketQueue(Protocol):
    """One small interface; SQLite, PostgreSQL and memory implement it alike."""

    def stage(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """Optional work ahead of `enqueue`, with no visible effect, so a pipeline can do it
        while the previous batch commits (SQLite: write the bodies, not yet synced). Staged
        or not, `enqueue` commits the same; a staged batch never enqueued is cleaned up."""

    def enqueue(self, envelopes: Sequence[Envelope], *, now: float) -> list[Admission]:
        """Commit a batch in one transaction; one Admission per envelope, in order."""

    def lease(self, *, owner: str, now: float, lease_s: float, limit: int = 1) -> list[Lease]:
        """The lowest-ranked visible pending packets, hidden from others for `lease_s`."""

    def accept(self, packet_id: str, *, now: float, siak_state: SiakState) -> bool:
        """SIAK has it: drop the body, stamp accepted_at. False if not pending (a no-op)."""

    def retry_later(self, packet_id: str, *, owner: str, visible_at: float, reason: str) -> bool:
        """Give a leased packet back, visible again at `visible_at`. False if lease lost."""

    def release_held(self, *, now: float) -> int:
        """Every pending packet held back by a retry delay becomes visible now (SIAK is back:
        priority order, not the luck of each packet's backoff, decides what goes next)."""
        ...

    def dead_letter(self, packet_id: str, *, now: float, reason: str) -> bool:
        """A permanent rejection: keep it (with its body) for an operator."""

    def set_siak_state(self, packet_id: str, state: SiakState, *, now: float) -> bool:
        """Record a later SIAK state. False if unchanged or unknown."""

    def reject(self, rejection: Rejection) -> None:
        """Record a bad packet: past REJECTIONS_KEPT per (kiosk, reason), count it on the
        newest such row instead."""

    def rejections(self, *, limit: int = 100) -> list[Rejection]: ...

    def get(self, packet_id: str) -> Entry | None: ...

    def entries(self, *, state: EntryState | None = None, limit: int = 100_000) -> list[Entry]: ...

    def in_enrollment(self, *, limit: int = 100) -> list[Entry]:
        """Accepted packets whose SIAK state is not final (for the status poller)."""

    def depth(self, *, now: float) -> list[ClassDepth]:
        """One row per priority class, highest priority first."""

    def retry_dead(self, packet_ids: Sequence[str] | None, *, now: float) -> int:
        """Dead letters back to pending (all when None). Returns how many."""

    def purge_dead(self, packet_ids: Sequence[str] | None) -> int:
        """Drop dead letters' bodies for good (all when None). Returns how many."""

    def close(self) -> None: ...


FINAL_SIAK_STATES = frozenset(
    {SiakState.PRINT_READY, SiakState.DUPLICATE, SiakState.ENROLL_FAILURE}
)  # ADJUDICATE is a manual review that ends in one of these
