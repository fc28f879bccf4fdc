"""Pure scheduling policy of the relay: aging, backoff with jitter, rate, circuit breaker.

Theory of operation. Every queued packet gets a *rank* when committed:
`priority * aging_s + committed_at`; the queue always hands out the lowest rank first.
Within a moment, class 0 beats class 1 beats class 2; but a class-k packet outranks any
higher-class packet committed more than `k * aging_s` seconds after it, so no class waits
more than `k * aging_s` behind fresher urgent work: nobody starves.

Nothing here reads a clock or a random source: `now` and `rand` are passed in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from anjungan.packet.model import PriorityClass

DEFAULT_AGING_S = 600.0


def rank(priority: PriorityClass | int, committed_at: float, aging_s: float) -> float:
    """Queue order key: lower goes first (see the module's theory of operation)."""
    return int(priority) * aging_s + committed_at


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, rand: float) -> float:
    """'Full jitter' exponential backoff: uniform in [0, min(cap, base * 2**attempt)).

    `attempt` counts failures so far (1 for the first retry); `rand` is in [0, 1).
    Full jitter spreads a thundering herd after an outage (AWS architecture blog, 2015).
    """
    if not 0.0 <= rand < 1.0:
        raise ValueError("rand must be in [0, 1)")
    ceiling = min(cap_s, base_s * (2.0 ** max(0, min(attempt, 62))))
    return ceiling * rand


@dataclass(kw_only=True)
class TokenBucket:
    """Client-side pacing to SIAK's capacity. `reserve(now)` returns how long to wait."""

    rate: float  # tokens per second
    burst: float = 1.0
    _tokens: float = 0.0
    _at: float | None = None

    def reserve(self, now: float) -> float:
        if self._at is None:  # first use: a full bucket
            self._tokens, self._at = self.burst, now
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def reserve_refund(self) -> None:
        """Give back a reservation the caller will not use (a refused request)."""
        self._tokens += 1.0


class BreakerState(enum.Enum):
    CLOSED = "closed"  # calls flow
    OPEN = "open"  # SIAK looks down: no calls until the cool-down ends
    HALF_OPEN = "half_open"  # one probe call in flight decides


class BreakerEvent(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    COOLED = "cooled"  # the cool-down has passed (derived from time, not called directly)
    PROBE = "probe"  # a caller was allowed through as the probe


# (state, event) -> next state. Anything missing keeps the state.
TRANSITIONS: dict[tuple[BreakerState, BreakerEvent], BreakerState] = {
    (BreakerState.CLOSED, BreakerEvent.SUCCESS): BreakerState.CLOSED,
    (BreakerState.OPEN, BreakerEvent.COOLED): BreakerState.HALF_OPEN,
    (BreakerState.HALF_OPEN, BreakerEvent.SUCCESS): BreakerState.CLOSED,
    (BreakerState.HALF_OPEN, BreakerEvent.FAILURE): BreakerState.OPEN,
    (BreakerState.OPEN, BreakerEvent.SUCCESS): BreakerState.CLOSED,  # a late in-flight success
}


@dataclass(kw_only=True)
class CircuitBreaker:
    """Stops hammering a SIAK that is down; lets one probe through per cool-down.

    Opens after `threshold` consecutive failures. While open, `allow(now)` is False until
    `cooldown_s` has passed; then exactly one caller is allowed (the probe). Its success
    closes the breaker; its failure re-opens it. A probe that never reports (its worker
    crashed) is forgotten after `probe_timeout_s`.
    """

    threshold: int = 5
    cooldown_s: float = 2.0
    probe_timeout_s: float = 30.0
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probe_at: float | None = None

    def allow(self, now: float) -> bool:
        if self.state is BreakerState.OPEN and now - self.opened_at >= self.cooldown_s:
            self.state = TRANSITIONS[(self.state, BreakerEvent.COOLED)]
            self.probe_at = None
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.HALF_OPEN:
            if self.probe_at is None or now - self.probe_at >= self.probe_timeout_s:
                self.probe_at = now
                return True
        return False

    def release_probe(self) -> None:
        """The allowed probe found nothing to send: let the next caller probe."""
        if self.state is BreakerState.HALF_OPEN:
            self.probe_at = None

    def on_success(self, now: float) -> None:
        self.failures = 0
        self.probe_at = None
        self.state = TRANSITIONS.get((self.state, BreakerEvent.SUCCESS), self.state)

    def on_failure(self, now: float) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or (
            self.state is BreakerState.CLOSED and self.failures >= self.threshold
        ):
            self.state = BreakerState.OPEN
            self.opened_at = now
            self.probe_at = None
