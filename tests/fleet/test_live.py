"""Fleet monitor over a real TLS Mosquitto: wills, a reconnect's takeover, health, feedback, bad input."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
import pytest

from anjungan import topics
from broker.fleet.errors import FleetConfigError
from broker.fleet.model import AlertKind, Thresholds
from broker.fleet.mqtt import FleetMonitor, parse_broker_url
from broker.fleet.service import FleetService, FleetSettings
from broker.fleet.simkiosk import SimKiosk, health_message
from broker.fleet.store import open_store
from provisioning.centres import FLEET_MONITOR_ID
from provisioning.fleet import centre_tls
from tests.waiting import wait_until

from .live import live_fleet


@pytest.fixture
def fleet(tmp_path):
    with live_fleet(tmp_path, ("dps-01", "dps-02")) as f:
        yield f


@pytest.fixture
def service(tmp_path, fleet):
    store = open_store(f"sqlite://{tmp_path / 'fleet.db'}")
    settings = FleetSettings(thresholds=Thresholds(offline_after_s=2.0), history_every_s=0,
                             flush_every_s=0.05, tick_every_s=0.1)
    svc = FleetService(store, settings=settings).start()
    tls = centre_tls(fleet.root, FLEET_MONITOR_ID)
    monitor = FleetMonitor(svc, f"mqtts://127.0.0.1:{fleet.port}", tls=tls).start()
    yield svc
    monitor.stop()
    svc.stop()
    store.close()


def kinds(service, kiosk_id):
    return [a.key.kind for a in service.core.open_alerts(kiosk_id)]


def test_will_marks_offline_alert_opens_and_clears_on_return(fleet, service):
    k = SimKiosk(fleet.bundles["dps-01"], fleet.port).connect(at=time.time())
    k.send_health(at=time.time())
    assert wait_until(lambda: service.core.is_up("dps-01", time.time()))
    first = k.session_id
    k.drop()
    assert wait_until(lambda: not service.core.kiosks["dps-01"].online)  # the will arrived
    assert service.core.kiosks["dps-01"].session_id == first
    assert wait_until(lambda: AlertKind.OFFLINE in kinds(service, "dps-01"))
    k.connect(at=time.time())
    assert wait_until(lambda: kinds(service, "dps-01") == [])
    assert service.core.kiosks["dps-01"].online
    service.flush()
    log = [(e.action, e.key) for e in service.store.alert_log(kiosk_id="dps-01")]
    assert log == [("clear", "offline:dps-01:"), ("open", "offline:dps-01:")]
    k.close()


def test_reconnect_takes_over_the_old_link_and_its_will_comes_first(fleet, service):
    """The client id is the certificate's CN: a rebooted kiosk's new link throws the old
    one off, and the broker sends the old will before the new link's first message, so
    the kiosk ends online in its new session (a will arriving late would be stale and
    ignored: tests/fleet/test_core.py)."""
    old = SimKiosk(fleet.bundles["dps-02"], fleet.port).connect(at=time.time())
    assert wait_until(lambda: service.core.kiosks.get("dps-02") is not None)
    new = SimKiosk(fleet.bundles["dps-02"], fleet.port).connect(at=time.time())  # rebooted
    new.send_health(at=time.time())
    assert wait_until(lambda: service.core.kiosks["dps-02"].session_id == new.session_id
                      and service.core.kiosks["dps-02"].health is not None)
    assert service.core.kiosks["dps-02"].online and kinds(service, "dps-02") == []
    old.drop()  # already thrown off: nothing more arrives
    new.close()


def test_health_faults_and_feedback_arrive(fleet, service):
    k = SimKiosk(fleet.bundles["dps-01"], fleet.port).connect(at=time.time())
    k.send_health(at=time.time(), tamper=True,
                  peripherals={"finger": {"ok": False, "detail": "no response"}})
    k.send_feedback("fb-1", "Antrean lama", at=time.time())
    assert wait_until(lambda: sorted(kinds(service, "dps-01")) == [AlertKind.PERIPHERAL, AlertKind.TAMPER])
    assert wait_until(lambda: [r.feedback.feedback_id for r in service.store.feedback()] == ["fb-1"])
    assert wait_until(lambda: len(service.store.health_history("dps-01", since=0.0)) == 1)
    assert service.store.health_history("dps-01", since=0.0)[0].faults == 1
    k.close()


def test_bad_messages_are_logged_and_skipped(fleet, service, caplog):
    k = SimKiosk(fleet.bundles["dps-01"], fleet.port).connect(at=time.time())
    assert k.client is not None
    for payload in (b"not json", b'{"type":"health"}', b"\xff" * 10, b'{"type":"health","kiosk_id":"dps-02",'
                    b'"session_id":"x","at":1}'):
        k.client.publish(topics.topic("dps-01", "health"), payload, qos=1).wait_for_publish(5)
    k.send_health(at=time.time())
    assert wait_until(lambda: getattr(service.core.kiosks.get("dps-01"), "health", None) is not None)
    assert service.metrics.messages.labels(kind="unknown", outcome="bad")._value.get() == 4
    assert sum("skipped a bad message" in r.getMessage() for r in caplog.records) == 4
    k.close()


@pytest.mark.parametrize("url", ["http://x:1", "mqtt://", "mqtt://h:99999"])
def test_bad_broker_urls(url):
    with pytest.raises(FleetConfigError):
        parse_broker_url(url)


def test_attach_to_an_existing_client(fleet, tmp_path):
    """A client of our own (a fleet monitor identity): attach() adds routes and keeps its on_connect."""
    from broker.fleet.mqtt import attach

    store = open_store("sqlite://:memory:")
    svc = FleetService(store, settings=FleetSettings(history_every_s=0))
    tls = centre_tls(fleet.root, FLEET_MONITOR_ID)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=FLEET_MONITOR_ID)
    client.tls_set(ca_certs=tls.ca_file, certfile=tls.cert_file, keyfile=tls.key_file)
    theirs, subacks = [], []
    client.on_connect = lambda *a: theirs.append(a[3])
    client.on_subscribe = lambda *a: subacks.append(a[2])
    attach(client, svc)
    client.connect("127.0.0.1", fleet.port)
    client.loop_start()
    try:
        assert wait_until(lambda: theirs and subacks)  # connected, and the subscription acknowledged
        k = SimKiosk(fleet.bundles["dps-02"], fleet.port).connect(at=time.time())
        assert wait_until(lambda: "dps-02" in svc.core.kiosks)
        k.close()
    finally:
        client.disconnect()
        client.loop_stop()
        store.close()


def test_help_request_reaches_staff_and_their_answer_reaches_the_kiosk(fleet, service, tmp_path):
    """Over the real broker with the generated ACL: the kiosk's help request (kept in its
    SQLite outbox until answered) opens the alert; staff acknowledge it; the kiosk hears
    "coming". An outsider kiosk cannot raise help for another kiosk."""
    from anjungan.messages import HelpRequest
    from kiosk.outbox import SqliteOutbox
    from kiosk.publisher import Publisher, offline_will
    from kiosk.transport import MqttTransport, TlsFiles

    bundle = fleet.bundles["dps-01"]
    box = SqliteOutbox(tmp_path / "outbox.db")
    transport = MqttTransport(client_id="dps-01", host="127.0.0.1", port=fleet.port,
                              will=offline_will("dps-01", "s1", time.time()),
                              tls=TlsFiles(ca_file=bundle.ca_file, cert_file=bundle.cert_file,
                                           key_file=bundle.key_file))
    pub = Publisher(kiosk_id="dps-01", session_id="s1", outbox=box, transport=transport,
                    health=lambda now: health_message("dps-01", "s1", now), resend_after_s=1)
    outsider = SimKiosk(fleet.bundles["dps-02"], fleet.port).connect(at=time.time())
    assert outsider.client is not None
    pub.start()
    try:
        forged = HelpRequest(kiosk_id="dps-01", request_id="forged", screen="welcome", at=time.time())
        outsider.client.publish(topics.topic("dps-01", "help"), forged.to_json(), qos=1).wait_for_publish(5)
        request = HelpRequest(kiosk_id="dps-01", request_id="r-1", screen="capture_result", at=time.time())
        box.add_message("help", request.to_json(), time.time())
        assert wait_until(lambda: box.messages() == [], step=lambda: pub.pump(time.time()))  # "received"
        helps = [a for a in service.core.open_alerts("dps-01") if a.key.kind is AlertKind.HELP]
        assert [a.key.subject for a in helps] == ["r-1"]  # the forged one never arrived
        assert "screen: capture_result" in helps[0].detail and pub.help_coming == set()
        # the outsider's own help works: its topic, its id
        own = HelpRequest(kiosk_id="dps-02", request_id="r-2", screen="nik", at=time.time())
        outsider.client.publish(topics.topic("dps-02", "help"), own.to_json(), qos=1).wait_for_publish(5)
        assert wait_until(lambda: service.core.open_alerts("dps-02"))
        assert [a.key.subject for a in service.core.open_alerts("dps-01")
                if a.key.kind is AlertKind.HELP] == ["r-1"]
        assert service.acknowledge_help("dps-01", "r-1", by="ayu")
        assert wait_until(lambda: "r-1" in pub.help_coming, step=lambda: pub.pump(time.time()))
        assert not any(a.key.kind is AlertKind.HELP for a in service.core.open_alerts("dps-01"))
    finally:
        pub.stop(time.time())
        outsider.close()
        box.close()
