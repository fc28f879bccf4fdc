"""`anjungan bench ingest`'s poison stage runs end to end and sets each poison capture aside."""

from __future__ import annotations

import pytest

from broker.bench_poison import measure_poison_stall

pytestmark = pytest.mark.slow


def test_the_poison_stage_measures_a_stall_and_sets_the_poison_aside() -> None:
    result = measure_poison_stall(12, durable_per_s=20.0)
    assert result["poison_captures_set_aside"] == 6  # NaN, inf, trailing, truncated, oversize, handler bug
    assert result["poison_messages"] == 8
    assert result["poison_stall_s"] > 0 and result["normal_p99_s"] > 0
