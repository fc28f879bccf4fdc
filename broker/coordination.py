"""What the centre instances of one deployment share besides the queue: one SIAK rate, one
status poller, and each other's liveness. Chosen by the queue's URL (`open_coordination`).

    memory://, sqlite://   one instance: `LocalCoordination` (the in-process token bucket,
                           always the poller, no heartbeats); SQLite serves one process
    postgresql://          every instance on the database: `broker.queue.coordination`
                           (a token bucket row, an advisory-lock leader, heartbeat rows)

Relay workers lease as `{instance}/relay-{i}` (`lease_owner`): the instance's name (its
centre identity) is the part before the slash, so the leases of an instance whose heartbeat
stopped can be released at once instead of after the full lease.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from broker.policy import TokenBucket


class RateLimiter(Protocol):
    """SIAK's rate: `reserve(now)` takes a token and says how many seconds to wait for it."""

    def reserve(self, now: float) -> float: ...

    def reserve_refund(self) -> None: ...


class Coordination(Protocol):
    shared: bool  # other instances may be running: heartbeats matter

    def bucket(self, *, rate: float, burst: float) -> RateLimiter:
        """The one rate limit for SIAK (whole deployment when shared)."""
        ...

    def leads(self) -> bool:
        """Is this instance the one that polls SIAK for status? Asked before every poll;
        a leader that died is replaced by the next instance that asks."""
        ...

    def beat(self, *, now: float) -> int:
        """Say this instance is alive; release the leases of instances that stopped saying
        so. Returns how many leases were released."""
        ...

    def leave(self) -> None:
        """A clean stop: forget this instance (its workers have finished)."""

    def close(self) -> None: ...


def lease_owner(instance: str, worker: str) -> str:
    return f"{instance}/{worker}"


class LocalCoordination:
    """One instance alone: nothing to share, so nothing leaves the process."""

    shared = False

    def bucket(self, *, rate: float, burst: float) -> RateLimiter:
        return TokenBucket(rate=rate, burst=burst)

    def leads(self) -> bool:
        return True

    def beat(self, *, now: float) -> int:
        return 0

    def leave(self) -> None:
        pass

    def close(self) -> None:
        pass


def open_coordination(queue_url: str, *, instance: str, dead_after_s: float) -> Coordination:
    """The coordination that goes with a queue URL (see the module's table)."""
    if urlsplit(queue_url).scheme not in ("postgresql", "postgres"):
        return LocalCoordination()
    from broker.queue import split_schema
    from broker.queue.coordination import PgCoordination

    dsn, schema = split_schema(queue_url)
    return PgCoordination(dsn, schema=schema, instance=instance, dead_after_s=dead_after_s)
