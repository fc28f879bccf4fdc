"""The central service's MQTT transport on Mosquitto (paho-mqtt 2.x): TLS with the
centre's certificate, a persistent session, manual acks; the pipeline is `broker.shell`.
The MQTT PUBACK and the application ack are sent only after the commit: anything not
committed when the process dies is redelivered by the broker (if the instance is back
within its session expiry) or re-sent by the kiosk's outbox.

Several instances share the work (MQTT 5): each subscribes through the shared subscription
`$share/anjungan-ingest-<secret>/…` (`share_group`), so the broker hands each capture and
query to one instance, round robin. The group's name holds a secret only centre instances
can compute, because Mosquitto 2.0 checks deliveries against the ACL but not
subscriptions: a kiosk that joined a group with a public name would be handed its share of
the captures, and the broker would then drop them (the read ACL refuses the delivery).
Each instance has its own identity (client id = certificate CN) and a session that
outlives it by `session_expiry_s` (default 30 s): a restart within that time resumes the
session and gets what arrived meanwhile; a dead instance's session is then dropped with
whatever the broker had queued for it, and the kiosks' re-sends (after 30 s without the
application ack) reach a live instance. `RECEIVE_MAXIMUM` bounds the messages in flight to
one instance, hence what a dead one can hold unacknowledged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anjungan import topics
from anjungan.messages import Ack, PacketStatus, StatusReply
from anjungan.topics import TopicKind
from broker.errors import ConfigError
from broker.ingest import Inbound
from broker.shell import BatchHandler, IngestShell, PoisonHandler, Preparer, skip_poison
from provisioning.centres import CENTRE_ID

log = logging.getLogger("anjungan.mqtt")

SHARE_GROUP = "anjungan-ingest"  # the public half of the instances' share group (`share_group`)
SESSION_EXPIRY_S = 30  # a dead instance's session (and what is queued for it) lives this long
RECEIVE_MAXIMUM = 100  # QoS 1 messages in flight to one instance: the verify/commit pipeline's window


def share_group(secret: bytes) -> str:
    """The share group of every `broker run` instance of a deployment: SHARE_GROUP and 96
    bits of HMAC-SHA256 under a secret they all hold and no kiosk does (the gateway key)."""
    if len(secret) < 16:
        raise ConfigError("the share group's secret is too short")
    tag = hmac.new(secret, b"anjungan/v1 mqtt share group", hashlib.sha256).hexdigest()[:24]
    return f"{SHARE_GROUP}-{tag}"


@dataclass(frozen=True, kw_only=True)
class MqttSettings:
    url: str  # mqtts://host:port
    ca_file: str
    cert_file: str
    key_file: str
    client_id: str = CENTRE_ID  # must be the certificate's CN: the broker makes it so
    batch: int = 64
    kinds: tuple[TopicKind, ...] = (TopicKind.CAPTURE,)
    share_group: str  # `share_group(secret)`: required, a public name lets kiosks take captures away
    session_expiry_s: int = SESSION_EXPIRY_S

    def __post_init__(self) -> None:
        if not 0 <= self.session_expiry_s <= 0xFFFFFFFE:
            raise ConfigError("the MQTT session expiry must be 0..4294967294 s")


class CentreMqtt(IngestShell):
    def __init__(self, settings: MqttSettings, on_batch: BatchHandler, *,
                 prepare: Preparer | None = None, on_poison: PoisonHandler = skip_poison,
                 is_store_failure: Callable[[BaseException], bool] = lambda _e: True) -> None:
        super().__init__(on_batch, batch=settings.batch, prepare=prepare, on_poison=on_poison,
                         is_store_failure=is_store_failure)
        parts = urlsplit(settings.url)
        if parts.scheme not in ("mqtts", "ssl", "tls") or not parts.hostname:
            raise ConfigError(f"MQTT URL must be mqtts://HOST:PORT, got {settings.url!r}")
        self.host, self.port = parts.hostname, parts.port or 8883
        self.settings = settings
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                        protocol=mqtt.MQTTv5, manual_ack=True)
        c.tls_set(ca_certs=settings.ca_file, certfile=settings.cert_file,
                  keyfile=settings.key_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(min_delay=1, max_delay=4)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self.client = c

    # -- paho callbacks (network thread) -----------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object = None) -> None:
        if getattr(rc, "is_failure", False):
            log.warning("MQTT connect refused: %s", rc)
            return
        kinds = self.settings.kinds
        if getattr(_f, "session_present", False):
            # a session kept from a release before shared subscriptions would deliver twice
            client.unsubscribe([topics.subscription(kind) for kind in kinds])
        client.subscribe([(topics.shared_subscription(kind, self.settings.share_group), 1) for kind in kinds])
        self.connected.set()
        log.info("MQTT connected to %s:%d", self.host, self.port)

    def _on_disconnect(self, _c: object, _u: object, _f: object, rc: object, _p: object = None) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", rc)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        self.deliver(_inbound(msg))

    def settle(self, token: object) -> None:
        msg: mqtt.MQTTMessage = token  # type: ignore[assignment]
        if msg.qos > 0:
            self.client.ack(msg.mid, msg.qos)

    def notify(self, kiosk_id: str, message: Ack | PacketStatus | StatusReply) -> None:
        self.client.publish(topics.topic(kiosk_id, TopicKind.ACK), message.to_json(), qos=1)

    def open(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.session_expiry_s
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(self.host, self.port, keepalive=30, clean_start=False,
                                  properties=props)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _inbound(m: mqtt.MQTTMessage) -> Inbound:
    # paho hands over `bytes` (bytes() of bytes is the same object: no copy of the ~1 MB body)
    return Inbound(topic=m.topic, payload=bytes(m.payload), token=m)
