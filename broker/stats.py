"""Waits per priority class from the queue's per-packet timestamps (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from anjungan.packet.model import PriorityClass
from broker.queue import Entry


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


def waits_by_class(entries: Iterable[Entry]) -> dict[str, dict[str, float]]:
    """Capture -> SIAK acceptance, per class, highest priority first."""
    by: dict[PriorityClass, list[float]] = {c: [] for c in PriorityClass}
    for e in entries:
        if e.accepted_at is not None:
            by[e.priority].append(e.accepted_at - e.captured_at)
    return {
        c.label: {"n": len(v), "p50_s": round(percentile(v, 50), 4),
                  "p95_s": round(percentile(v, 95), 4), "max_s": round(max(v, default=0.0), 4)}
        for c, v in sorted(by.items())
    }
