"""Simulated kiosks on the fleet topics, for tests, the demo and the load test.

`SimKiosk` is one kiosk with its own TLS identity (a provisioning bundle) and a real Last
Will, as the kiosk app connects. `drop()` cuts its TCP connection without a DISCONNECT so
the broker publishes the will; `connect()` again starts a new session.

`KioskCrowd` is the load test's side: one plain MQTT connection publishing on behalf of
many kiosk ids (a permissive test broker; real kiosks each hold their own connection).
"""

from __future__ import annotations

import socket
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from anjungan import topics
from anjungan.messages import Feedback, Health, KioskStatus, LinkState
from anjungan.topics import TopicKind


def health_message(kiosk_id: str, session_id: str, at: float, **kw: Any) -> Health:
    base: dict[str, Any] = {
        "peripherals": {name: {"ok": True, "version": "1.0"} for name in
                        ("controller", "finger", "iris", "face", "signature", "printer")},
        "outbox_depth": 0, "outbox_oldest_s": 0.0, "disk_free_pct": 71.0, "temperature_c": 46.0,
        "app_version": "0.1.0", "firmware_version": "0.1.0",
    }
    return Health(kiosk_id=kiosk_id, session_id=session_id, at=at, **{**base, **kw})


class SimKiosk:
    def __init__(self, bundle: Any, port: int, *, host: str = "127.0.0.1") -> None:
        self.bundle, self.host, self.port = bundle, host, port
        self.kiosk_id: str = bundle.kiosk_id
        self.session_id = ""
        self.client: mqtt.Client | None = None

    def connect(self, *, at: float, timeout: float = 10.0) -> SimKiosk:
        self.session_id = uuid.uuid4().hex
        connected = threading.Event()
        # the kiosk id, as the kiosk app (the broker makes it so anyway: the certificate's CN)
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.kiosk_id)
        c.tls_set(ca_certs=self.bundle.ca_file, certfile=self.bundle.cert_file, keyfile=self.bundle.key_file)
        will = KioskStatus(kiosk_id=self.kiosk_id, state=LinkState.OFFLINE, session_id=self.session_id, at=at)
        c.will_set(topics.topic(self.kiosk_id, TopicKind.STATUS), will.to_json(), qos=1, retain=True)
        c.on_connect = lambda *a: connected.set()
        c.connect(self.host, self.port, keepalive=60)
        c.loop_start()
        if not connected.wait(timeout):
            c.loop_stop()
            raise TimeoutError(f"{self.kiosk_id} could not connect")
        self.client = c
        online = KioskStatus(kiosk_id=self.kiosk_id, state=LinkState.ONLINE, session_id=self.session_id, at=at)
        c.publish(topics.topic(self.kiosk_id, TopicKind.STATUS), online.to_json(), qos=1, retain=True).wait_for_publish(timeout)
        return self

    def send_health(self, *, at: float, **kw: Any) -> None:
        assert self.client is not None
        kw.setdefault("cert_expires_at", self.bundle.cert_expires_at)
        msg = health_message(self.kiosk_id, self.session_id, at, **kw)
        self.client.publish(topics.topic(self.kiosk_id, TopicKind.HEALTH), msg.to_json(), qos=1).wait_for_publish(10)

    def send_feedback(self, feedback_id: str, text: str, *, at: float, category: str = "layanan") -> None:
        assert self.client is not None
        msg = Feedback(kiosk_id=self.kiosk_id, feedback_id=feedback_id, at=at, category=category, text=text)
        self.client.publish(topics.topic(self.kiosk_id, TopicKind.FEEDBACK), msg.to_json(), qos=1).wait_for_publish(10)

    def drop(self) -> None:
        """Lose the link (power cut, cable pulled): no DISCONNECT, so the broker sends the will."""
        c, self.client = self.client, None
        if c is None:
            return
        c.loop_stop()
        sock = c.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None


class KioskCrowd:
    """One connection speaking for many kiosks (load test over a permissive plain broker)."""

    def __init__(self, name: str, port: int, *, host: str = "127.0.0.1") -> None:
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
        self.client.max_inflight_messages_set(1000)
        self.client.on_connect = lambda *a: self.connected.set()
        self.client.connect(host, port, keepalive=60)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise TimeoutError(f"{name} could not connect")

    def status(self, kiosk_id: str, state: LinkState, session_id: str, *, at: float) -> mqtt.MQTTMessageInfo:
        msg = KioskStatus(kiosk_id=kiosk_id, state=state, session_id=session_id, at=at)
        return self.client.publish(topics.topic(kiosk_id, TopicKind.STATUS), msg.to_json(), qos=1, retain=True)

    def health(self, kiosk_id: str, session_id: str, *, at: float, payload: bytes | None = None) -> mqtt.MQTTMessageInfo:
        data = payload or health_message(kiosk_id, session_id, at).to_json()
        return self.client.publish(topics.topic(kiosk_id, TopicKind.HEALTH), data, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
