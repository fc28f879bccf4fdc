"""The centre, played by the tests: a Mosquitto of our own and a subscriber that verifies
each capture packet and acks it on the kiosk's ack topic (the real central service is
another component; this is the contract seen from the kiosk)."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from anjungan import topics
from anjungan.messages import Ack, AckOutcome, Feedback, FeedbackAck, Health, KioskStatus
from anjungan.packet import FleetTrust, decode_packet, verify_packet
from provisioning.broker_process import free_port, wait_for_port
from provisioning.fleet import TlsFiles

MOSQUITTO = "/usr/sbin/mosquitto"


class PlainBroker:
    """Mosquitto on a free port, plain TCP, anonymous: for unit-level publisher tests."""

    def __init__(self, tmp: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.conf = tmp / f"mosquitto-{self.port}.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> PlainBroker:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


class Centre:
    """Subscribes to every kiosk's capture/status/health/feedback; verifies and acks packets."""

    def __init__(self, port: int, trust: FleetTrust | None = None, *, tls: TlsFiles | None = None,
                 ack: bool = True, client_id: str = "centre") -> None:
        self.trust, self.ack = trust, ack
        self.packets: dict[str, int] = {}  # packet id -> times received
        self.raw: dict[str, bytes] = {}
        self.sequences: list[int] = []
        self.statuses: list[KioskStatus] = []
        self.health: list[Health] = []
        self.feedback: list[Feedback] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if tls:
            self.c.tls_set(ca_certs=tls.ca_file, certfile=tls.cert_file, keyfile=tls.key_file)
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _on_connect(self, c: mqtt.Client, *_a: object) -> None:
        for kind in ("capture", "status", "health", "feedback"):
            c.subscribe(topics.subscription(kind), qos=1)

    def _on_message(self, c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        kiosk_id, kind = topics.parse(m.topic)
        with self._lock:
            try:
                if kind == "capture":
                    packet = decode_packet(m.payload)
                    if self.trust:
                        verify_packet(packet, self.trust, now=time.time(), window_s=10 * 86400)
                    self.packets[packet.packet_id] = self.packets.get(packet.packet_id, 0) + 1
                    self.raw[packet.packet_id] = bytes(m.payload)
                    self.sequences.append(packet.header.sequence)
                    if self.ack:
                        first = self.packets[packet.packet_id] == 1
                        outcome = AckOutcome.ACCEPTED if first else AckOutcome.DUPLICATE
                        c.publish(topics.topic(kiosk_id, "ack"),
                                  Ack(packet_id=packet.packet_id, outcome=outcome).to_json(), qos=1)
                elif kind == "status":
                    self.statuses.append(KioskStatus.from_json(m.payload))
                elif kind == "health":
                    self.health.append(Health.from_json(m.payload))
                elif kind == "feedback":
                    fb = Feedback.from_json(m.payload)
                    if all(f.feedback_id != fb.feedback_id for f in self.feedback):
                        self.feedback.append(fb)
                    if self.ack:
                        c.publish(topics.topic(kiosk_id, "ack"),
                                  FeedbackAck(feedback_id=fb.feedback_id).to_json(), qos=1)
            except Exception as exc:  # the test asserts on errors == []
                self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")

    def publish(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


