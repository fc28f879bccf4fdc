"""The demo's summary, computed from what the kiosks captured and what SIAK accepted. Pure."""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from anjungan.packet.model import PriorityClass
from anjungan.packet.uuid7 import uuid7_time


@dataclass(frozen=True, kw_only=True)
class ResidentOutcome:
    kiosk_id: str
    kind: str  # scenario name, e.g. "elderly", "feedback"
    served: bool  # the resident left with a receipt / answer
    seconds: float  # wall time the resident spent at the kiosk
    packet_id: str | None = None  # only captures make packets
    priority: int | None = None


@dataclass(frozen=True, kw_only=True)
class SiakRecord:
    key: str  # idempotency key = packet id
    at: float  # accepted at (unix s)
    duplicate_nik: bool = False  # SIAK saw this NIK already under another key


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(
    residents: Sequence[ResidentOutcome],
    accepted: Iterable[SiakRecord],
    *,
    outages: Sequence[tuple[float, float]] = (),
    refused: Collection[str] = (),
) -> dict[str, object]:
    """`refused`: packets the centre refused on purpose (a revoked kiosk's): not lost."""
    captured = {r.packet_id: r for r in residents if r.packet_id}
    by_key: dict[str, list[SiakRecord]] = {}
    for rec in accepted:
        by_key.setdefault(rec.key, []).append(rec)
    arrived = {k: min(v, key=lambda r: r.at) for k, v in by_key.items() if k in captured}
    duplicates = sum(len(v) - 1 for v in by_key.values()) + sum(
        1 for v in by_key.values() for r in v if r.duplicate_nik
    )
    waits: dict[PriorityClass, list[float]] = {p: [] for p in PriorityClass}
    latencies, healthy = [], []
    for key, rec in arrived.items():
        made = uuid7_time(uuid.UUID(key))
        wait = max(0.0, rec.at - made)
        latencies.append(wait)
        if not any(start <= made <= end for start, end in outages):
            healthy.append(wait)
        prio = captured[key].priority
        if prio is not None:
            waits[PriorityClass(prio)].append(wait)
    return {
        "residents": len(residents),
        "served": sum(r.served for r in residents),
        "captured": len(captured),
        "accepted_by_siak": len(arrived),
        "lost": len(set(captured) - set(arrived) - set(refused)),
        "refused": len(set(captured) & set(refused)),
        "duplicates_at_siak": duplicates,
        "unexpected_at_siak": len(set(by_key) - set(captured)),
        "resident_seconds_p50": round(statistics.median([r.seconds for r in residents]), 3)
        if residents else 0.0,
        "relay_latency_p99_s": round(percentile(latencies, 99), 3),
        "relay_latency_p99_healthy_s": round(percentile(healthy, 99), 3),
        "wait_by_class": {
            p.label: round(statistics.fmean(waits[p]), 3) if waits[p] else None
            for p in sorted(PriorityClass)
        },
        "captured_by_class": {
            p.label: sum(1 for r in captured.values() if r.priority == p) for p in sorted(PriorityClass)
        },
    }
