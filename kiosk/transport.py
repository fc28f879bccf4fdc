"""The MQTT link as a small interface, with paho (real) and an in-memory twin.

paho runs its network loop in its own thread; callbacks only put `LinkEvent`s on a queue,
and the kiosk's main loop drains them with `poll()`: all outbox writes stay on one thread.
"""

from __future__ import annotations

import queue
import ssl
from dataclasses import dataclass, field
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.errors import PublishError
from provisioning.fleet import TlsFiles  # the same three paths the centre's client uses


@dataclass(frozen=True, kw_only=True)
class LinkEvent:
    kind: str  # "connected" | "disconnected" | "message" | "published"
    topic: str = ""
    payload: bytes = b""
    mid: int = 0


@dataclass(frozen=True, kw_only=True)
class Will:
    topic: str
    payload: bytes


class Transport(Protocol):
    connected: bool

    def start(self) -> None: ...
    def subscribe(self, topic: str) -> None: ...
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None: ...
    def poll(self) -> list[LinkEvent]: ...
    def stop(self, *, final: tuple[str, bytes] | None = None) -> None: ...
    def reconnect(self) -> None: ...


class MqttTransport:
    """paho-mqtt 2.x, QoS 1, optional TLS with the kiosk's certificate, automatic reconnect."""

    def __init__(self, *, client_id: str, host: str, port: int, will: Will,
                 tls: TlsFiles | None = None, keepalive: int = 15) -> None:  # fmt: skip
        self.connected = False
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
                          cert_reqs=ssl.CERT_REQUIRED)  # fmt: skip
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise PublishError(f"kiosk TLS files unusable: {exc}") from exc
        c.reconnect_delay_set(min_delay=1, max_delay=8)
        c.max_inflight_messages_set(32)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_publish = self._on_publish
        return c

    # paho's thread
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if getattr(reason, "is_failure", False) or client is not self._client:
            return
        self.connected = True
        for topic in self._subs:
            client.subscribe(topic, qos=1)
        self._events.put(LinkEvent(kind="connected"))

    def _on_disconnect(self, client: mqtt.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        if client is not self._client:  # the client `reconnect` replaced
            return
        self.connected = False
        self._events.put(LinkEvent(kind="disconnected"))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._events.put(LinkEvent(kind="message", topic=msg.topic, payload=bytes(msg.payload)))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        self._events.put(LinkEvent(kind="published", mid=mid))

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
        self._events.put(LinkEvent(kind="disconnected"))
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
    published: list[tuple[str, bytes, bool]] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    _events: list[LinkEvent] = field(default_factory=list)
    _mid: int = 0
    reconnects: int = 0

    def start(self) -> None:
        self.set_connected(True)

    def set_connected(self, up: bool) -> None:
        self.connected = up
        self._events.append(LinkEvent(kind="connected" if up else "disconnected"))

    def subscribe(self, topic: str) -> None:
        self.subscriptions.append(topic)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None:
        if not self.connected:
            return None
        self._mid += 1
        self.published.append((topic, payload, retain))
        self._events.append(LinkEvent(kind="published", mid=self._mid))
        return self._mid

    def reconnect(self) -> None:
        self.reconnects += 1
        self.set_connected(False)
        self.set_connected(True)

    def inject(self, topic: str, payload: bytes) -> None:
        self._events.append(LinkEvent(kind="message", topic=topic, payload=payload))

    def poll(self) -> list[LinkEvent]:
        out, self._events = self._events, []
        return out

    def stop(self, *, final: tuple[str, bytes] | None = None) -> None:
        if final and self.connected:
            self.published.append((final[0], final[1], True))
        self.connected = False
