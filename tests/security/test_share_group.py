"""A kiosk cannot take captures away from the centre instances' shared subscription.

Mosquitto 2.0 checks deliveries against the ACL, not subscriptions: a kiosk may join any
share group, the broker then hands it its turn of the captures and, its read ACL refusing
them, drops them. With a group of a public name the centre loses a share of everything; the
instances' group carries a secret derived from the gateway key (`broker.mqtt.share_group`)
which no kiosk holds, so an intruder can only join groups nobody else is in."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from anjungan import topics
from broker.ingest import Inbound, Outcome
from broker.mqtt import SHARE_GROUP, CentreMqtt, MqttSettings, share_group
from provisioning.centres import Role
from provisioning.fleet import centre_tls, open_fleet
from tests.broker.harness import Mosquitto, TestKiosk
from tests.broker.kit import make_fleet
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
N = 8


def intruder(bundle, port: int) -> tuple[mqtt.Client, list[str]]:  # type: ignore[no-untyped-def]
    """kiosk-02 joins the public-named group (MQTT 5) with its own certificate."""
    got: list[str] = []
    joined = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=bundle.kiosk_id, protocol=mqtt.MQTTv5)
    c.tls_set(ca_certs=bundle.ca_file, certfile=bundle.cert_file, keyfile=bundle.key_file,
              tls_version=ssl.PROTOCOL_TLS_CLIENT)
    c.on_message = lambda _c, _u, m: got.append(m.topic)
    c.on_subscribe = lambda *_a: joined.set()
    c.on_connect = lambda cl, *_a: cl.subscribe(topics.shared_subscription("capture", SHARE_GROUP), qos=1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert joined.wait(10)
    return c, got


@pytest.mark.parametrize("secret_group", [True, False], ids=["secret-group", "public-group"])
def test_a_kiosk_in_the_share_group_takes_nothing(tmp_path: Path, secret_group: bool) -> None:
    fleet_dir, bundles = make_fleet(tmp_path, ("kiosk-01", "kiosk-02"))
    mosquitto = Mosquitto(fleet_dir, tmp_path).start()
    tls = centre_tls(fleet_dir, role=Role.INGEST)
    group = share_group(open_fleet(fleet_dir).path("gateway.key").read_bytes()) if secret_group else SHARE_GROUP
    seen: list[str] = []

    def on_batch(batch: list[Inbound]) -> list[Outcome]:
        seen.extend(m.topic for m in batch)
        return [Outcome(token=m.token, kiosk_id="", ack=None) for m in batch]

    centre = CentreMqtt(MqttSettings(url=mosquitto.url, ca_file=tls.ca_file, cert_file=tls.cert_file,
                                     key_file=tls.key_file, share_group=group), on_batch)
    centre.start()
    thief, stolen = intruder(bundles["kiosk-02"], mosquitto.port)
    kiosk = TestKiosk(bundles["kiosk-01"], mosquitto.port)
    try:
        assert centre.connected.wait(10) and kiosk.connected.wait(10)
        for _ in range(N):
            kiosk.publish_raw(b"capture")
        if secret_group:
            assert wait_until(lambda: len(seen) == N, timeout=10)
        else:  # the attack this guards against: the broker drops the intruder's turns
            assert not wait_until(lambda: len(seen) == N, timeout=3)
            assert 0 < len(seen) < N
        assert stolen == []  # never delivered to the kiosk either way
    finally:
        kiosk.close()
        thief.disconnect()
        thief.loop_stop()
        centre.stop()
        mosquitto.stop()
