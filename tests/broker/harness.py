"""A whole stack for end-to-end and fault tests: real Mosquitto (TLS, client certs, ACLs,
persistence) on a free port, the real `anjungan broker run` as a child process (so it can
be SIGKILLed), the SIAK simulator over HTTP, and test kiosks with a minimal outbox
(re-send until the centre's application ack)."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from anjungan import topics
from anjungan.messages import (
    Ack,
    Feedback,
    FeedbackAck,
    PacketStatus,
    StatusQuery,
    StatusReply,
    decode_ack_topic,
)
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import KioskBundle
from provisioning.fleet import open_fleet
from provisioning.mosquitto import write_config


class Mosquitto:
    def __init__(self, fleet_dir: Path, workdir: Path) -> None:
        self.port = free_port()
        self.conf = write_config(open_fleet(fleet_dir), workdir / "mosquitto", port=self.port,
                                 persistence=True)
        self.log = workdir / "mosquitto.log"
        self.proc = BrokerProcess(self.conf, self.port)

    def start(self) -> Mosquitto:
        self.proc.start(log=self.log)
        return self

    def stop(self) -> None:
        self.proc.stop()

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"


class Service:
    """`anjungan broker run` as a child process."""

    def __init__(self, fleet_dir: Path, workdir: Path, *, mqtt_url: str, siak_url: str,
                 extra: tuple[str, ...] = ()) -> None:
        self.db = f"sqlite://{workdir / 'queue.db'}"
        self.args = [sys.executable, "-m", "entrypoints.cli", "broker", "run", "--fleet", str(fleet_dir), "--allow-ca-key",
                     "--db", self.db, "--mqtt", mqtt_url, "--siak", siak_url, "--siak-insecure-http", "--workers", "4",
                     "--rate", "200", "--lease", "3", "--siak-timeout", "2", "--backoff-cap", "0.5",
                     "--breaker-cooldown", "0.3", "--status-poll", "0", *extra]
        self.log = workdir / "service.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        out = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(self.args, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class TestKiosk:
    """A kiosk's outbox in miniature: publish QoS 1, re-send what the centre has not acked."""

    __test__ = False

    def __init__(self, bundle: KioskBundle, port: int) -> None:
        self.bundle = bundle
        self.outbox: dict[str, bytes] = {}
        self.sent: dict[str, bytes] = {}
        self.acks: dict[str, Ack] = {}
        self.statuses: list[PacketStatus] = []
        self.feedback: dict[str, bytes] = {}  # feedback id -> message, until its FeedbackAck
        self.replies: dict[str, StatusReply] = {}
        self.lock = threading.Lock()
        self.connected = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=bundle.kiosk_id,
                        clean_session=False, protocol=mqtt.MQTTv311)
        c.tls_set(ca_certs=bundle.ca_file, certfile=bundle.cert_file, keyfile=bundle.key_file,
                  tls_version=ssl.PROTOCOL_TLS_CLIENT)
        c.reconnect_delay_set(1, 2)
        c.on_connect = self._on_connect
        c.on_disconnect = lambda *_a: self.connected.clear()
        c.on_message = self._on_message
        c.connect_async("127.0.0.1", port)
        c.loop_start()
        self.client = c

    def _on_connect(self, client: mqtt.Client, *_a: object) -> None:
        client.subscribe(topics.topic(self.bundle.kiosk_id, "ack"), qos=1)
        self.connected.set()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        m = decode_ack_topic(msg.payload)
        with self.lock:
            if isinstance(m, Ack):
                self.acks[m.packet_id] = m
                if m.outcome.value in ("accepted", "duplicate"):
                    self.outbox.pop(m.packet_id, None)
            elif isinstance(m, FeedbackAck):
                self.feedback.pop(m.feedback_id, None)
            elif isinstance(m, StatusReply):
                self.replies[m.query_id] = m
            else:
                self.statuses.append(m)

    def send(self, packet_id: str, raw: bytes, *, keep: bool = True) -> None:
        self.sent.setdefault(packet_id, raw)
        if keep:
            with self.lock:
                self.outbox[packet_id] = raw
        self.client.publish(topics.topic(self.bundle.kiosk_id, "capture"), raw, qos=1)

    def publish_raw(self, payload: bytes) -> None:
        self.client.publish(topics.topic(self.bundle.kiosk_id, "capture"), payload, qos=1)

    def send_feedback(self, feedback_id: str, text: str) -> None:
        msg = Feedback(kiosk_id=self.bundle.kiosk_id, feedback_id=feedback_id, at=time.time(),
                       category="waiting", text=text).to_json()
        with self.lock:
            self.feedback[feedback_id] = msg
        self.client.publish(topics.topic(self.bundle.kiosk_id, "feedback"), msg, qos=1)

    def ask(self, query_id: str, packet_id: str) -> None:
        query = StatusQuery(query_id=query_id, packet_id=packet_id)
        self.client.publish(topics.topic(self.bundle.kiosk_id, "query"), query.to_json(), qos=1)

    def resend_unacked(self) -> int:
        with self.lock:
            pending = list(self.outbox.items())
            feedback = list(self.feedback.values())
        for pid, raw in pending:
            self.send(pid, raw)
        for msg in feedback:
            self.client.publish(topics.topic(self.bundle.kiosk_id, "feedback"), msg, qos=1)
        return len(pending) + len(feedback)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def drive(kiosks: list[TestKiosk], until, timeout: float = 60.0, resend_every: float = 2.0) -> bool:  # type: ignore[no-untyped-def]
    """Re-send unacked packets periodically (the kiosk outbox) until `until()` holds."""
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while time.monotonic() < deadline:
        if until():
            return True
        if time.monotonic() - last >= resend_every:
            for k in kiosks:
                k.resend_unacked()
            last = time.monotonic()
        time.sleep(0.05)
    return bool(until())
