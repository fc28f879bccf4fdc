"""The central service's MQTT shell (paho-mqtt 2.x): TLS with the centre's certificate,
a persistent session, manual acks.

Messages are handled in arrival order, in batches (one durable commit per batch), by a
two-stage pipeline: the `verify` thread runs `prepare` (decode + verify, no writes) on
batch N+1 while the `ingest` thread runs `on_batch` (the commit) on batch N; hashing,
signature checks and fsync release the GIL, so the stages overlap. The MQTT PUBACK and the
application ack are sent only after `on_batch` returns, i.e. after the commit: anything
not committed when the process dies is redelivered by the broker (if the instance is back
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
import queue as stdqueue
import ssl
import threading
import time
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
from broker.ingest import Inbound, Outcome
from provisioning.centres import CENTRE_ID

log = logging.getLogger("anjungan.mqtt")

BatchHandler = Callable[[list[Inbound]], list[Outcome]]
Preparer = Callable[[list[Inbound]], list[Inbound]]
Staged = tuple[list[mqtt.MQTTMessage], list[Inbound]]
PoisonHandler = Callable[[Inbound, BaseException], Outcome]

SHARE_GROUP = "anjungan-ingest"  # the public half of the instances' share group (`share_group`)
SESSION_EXPIRY_S = 30  # a dead instance's session (and what is queued for it) lives this long
RECEIVE_MAXIMUM = 100  # QoS 1 messages in flight to one instance: the verify/commit pipeline's window
REPORT_S = 5.0  # how often an instance logs what it received (its share of the work)


def skip_poison(msg: Inbound, exc: BaseException) -> Outcome:
    """The least a poison message gets: logged, acked, answered with nothing."""
    log.warning("set aside a message on %.120s that failed: %s", msg.topic, type(exc).__name__)
    return Outcome(token=msg.token, kiosk_id="", ack=None, reason="internal_error")


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


class CentreMqtt:
    def __init__(self, settings: MqttSettings, on_batch: BatchHandler, *,
                 prepare: Preparer | None = None, on_poison: PoisonHandler = skip_poison,
                 is_store_failure: Callable[[BaseException], bool] = lambda _e: True) -> None:
        parts = urlsplit(settings.url)
        if parts.scheme not in ("mqtts", "ssl", "tls") or not parts.hostname:
            raise ConfigError(f"MQTT URL must be mqtts://HOST:PORT, got {settings.url!r}")
        self.host, self.port = parts.hostname, parts.port or 8883
        self.settings = settings
        self.on_batch = on_batch
        self.prepare = prepare
        self.on_poison, self.is_store_failure = on_poison, is_store_failure
        self.inbox: stdqueue.Queue[mqtt.MQTTMessage | None] = stdqueue.Queue(maxsize=10_000)
        self.connected = threading.Event()
        self._stop = threading.Event()
        self.received, self.received_bytes = 0, 0  # since start: this instance's share
        self._reported_at = time.monotonic()
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
        # one batch verified ahead of the one committing: bounded, so memory stays bounded
        self._staged: stdqueue.Queue[Staged | None] = stdqueue.Queue(maxsize=1)
        self._verifier = threading.Thread(target=self._verify, name="verify", daemon=True)
        self._worker = threading.Thread(target=self._work, name="ingest", daemon=True)

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
        self.received += 1
        self.received_bytes += len(msg.payload)
        self.inbox.put(msg)

    def _report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._reported_at >= REPORT_S:
            self._reported_at = now
            log.info("received %d messages, %d bytes since start", self.received, self.received_bytes)

    # -- the pipeline: verify (stage 1), commit + ack (stage 2) ---------------------------
    def _verify(self) -> None:
        try:
            while not self._stop.is_set():
                batch = self._next_batch()
                if not batch:
                    break
                raw = [_inbound(m) for m in batch]
                inbound = raw
                if self.prepare is not None:
                    try:
                        inbound = self.prepare(inbound)
                    except Exception:  # noqa: BLE001 - the commit stage checks what is unchecked
                        log.exception("verifying a batch of %d failed; the commit stage re-checks", len(batch))
                        inbound = raw
                self._staged.put((batch, inbound))
        finally:
            self._staged.put(None)

    def _next_batch(self) -> list[mqtt.MQTTMessage]:
        first = self.inbox.get()
        if first is None:
            return []
        batch = [first]
        while len(batch) < self.settings.batch:
            try:
                more = self.inbox.get_nowait()
            except stdqueue.Empty:
                break
            if more is None:
                self._stop.set()
                break
            batch.append(more)
        return batch

    def _work(self) -> None:
        while True:
            staged = self._staged.get()
            if staged is None:
                break
            self._handle(*staged)
            self._report()

    def _handle(self, batch: list[mqtt.MQTTMessage], inbound: list[Inbound]) -> None:
        self._commit(inbound)

    def _commit(self, inbound: list[Inbound]) -> bool:
        """Commit and answer a batch. A batch that fails is halved, and each half tried on
        its own, down to single messages (`_handle_one`): one poison message costs about
        log2(batch) extra commits, never holds back another, and never makes the rest of
        its batch commit one by one. False when stopping."""
        if len(inbound) == 1:
            one = self._handle_one(inbound[0])
            if one is None:
                return False
            self._send(one)
            return True
        try:
            outcomes = self.on_batch(inbound)
        except Exception as exc:  # noqa: BLE001 - not committed, so not acked: isolate it
            log.warning("ingest batch of %d failed (%s); splitting it", len(inbound), type(exc).__name__)
            half = len(inbound) // 2
            return self._commit(inbound[:half]) and self._commit(inbound[half:])
        self._send(outcomes)
        return True

    def _handle_one(self, msg: Inbound) -> list[Outcome] | None:
        """Commit one message; a message that fails while the store works is poison and is
        set aside (`on_poison`); a failing store (disk full, database down) pauses ingest
        and retries until it works, so nothing is lost. None when stopping."""
        delay = 0.1
        while True:
            try:
                return self.on_batch([msg])
            except Exception as exc:  # noqa: BLE001 - classified below
                if not self.is_store_failure(exc):
                    return [self.on_poison(msg, exc)]
                # Mosquitto redelivers unacked messages only after a reconnect, and its
                # in-flight window would fill with them: retry until the commit succeeds.
                log.error("the store failed (%s: %s); ingest paused, retrying in %.1f s",
                          type(exc).__name__, exc, delay)
                if self._stop.wait(delay):
                    return None
                delay = min(delay * 2, 5.0)

    def _send(self, outcomes: list[Outcome]) -> None:
        for out in outcomes:
            msg: mqtt.MQTTMessage = out.token
            if out.ack is not None and out.kiosk_id:
                self.notify(out.kiosk_id, out.ack)
            if msg.qos > 0:
                self.client.ack(msg.mid, msg.qos)

    def notify(self, kiosk_id: str, message: Ack | PacketStatus | StatusReply) -> None:
        self.client.publish(topics.topic(kiosk_id, TopicKind.ACK), message.to_json(), qos=1)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._verifier.start()
        self._worker.start()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.session_expiry_s
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(self.host, self.port, keepalive=30, clean_start=False,
                                  properties=props)
        self.client.loop_start()

    def alive(self) -> bool:
        """The verifier and the committing worker still run (for systemd's watchdog)."""
        return self._verifier.is_alive() and self._worker.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self.inbox.put(None)
        self._verifier.join(timeout=10)
        self._worker.join(timeout=10)
        self._report(force=True)
        self.client.disconnect()
        self.client.loop_stop()


def _inbound(m: mqtt.MQTTMessage) -> Inbound:
    # paho hands over `bytes` (bytes() of bytes is the same object: no copy of the ~1 MB body)
    return Inbound(topic=m.topic, payload=bytes(m.payload), token=m)
