"""Reading the relay's side through the queue's public interface (`broker.queue`)."""

from __future__ import annotations

from collections.abc import Callable

from broker.fleet.model import CentreSample, ClassBacklog


def queue_sampler(queue: object, circuit: Callable[[], str] | None = None) -> Callable[[float], CentreSample]:
    """A sampler over `PacketQueue.depth(now=)`; `circuit()` gives the SIAK breaker's state."""

    def sample(now: float) -> CentreSample:
        rows = queue.depth(now=now)  # type: ignore[attr-defined]
        return CentreSample(
            at=now,
            backlog=tuple(ClassBacklog(priority=int(r.priority), depth=r.depth,
                                       oldest_age_s=r.oldest_age_s) for r in rows),  # fmt: skip
            siak_circuit=circuit() if circuit else "unknown",
        )

    return sample
