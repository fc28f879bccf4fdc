"""The pure fleet core: sessions and stale wills, every alert rule opening and clearing."""

from __future__ import annotations

import pytest

from anjungan.messages import Health, KioskStatus
from broker.fleet.core import FleetCore
from broker.fleet.errors import FleetConfigError
from broker.fleet.model import (
    Alert,
    AlertAction,
    AlertKey,
    AlertKind,
    CentreSample,
    ClassBacklog,
    KioskState,
    Thresholds,
)

T = Thresholds(offline_after_s=60, outbox_oldest_after_s=600, relay_oldest_after_s=300,
               cert_expiry_warn_s=86400 * 30, disk_free_min_pct=10, temperature_max_c=70)


def status(state: str, session: str, kiosk: str = "k-1") -> KioskStatus:
    return KioskStatus(kiosk_id=kiosk, state=state, session_id=session, at=0.0)


def health(kiosk: str = "k-1", **kw) -> Health:
    return Health(kiosk_id=kiosk, session_id="s1", at=0.0, **kw)


def opened(changes) -> list[tuple[str, str, str]]:
    return [(c.alert.key.kind.value, c.alert.key.subject, c.alert.detail)
            for c in changes if c.action is AlertAction.OPEN]


def cleared(changes) -> list[str]:
    return [c.alert.key.kind.value for c in changes if c.action is AlertAction.CLEAR]


def test_online_then_will_of_same_session_goes_offline():
    core = FleetCore(T)
    assert core.status(status("online", "s1"), 100.0) == (True, [])
    assert core.is_up("k-1", 100.0)
    accepted, changes = core.status(status("offline", "s1"), 110.0)
    assert accepted and changes == []
    assert not core.is_up("k-1", 110.0)
    assert core.kiosks["k-1"] == KioskState(kiosk_id="k-1", online=False, session_id="s1",
                                            status_at=110.0, last_seen=110.0)


def test_stale_will_from_an_old_session_is_ignored():
    core = FleetCore(T)
    core.status(status("online", "s1"), 100.0)
    core.status(status("online", "s2"), 105.0)  # reconnected before the broker gave up on s1
    assert core.status(status("offline", "s1"), 110.0) == (False, [])
    assert core.is_up("k-1", 110.0)
    assert core.kiosks["k-1"].session_id == "s2"
    assert core.tick(500.0) and core.kiosks["k-1"].online  # silent, but still session s2


def test_offline_first_seen_is_accepted():
    core = FleetCore(T)
    assert core.status(status("offline", "s9"), 10.0) == (True, [])
    assert core.kiosks["k-1"].online is False


def test_offline_alert_opens_after_threshold_and_clears_on_return():
    core = FleetCore(T)
    core.status(status("online", "s1"), 0.0)
    core.status(status("offline", "s1"), 10.0)
    assert core.tick(69.0) == []
    changes = core.tick(70.0)
    assert opened(changes) == [("offline", "", "offline for 60 s")]
    assert changes[0].at == 70.0 and changes[0].alert.opened_at == 70.0
    assert core.tick(200.0) == []  # already open: nothing new
    assert [a.key for a in core.open_alerts("k-1")] == [AlertKey(kind=AlertKind.OFFLINE, kiosk_id="k-1")]
    accepted, changes = core.status(status("online", "s2"), 210.0)
    assert accepted and cleared(changes) == ["offline"] and changes[0].at == 210.0
    assert core.open_alerts() == []


def test_silent_kiosk_without_will_counts_as_offline():
    core = FleetCore(T)
    core.health(health(), 0.0)
    assert core.is_up("k-1", 59.0) and not core.is_up("k-1", 60.0)
    assert opened(core.tick(60.0)) == [("offline", "", "silent for 60 s")]
    assert cleared(core.health(health(), 61.0)) == ["offline"]


@pytest.mark.parametrize(("kw", "expected"), [
    ({"peripherals": {"finger": {"ok": False, "detail": "no response"}, "iris": {"ok": True}}},
     [("peripheral", "finger", "no response")]),
    ({"peripherals": {"printer": {"ok": False}}}, [("peripheral", "printer", "fault")]),
    ({"outbox_depth": 3, "outbox_oldest_s": 600.0}, [("outbox", "", "3 waiting, oldest 10 min")]),
    ({"outbox_depth": 0, "outbox_oldest_s": 9999.0}, []),
    ({"outbox_depth": 3, "outbox_oldest_s": 599.0}, []),
    ({"cert_expires_at": 1000.0 + 86400 * 30}, [("cert_expiring", "", "expires in 30 d")]),
    ({"cert_expires_at": 1001.0 + 86400 * 30}, []),
    ({"out_of_service": "clock past the certificate's expiry"},
     [("out_of_service", "", "clock past the certificate's expiry")]),
    ({"cert_expires_at": 500.0}, [("cert_expiring", "", "expired")]),
    ({"tamper": True}, [("tamper", "", "enclosure opened")]),
    ({"disk_free_pct": 9.0}, [("disk_low", "", "9% free")]),
    ({"disk_free_pct": 10.0}, []),
    ({"temperature_c": 71.0}, [("temperature", "", "71 °C")]),
    ({"temperature_c": 70.0}, []),
])
def test_each_health_rule_opens_and_clears(kw, expected):
    core = FleetCore(T)
    core.status(status("online", "s1"), 1000.0)
    assert opened(core.health(health(**kw), 1000.0)) == expected
    changes = core.health(health(), 1001.0)  # a healthy report clears everything
    assert sorted(cleared(changes)) == sorted(e[0] for e in expected)
    assert core.open_alerts() == []


def test_an_open_alert_shows_the_latest_numbers_and_keeps_its_opening_time():
    core = FleetCore(T)
    core.health(health(outbox_depth=3, outbox_oldest_s=600.0), 1000.0)
    changes = core.health(health(outbox_depth=5, outbox_oldest_s=1200.0), 1600.0)
    assert changes == []  # no new open or clear: the alert log is not flooded
    (alert,) = core.open_alerts("k-1")
    assert (alert.detail, alert.opened_at) == ("5 waiting, oldest 20 min", 1000.0)


def test_two_faulty_devices_are_two_alerts_and_clear_separately():
    core = FleetCore(T)
    bad = {"ok": False, "detail": "x"}
    core.health(health(peripherals={"finger": bad, "iris": bad}), 0.0)
    assert [a.key.subject for a in core.open_alerts("k-1")] == ["finger", "iris"]
    changes = core.health(health(peripherals={"finger": bad, "iris": {"ok": True}}), 1.0)
    assert [(c.action, c.alert.key.subject) for c in changes] == [(AlertAction.CLEAR, "iris")]


def test_relay_backlog_and_siak_circuit_are_centre_wide():
    core = FleetCore(T)
    sample = CentreSample(at=50.0, siak_circuit="open", backlog=(
        ClassBacklog(priority=0, depth=2, oldest_age_s=300.0),
        ClassBacklog(priority=2, depth=9, oldest_age_s=10.0),
        ClassBacklog(priority=1, depth=0, oldest_age_s=999.0),
    ))
    assert opened(core.sample(sample)) == [
        ("relay_backlog", "vulnerable", "2 waiting for SIAK, oldest 5 min"),
        ("siak_circuit", "", "SIAK circuit open"),
    ]
    assert all(a.key.kiosk_id == "" for a in core.open_alerts())
    assert core.sample(CentreSample(at=51.0, siak_circuit="half_open", backlog=sample.backlog)) == []
    changes = core.sample(CentreSample(at=52.0))
    assert sorted(cleared(changes)) == ["relay_backlog", "siak_circuit"]


def test_alerts_of_one_kiosk_do_not_touch_another():
    core = FleetCore(T)
    core.health(health("k-1", tamper=True), 0.0)
    core.health(health("k-2"), 0.0)
    assert [a.key.kiosk_id for a in core.open_alerts()] == ["k-1"]
    assert core.open_alerts("k-2") == []


def test_restore_lets_a_restored_alert_clear():
    core = FleetCore(T)
    key = AlertKey(kind=AlertKind.TAMPER, kiosk_id="k-1")
    core.restore([KioskState(kiosk_id="k-1", online=True, session_id="s1", status_at=0.0,
                             last_seen=0.0)], [Alert(key=key, detail="x", opened_at=0.0)])
    assert cleared(core.health(health(), 5.0)) == ["tamper"]


def test_forget_clears_a_kiosks_alerts():
    core = FleetCore(T)
    core.health(health(tamper=True), 0.0)
    assert cleared(core.forget("k-1", 1.0)) == ["tamper"]
    assert "k-1" not in core.kiosks


def test_alert_key_text_round_trips():
    key = AlertKey(kind=AlertKind.PERIPHERAL, kiosk_id="k-1", subject="finger:left")
    assert key.text == "peripheral:k-1:finger:left"
    assert AlertKey.parse(key.text) == key


@pytest.mark.parametrize("bad", [{"offline_after_s": -1}, {"offline_after_s": "5"},
                                 {"offline_after_s": True}, {"nonsense": 1}])
def test_bad_thresholds_are_refused(bad):
    with pytest.raises(FleetConfigError):
        Thresholds.from_mapping(bad)


def test_bad_circuit_state_is_refused():
    with pytest.raises(ValueError):
        CentreSample(at=0.0, siak_circuit="ajar")


def test_queue_sampler_reads_the_relay_queue():
    from broker.fleet.centre_sample import queue_sampler
    from broker.queue import Envelope, open_queue

    q = open_queue("memory://")
    q.enqueue([Envelope(packet_id="0" * 35 + str(i), kiosk_id="k-1", sequence=i, priority=p,
                        captured_at=0.0, packet=b"sealed") for i, p in enumerate((0, 2, 2))], now=100.0)
    sample = queue_sampler(q, circuit=lambda: "open")(700.0)
    assert sample.siak_circuit == "open" and sample.at == 700.0
    assert [(b.priority, b.depth, b.oldest_age_s) for b in sample.backlog] == [
        (0, 1, 600.0), (1, 0, 0.0), (2, 2, 600.0)]
    assert queue_sampler(q)(700.0).siak_circuit == "unknown"


def test_packets_refused_by_the_centre_raise_an_alert_until_a_technician_clears_them():
    core = FleetCore(T)
    assert opened(core.health(health(outbox_rejected=2), 0.0)) == [
        ("rejected", "", "2 packets refused by the centre")]
    assert cleared(core.health(health(outbox_rejected=0), 5.0)) == ["rejected"]
