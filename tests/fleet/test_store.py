"""The fleet store: the same suite against the memory twin, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from anjungan.messages import Feedback, Health
from broker.fleet.errors import StoreError
from broker.fleet.model import (
    Alert,
    AlertAction,
    AlertChange,
    AlertKey,
    AlertKind,
    CentreSample,
    ClassBacklog,
    KioskState,
)
from broker.fleet.store import (
    AlertLogEntry,
    Batch,
    CaptureCount,
    FeedbackRecord,
    HealthPoint,
    Site,
    StaffSession,
    open_store,
)


def point(kiosk: str, at: float, depth: int = 0) -> HealthPoint:
    return HealthPoint(kiosk_id=kiosk, at=at, online=True, outbox_depth=depth, outbox_oldest_s=1.5,
                       disk_free_pct=80.0, temperature_c=None, faults=0)


def feedback(fid: str, at: float) -> FeedbackRecord:
    return FeedbackRecord(feedback=Feedback(kiosk_id="k-1", feedback_id=fid, at=at,
                                            category="antrean", text="Lama sekali"),
                          received_at=at + 1)


def test_health_series_is_per_kiosk_in_time_order_and_pruned(store):
    store.commit(Batch(health=[point("k-1", 20.0, 2), point("k-2", 15.0), point("k-1", 10.0, 1)]))
    assert store.health_history("k-1", since=0.0) == [point("k-1", 10.0, 1), point("k-1", 20.0, 2)]
    assert store.health_history("k-1", since=11.0) == [point("k-1", 20.0, 2)]
    assert store.prune(before=16.0) == 2
    assert store.health_history("k-1", since=0.0) == [point("k-1", 20.0, 2)]
    assert store.health_history("k-2", since=0.0) == []


def test_kiosk_snapshots_round_trip_and_upsert(store):
    h = Health(kiosk_id="k-1", session_id="s1", at=5.0, peripherals={"finger": {"ok": False}},
               outbox_depth=3, tamper=True)
    k = KioskState(kiosk_id="k-1", online=True, session_id="s1", status_at=1.0, last_seen=5.0, health=h)
    store.commit(Batch(kiosks={"k-1": k}))
    assert store.kiosks() == [k]
    k2 = KioskState(kiosk_id="k-1", online=False, session_id="s1", status_at=9.0, last_seen=9.0)
    store.commit(Batch(kiosks={"k-1": k2}))
    assert store.kiosks() == [k2]


def test_alerts_open_clear_and_are_logged(store):
    key = AlertKey(kind=AlertKind.PERIPHERAL, kiosk_id="k-1", subject="finger")
    other = AlertKey(kind=AlertKind.SIAK_CIRCUIT)
    a, b = Alert(key=key, detail="no response", opened_at=10.0), Alert(key=other, detail="open", opened_at=11.0)
    store.commit(Batch(changes=[AlertChange(action=AlertAction.OPEN, alert=a, at=10.0),
                                AlertChange(action=AlertAction.OPEN, alert=b, at=11.0)]))
    assert store.open_alerts() == [a, b]
    store.commit(Batch(changes=[AlertChange(action=AlertAction.CLEAR, alert=a, at=20.0)]))
    assert store.open_alerts() == [b]
    assert store.alert_log() == [
        AlertLogEntry(at=20.0, action="clear", key=key.text, detail="no response"),
        AlertLogEntry(at=11.0, action="open", key=other.text, detail="open"),
        AlertLogEntry(at=10.0, action="open", key=key.text, detail="no response"),
    ]
    assert [e.at for e in store.alert_log(kiosk_id="k-1")] == [20.0, 10.0]
    assert store.alert_log(limit=1)[0].at == 20.0


def test_centre_samples_and_captures_per_hour(store):
    s = CentreSample(at=7200.0, siak_circuit="open",
                     backlog=(ClassBacklog(priority=0, depth=3, oldest_age_s=12.5),))
    store.commit(Batch(samples=[s], captures=[(3600.0, 0), (3700.0, 0), (7300.0, 2)]))
    store.commit(Batch(captures=[(3601.0, 0)]))
    assert store.centre_history(since=0.0) == [s]
    assert store.centre_history(since=7201.0) == []
    assert store.captures(since=0.0) == [CaptureCount(hour=3600.0, priority=0, count=3),
                                         CaptureCount(hour=7200.0, priority=2, count=1)]


def test_feedback_is_stored_once_and_answered_once(store):
    store.commit(Batch(feedback=[feedback("f-1", 10.0), feedback("f-2", 20.0)]))
    store.commit(Batch(feedback=[feedback("f-1", 10.0)]))  # a redelivery
    assert [r.feedback.feedback_id for r in store.feedback()] == ["f-2", "f-1"]
    assert store.mark_answered("f-1", by="ayu", at=30.0)
    assert not store.mark_answered("f-1", by="ayu", at=31.0)
    assert not store.mark_answered("nope", by="ayu", at=31.0)
    assert store.feedback(answered=True) == [
        FeedbackRecord(feedback=feedback("f-1", 10.0).feedback, received_at=11.0, answered=True,
                       answered_at=30.0, answered_by="ayu")]
    assert [r.feedback.feedback_id for r in store.feedback(answered=False)] == ["f-2"]


def test_sites_staff_and_sessions(store):
    store.set_site(Site(kiosk_id="k-1", office="Dukcapil Denpasar", kecamatan="Denpasar Barat"))
    store.set_site(Site(kiosk_id="k-1", office="Mal Bali", kecamatan="Denpasar Selatan"))
    assert store.sites() == {"k-1": Site(kiosk_id="k-1", office="Mal Bali", kecamatan="Denpasar Selatan")}
    assert store.staff_hash("ayu") is None and store.staff_count() == 0
    store.set_staff("ayu", "h1", at=0.0)
    store.set_staff("ayu", "h2", at=1.0)
    assert store.staff_hash("ayu") == "h2" and store.staff_count() == 1
    s = StaffSession(token_hash="t", user="ayu", csrf="c", expires_at=100.0)
    store.add_session(s)
    assert store.session("t", now=99.0) == s
    assert store.session("t", now=100.0) is None  # expired
    store.drop_session("t")
    assert store.session("t", now=0.0) is None


def test_data_survives_reopening(store_url):
    s = open_store(store_url)
    s.commit(Batch(health=[point("k-1", 1.0)]))
    s.close()
    with pytest.raises(StoreError):
        s.open_alerts()
    if store_url.startswith("memory"):
        return  # the twin is not durable by design
    s = open_store(store_url)
    assert s.health_history("k-1", since=0.0) == [point("k-1", 1.0)]
    s.close()
    with pytest.raises(StoreError):
        s.open_alerts()


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "postgresql://127.0.0.1:5432/test?schema=Bad-Name"])
def test_bad_store_urls_are_one_error(url):
    with pytest.raises(StoreError):
        open_store(url)


def test_prune_drops_every_old_series_and_expired_sessions(store):
    key = AlertKey(kind=AlertKind.SIAK_CIRCUIT)
    alert = Alert(key=key, detail="open", opened_at=5.0)
    store.commit(Batch(
        health=[point("k-1", 5.0), point("k-1", 7300.0)],
        changes=[AlertChange(action=AlertAction.OPEN, alert=alert, at=5.0)],
        samples=[CentreSample(at=5.0, siak_circuit="open", backlog=()),
                 CentreSample(at=7300.0, siak_circuit="closed", backlog=())],
        captures=[(5.0, 0), (7300.0, 0)]))
    store.add_session(StaffSession(token_hash="old", user="ayu", csrf="c", expires_at=6.0))
    store.add_session(StaffSession(token_hash="new", user="ayu", csrf="c", expires_at=9000.0))
    # health, centre sample, capture hour 0, alert log entry, session "old"
    assert store.prune(before=7200.0) == 5
    assert store.health_history("k-1", since=0.0) == [point("k-1", 7300.0)]
    assert [c.at for c in store.centre_history(since=0.0)] == [7300.0]
    assert store.captures(since=0.0) == [CaptureCount(hour=7200.0, priority=0, count=1)]
    assert store.alert_log() == [] and store.open_alerts() == [alert]  # open alerts stay
    assert store.session("old", now=0.0) is None and store.session("new", now=0.0) is not None
    assert store.prune(before=7200.0) == 0


def test_a_session_token_is_stored_once(store):
    s = StaffSession(token_hash="t", user="ayu", csrf="c", expires_at=100.0)
    store.add_session(s)
    with pytest.raises(StoreError):
        store.add_session(s)
    assert store.session("t", now=0.0) == s


def test_one_writer_lease_at_a_time(store):
    assert store.claim("fleet-writer", "a", now=100.0, ttl_s=10.0)
    assert not store.claim("fleet-writer", "b", now=105.0, ttl_s=10.0)  # a's lease runs
    assert store.claim("fleet-writer", "a", now=109.0, ttl_s=10.0)  # renewed to 119
    assert not store.claim("fleet-writer", "b", now=118.0, ttl_s=10.0)
    assert store.claim("fleet-writer", "b", now=119.5, ttl_s=10.0)  # a went silent: b takes it
    assert not store.claim("fleet-writer", "a", now=120.0, ttl_s=10.0)
    assert store.claim("another-role", "a", now=120.0, ttl_s=10.0)  # leases are per role
