"""The relay's pure scheduling policy: aging, backoff with jitter, pacing, circuit breaker."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from anjungan.packet.model import PriorityClass
from broker.policy import BreakerState, CircuitBreaker, TokenBucket, backoff_delay, rank


def test_rank_orders_classes_then_time_and_ages() -> None:
    assert rank(PriorityClass.VULNERABLE, 50.0, 100.0) < rank(PriorityClass.ROUTINE, 0.0, 100.0)
    # a class-2 packet committed at 0 beats a class-0 packet committed after 200
    assert rank(PriorityClass.ROUTINE, 0.0, 100.0) < rank(PriorityClass.VULNERABLE, 201.0, 100.0)


@given(st.integers(0, 200), st.floats(0, 0.999999))
def test_backoff_stays_under_the_cap(attempt: int, rand: float) -> None:
    delay = backoff_delay(attempt, base_s=0.5, cap_s=30.0, rand=rand)
    assert 0.0 <= delay < 30.0


def test_backoff_doubles_until_the_cap() -> None:
    assert [backoff_delay(a, base_s=1.0, cap_s=10.0, rand=0.5) for a in range(6)] == [
        0.5, 1.0, 2.0, 4.0, 5.0, 5.0,
    ]


def test_token_bucket_paces_to_the_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=2.0)
    assert [bucket.reserve(0.0) for _ in range(4)] == [0.0, 0.0, 0.1, 0.2]
    assert bucket.reserve(1.0) == 0.0


def test_breaker_opens_probes_once_and_closes() -> None:
    b = CircuitBreaker(threshold=3, cooldown_s=10.0)
    for t in (1.0, 2.0):
        b.on_failure(t)
    assert b.state is BreakerState.CLOSED and b.allow(2.0)
    b.on_failure(3.0)
    assert b.state is BreakerState.OPEN
    assert not b.allow(12.9)
    assert b.allow(13.0) and b.state is BreakerState.HALF_OPEN  # the probe
    assert not b.allow(13.1)  # only one probe at a time
    b.on_failure(14.0)
    assert b.state is BreakerState.OPEN and not b.allow(23.9)
    assert b.allow(24.0)
    b.on_success(24.5)
    assert b.state is BreakerState.CLOSED and b.allow(24.6)


def test_breaker_forgets_a_probe_that_never_reported() -> None:
    b = CircuitBreaker(threshold=1, cooldown_s=1.0, probe_timeout_s=5.0)
    b.on_failure(0.0)
    assert b.allow(1.0)
    assert not b.allow(5.9)
    assert b.allow(6.0)
