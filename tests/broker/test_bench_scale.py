"""`anjungan bench scale`: 1 then 2 real instances on PostgreSQL split the work, lose
nothing and keep SIAK's rate (small captures, few of them: the shape, not the numbers)."""

from __future__ import annotations

import json

import pytest

from entrypoints.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def test_bench_scale_reports_each_instance_count(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "scale", "--instances", "1,2", "--packets", "6", "--small", "--db", pg_url, "--json"]
    assert main(argv) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["instances"] for r in runs] == [1, 2]
    for r in runs:
        assert (r["packets"], r["lost"], r["duplicates_at_siak"]) == (18, 0, 0)
        assert r["received_bytes_ratio"] <= 1.05  # split between instances, not copied to each
        assert r["siak_over_rate_pct"] <= 5.0 and r["siak_429"] == 0
        assert len(r["share_by_instance"]) == r["instances"] and all(r["share_by_instance"].values())
        assert r["cpu_s"] > 0


def test_bench_scale_refuses_bad_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "scale", "--instances", "1,x"]) == 2
    assert "--instances must be counts" in capsys.readouterr().err
