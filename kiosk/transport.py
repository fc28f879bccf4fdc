"""The MQTT link as a small interface, with paho (real) and an in-memory twin.

paho runs its network loop in its own thread; callbacks only put `LinkEvent`s on a queue,
and the kiosk's main loop drains them with `poll()`: all outbox writes stay on one thread.
"""

from __future__ import annotations

import enum
import logging
import queue
import re
import ssl
import sys
from dataclasses import dataclass, field
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.errors import PublishError
from provisioning.fleet import TlsFiles  # the same three paths the centre's client uses

log = logging.getLogger("anjungan.kiosk.link")
MAX_REASON = 160


def failure_reason(exc: BaseException | None, fallback: str = "") -> str:
    """One line saying why a connection attempt failed: the TLS alert or socket error as the
    library words it (certificates' names at most, never key material)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        text = f"TLS: the broker's certificate is not trusted ({exc.verify_message or exc.reason})"
    elif isinstance(exc, ssl.SSLError):
        text = f"TLS refused: {exc.reason or exc}"
    elif isinstance(exc, OSError):
        text = exc.strerror or type(exc).__name__
    else:
        text = fallback or "connection failed"
    return one_line(text)


def one_line(text: str) -> str:
    """`text` on one line, without OpenSSL's source position, at most MAX_REASON long."""
    return " ".join(re.sub(r"\s*\(_ssl\.c:\d+\)", "", text).split())[:MAX_REASON]


class LinkEventKind(enum.Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    MESSAGE = "message"  # with topic and payload
    PUBLISHED = "published"  # with the mid the broker acknowledged


@dataclass(frozen=True, kw_only=True)
class LinkEvent:
    kind: LinkEventKind
    topic: str = ""
    payload: bytes = b""
    mid: int = 0


@dataclass(frozen=True, kw_only=True)
class Will:
    topic: str
    payload: bytes


class Transport(Protocol):
    connected: bool
    failures: int  # connection attempts that failed since start
    last_failure: str  # why the last one failed

    def start(self) -> None: ...
    def subscribe(self, topic: str) -> None: ...
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None: ...
    def poll(self) -> list[LinkEvent]: ...
    def stop(self, *, final: tuple[str, bytes] | None = None) -> None: ...
    def reconnect(self) -> None: ...


class MqttTransport:
    """paho-mqtt 2.x, QoS 1, optional TLS with the kiosk's certificate, automatic reconnect."""

    def __init__(self, *, client_id: str, host: str, port: int, will: Will,
                 tls: TlsFiles | None = None, keepalive: int = 15) -> None:
        self.connected = False
        self.failures, self.last_failure = 0, ""
        self._attempt_error = ""  # what paho logged about the current attempt, if it failed
        self._host, self._port, self._keepalive = host, port, keepalive
        self._events: queue.Queue[LinkEvent] = queue.Queue()
        self._subs: list[str] = []
        self._client_id, self._will, self._tls = client_id, will, tls
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        """A paho client; TLS files are read here (so `reconnect` picks up a renewed identity)."""
        client_id, will, tls = self._client_id, self._will, self._tls
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        c.will_set(will.topic, will.payload, qos=1, retain=True)
        if tls is not None:
            try:
                c.tls_set(ca_certs=tls.ca_file, certfile=tls.cert_file, keyfile=tls.key_file,
                          cert_reqs=ssl.CERT_REQUIRED)
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise PublishError(f"kiosk TLS files unusable: {exc}") from exc
        c.reconnect_delay_set(min_delay=1, max_delay=8)
        c.max_inflight_messages_set(32)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_publish = self._on_publish
        c.on_connect_fail = self._on_connect_fail
        c.on_log = self._on_log
        return c

    # paho's thread
    def _failed(self, reason: str) -> None:
        """One attempt failed: counted (sent in health), logged when the reason changes."""
        self.failures += 1
        self._attempt_error = ""
        if reason != self.last_failure:
            log.warning("cannot connect to the broker %s:%d: %s (attempt %d; retrying)", self._host,
                        self._port, reason, self.failures)
        self.last_failure = reason

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        # paho calls this inside its `except OSError` around the TCP connect and TLS handshake
        self._failed(failure_reason(sys.exc_info()[1], self._attempt_error))

    def _on_log(self, _c: mqtt.Client, _u: Any, level: int, text: str) -> None:
        # a TLS 1.3 broker refuses the kiosk's certificate after the handshake: the alert
        # arrives on the first read, which paho only logs
        if level == mqtt.MQTT_LOG_ERR and "on socket" in text:
            self._attempt_error = one_line(text.split(": ", 1)[-1])

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if client is not self._client:  # the client `reconnect` replaced
            return
        if getattr(reason, "is_failure", False):
            self._attempt_error = f"the broker refused the connection: {reason}"
            return
        if self.failures and self.last_failure:
            log.warning("connected to the broker %s:%d after %d failed attempts", self._host, self._port,
                        self.failures)
        self.last_failure = ""
        self.connected = True
        for topic in self._subs:
            client.subscribe(topic, qos=1)
        self._events.put(LinkEvent(kind=LinkEventKind.CONNECTED))

    def _on_disconnect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if client is not self._client:  # the client `reconnect` replaced
            return
        if not self.connected:  # the attempt never got the broker's CONNACK
            reason_text = "TLS refused: " + self._attempt_error if "SSL" in self._attempt_error else self._attempt_error
            self._failed(reason_text or f"the broker closed the connection ({reason})")
        elif self._attempt_error:
            log.warning("lost the broker %s:%d: %s", self._host, self._port, self._attempt_error)
            self._attempt_error = ""
        self.connected = False
        self._events.put(LinkEvent(kind=LinkEventKind.DISCONNECTED))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._events.put(LinkEvent(kind=LinkEventKind.MESSAGE, topic=msg.topic, payload=bytes(msg.payload)))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        self._events.put(LinkEvent(kind=LinkEventKind.PUBLISHED, mid=mid))

    # the kiosk's thread
    def start(self) -> None:
        try:
            self._client.connect_async(self._host, self._port, keepalive=self._keepalive)
        except (OSError, ValueError) as exc:
            raise PublishError(f"bad broker address {self._host}:{self._port}: {exc}") from exc
        self._client.loop_start()

    def subscribe(self, topic: str) -> None:
        self._subs.append(topic)
        if self.connected:
            self._client.subscribe(topic, qos=1)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None:
        if not self.connected:
            return None
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else None

    def reconnect(self) -> None:
        """Drop the connection and dial again with the TLS files as they are now on disk."""
        old = self._client
        self.connected = False
        old.disconnect()
        old.loop_stop()
        self._client = self._make_client()
        self._events.put(LinkEvent(kind=LinkEventKind.DISCONNECTED))
        self.start()

    def poll(self) -> list[LinkEvent]:
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def stop(self, *, final: tuple[str, bytes] | None = None) -> None:
        """Clean shutdown: publish `final` (the retained offline status) then disconnect."""
        if final and self.connected:
            info = self._client.publish(final[0], final[1], qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self.connected = False


@dataclass
class MemoryTransport:
    """The twin: records what is published, lets a test inject what the centre sends."""

    connected: bool = False
    failures: int = 0
    last_failure: str = ""
    published: list[tuple[str, bytes, bool]] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    _events: list[LinkEvent] = field(default_factory=list)
    _mid: int = 0
    reconnects: int = 0

    def start(self) -> None:
        self.set_connected(True)

    def fail(self, reason: str) -> None:
        """An attempt to connect that failed (the real one counts them the same way)."""
        self.failures, self.last_failure = self.failures + 1, reason

    def set_connected(self, up: bool) -> None:
        self.connected = up
        self._events.append(LinkEvent(kind=LinkEventKind.CONNECTED if up else LinkEventKind.DISCONNECTED))

    def subscribe(self, topic: str) -> None:
        self.subscriptions.append(topic)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None:
        if not self.connected:
            return None
        self._mid += 1
        self.published.append((topic, payload, retain))
        self._events.append(LinkEvent(kind=LinkEventKind.PUBLISHED, mid=self._mid))
        return self._mid

    def reconnect(self) -> None:
        self.reconnects += 1
        self.set_connected(False)
        self.set_connected(True)

    def inject(self, topic: str, payload: bytes) -> None:
        self._events.append(LinkEvent(kind=LinkEventKind.MESSAGE, topic=topic, payload=payload))

    def poll(self) -> list[LinkEvent]:
        out, self._events = self._events, []
        return out

    def stop(self, *, final: tuple[str, bytes] | None = None) -> None:
        if final and self.connected:
            self.published.append((final[0], final[1], True))
        self.connected = False
