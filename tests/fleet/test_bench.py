"""The fleet load test, CI-sized: nothing lost, every kiosk known, offline probes seen.

`anjungan bench fleet` runs the full 10,000 kiosks every 30 s; this runs the same code
with 300 kiosks every 3 s for a few seconds. No time is asserted.
"""

from __future__ import annotations

import pytest

from broker.fleet.bench import BenchConfig, run_bench


@pytest.mark.slow
def test_small_fleet_load():
    r = run_bench(BenchConfig(kiosks=300, interval_s=3.0, duration_s=4.0, publishers=2,
                              offline_probes=2, warmup_s=1.0))
    assert r["handled_total"] == r["sent_total"] > 0
    assert (r["kiosks_known"], r["kiosks_online"]) == (300, 298)
    assert len(r["offline_lag_s"]) == 2
    assert 0.0 <= r["service_cpu_share_of_one_core"]
