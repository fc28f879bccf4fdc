"""The MQTT shell around `FleetService`: subscribe, hand every message over, reconnect.

`attach(client, service)` wires an existing paho 2.x client (one holding a fleet-role identity);
`FleetMonitor` makes its own client from a URL: `mqtts://host:port` with a fleet monitor
identity's certificate (`provisioning.fleet.centre_tls(root, FLEET_MONITOR_ID)`; the broker
lets it read status, health and feedback, not captures), or `mqtt://host:port` for a
plain-TCP test or bench broker.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from anjungan import topics
from anjungan.errors import AnjunganError
from anjungan.messages import FeedbackAck, HelpAck, HelpState
from anjungan.topics import TopicKind
from broker.fleet.errors import FleetConfigError, FleetError
from broker.fleet.service import FleetService
from provisioning.centres import FLEET_MONITOR_ID

log = logging.getLogger("anjungan.fleet.mqtt")

KINDS = (TopicKind.STATUS, TopicKind.HEALTH, TopicKind.FEEDBACK, TopicKind.HELP)


def subscriptions(*, captures: bool = False) -> list[tuple[str, int]]:
    kinds = KINDS + ((TopicKind.CAPTURE,) if captures else ())
    return [(topics.subscription(kind), 1) for kind in kinds]


def attach(client: mqtt.Client, service: FleetService, *, captures: bool = False) -> None:
    """Route the fleet topics of `client` to `service`; (re)subscribes on every connect;
    acks each feedback to its kiosk once the service has committed it, and answers help
    requests (received, then coming when staff acknowledge)."""
    wanted = subscriptions(captures=captures)
    previous_connect: Any = client.on_connect

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        if previous_connect is not None:
            previous_connect(c, userdata, flags, reason, props)
        if not reason.is_failure:
            c.subscribe(wanted)

    def on_message(_c: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        service.handle(msg.topic, bytes(msg.payload))

    def ack_feedback(stored: list[tuple[str, str]]) -> None:
        for kiosk_id, feedback_id in stored:
            try:
                ack = FeedbackAck(feedback_id=feedback_id).to_json()
                client.publish(topics.topic(kiosk_id, TopicKind.ACK), ack, qos=1)
            except (AnjunganError, ValueError) as exc:  # one bad item never costs the others
                log.warning("could not ack a feedback of %s: %s", kiosk_id, exc)

    def answer_help(kiosk_id: str, request_id: str, state: HelpState) -> None:
        try:
            ack = HelpAck(request_id=request_id, state=state).to_json()
            client.publish(topics.topic(kiosk_id, TopicKind.ACK), ack, qos=1)
        except (AnjunganError, ValueError) as exc:
            log.warning("could not answer a help request of %s: %s", kiosk_id, exc)

    client.on_connect = on_connect
    service.on_feedback_stored = ack_feedback
    service.on_help_answer = answer_help
    for topic_filter, _qos in wanted:
        client.message_callback_add(topic_filter, on_message)


def parse_broker_url(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise FleetConfigError(f"broker URL must be mqtt://HOST:PORT or mqtts://HOST:PORT, not {url!r}")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise FleetConfigError(f"bad port in broker URL {url!r}") from None
    return parts.scheme, parts.hostname, port


class FleetMonitor:
    """Its own MQTT connection for the fleet service (standalone runner, tests, bench)."""

    def __init__(self, service: FleetService, url: str, *, tls: Any = None,
                 client_id: str = FLEET_MONITOR_ID, captures: bool = False) -> None:
        scheme, self.host, self.port = parse_broker_url(url)
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=True)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        if scheme == "mqtts":
            if tls is None:
                raise FleetConfigError("mqtts:// needs the fleet folder's fleet monitor certificate (--fleet)")
            self.client.tls_set(ca_certs=tls.ca_file, certfile=tls.cert_file, keyfile=tls.key_file)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_a: self.connected.clear()
        attach(self.client, service, captures=captures)

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        if reason.is_failure:
            log.error("broker refused the fleet monitor: %s", reason)
        else:
            self.connected.set()

    def start(self, *, wait_s: float = 10.0) -> FleetMonitor:
        try:
            self.client.connect_async(self.host, self.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise FleetError(f"cannot reach the broker at {self.host}:{self.port}: {exc}") from exc
        self.client.loop_start()
        if wait_s and not self.connected.wait(wait_s):
            self.stop()
            raise FleetError(f"no MQTT connection to {self.host}:{self.port} after {wait_s:.0f} s")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
