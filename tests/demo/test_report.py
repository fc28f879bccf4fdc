from anjungan.packet.uuid7 import uuid7
from entrypoints.demo.report import ResidentOutcome, SiakRecord, percentile, summarize

T0 = 1_800_000_000.0


def pid(at: float, n: int) -> str:
    return str(uuid7(at, rand=n.to_bytes(10, "big")))


def test_summary_counts_losses_duplicates_and_waits_by_class():
    a, b, c, d = pid(T0, 1), pid(T0 + 1, 2), pid(T0 + 2, 3), pid(T0 + 3, 4)
    residents = [
        ResidentOutcome(kiosk_id="k1", kind="elderly", served=True, seconds=30, packet_id=a, priority=0),
        ResidentOutcome(kiosk_id="k1", kind="first", served=True, seconds=40, packet_id=b, priority=1),
        ResidentOutcome(kiosk_id="k2", kind="replacement", served=True, seconds=50, packet_id=c, priority=2),
        ResidentOutcome(kiosk_id="k2", kind="lost-one", served=True, seconds=60, packet_id=d, priority=2),
        ResidentOutcome(kiosk_id="k2", kind="feedback", served=True, seconds=10),
    ]
    accepted = [
        SiakRecord(key=a, at=T0 + 2), SiakRecord(key=b, at=T0 + 5),
        SiakRecord(key=c, at=T0 + 12), SiakRecord(key=c, at=T0 + 13),  # twice: a duplicate
        SiakRecord(key=pid(T0, 9), at=T0 + 1),  # never captured by these kiosks
    ]
    s = summarize(residents, accepted, outages=[(T0 + 1.5, T0 + 2.5)])
    assert s["residents"] == 5 and s["captured"] == 4 and s["accepted_by_siak"] == 3
    assert s["lost"] == 1 and s["duplicates_at_siak"] == 1 and s["unexpected_at_siak"] == 1
    assert s["resident_seconds_p50"] == 40
    assert list(s["wait_by_class"]) == ["vulnerable", "first_recording", "routine"]
    assert s["wait_by_class"] == {"vulnerable": 2.0, "first_recording": 4.0, "routine": 10.0}
    assert s["captured_by_class"] == {"vulnerable": 1, "first_recording": 1, "routine": 2}
    assert s["relay_latency_p99_s"] == 10.0
    assert s["relay_latency_p99_healthy_s"] == 4.0  # c was captured during the outage


def test_percentile_nearest_rank():
    assert percentile([], 99) == 0.0
    assert percentile([3, 1, 2], 50) == 2
    assert percentile(list(range(1, 101)), 99) == 99
