"""Reading the relay's side through the queue's public interface (`broker.queue`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from broker.fleet.model import CentreSample, ClassBacklog
from provisioning.status import expiries


def with_trust(sampler: Callable[[float], CentreSample] | None,
               fleet_dir: Path) -> Callable[[float], CentreSample]:
    """`sampler` (or an empty one) plus the fleet folder's trust expiries, re-read each time
    (every minute or so): the dashboard alerts 7 days before a CA, centre certificate or CRL
    runs out."""

    def sample(now: float) -> CentreSample:
        base = sampler(now) if sampler is not None else CentreSample(at=now, siak_circuit="unknown")
        return replace(base, expiries=tuple(expiries(fleet_dir)))

    return sample


def queue_sampler(queue: object, circuit: Callable[[], str] | None = None) -> Callable[[float], CentreSample]:
    """A sampler over `PacketQueue.depth(now=)`; `circuit()` gives the SIAK breaker's state."""

    def sample(now: float) -> CentreSample:
        rows = queue.depth(now=now)  # type: ignore[attr-defined]
        return CentreSample(
            at=now,
            backlog=tuple(ClassBacklog(priority=int(r.priority), depth=r.depth,
                                       oldest_age_s=r.oldest_age_s) for r in rows),
            siak_circuit=circuit() if circuit else "unknown",
        )

    return sample
