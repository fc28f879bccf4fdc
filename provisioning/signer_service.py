"""The signing service process: answers kiosks' renewals over MQTT and keeps the CRL fresh.

It is the one process that holds the issuing CA's key (`issuing.key`): not the ingest (which
reads every kiosk's captures from the network), not the technician's laptop (which holds the
root, offline). It connects as the `signer` centre identity (`provisioning.centres`), which
the broker lets read every kiosk's `renew` topic and write every `renewed` topic. paho's
thread only queues requests; `serve` answers them one at a time on its own thread (the
registry is written under the fleet lock), and between requests re-signs the CRL when due
and, given the broker's config folder, pushes it (`provisioning.keeper`).

A request answered is a message published at QoS 1 on the kiosk's `renewed` topic; a signer
killed mid-signing answers nothing, and the kiosk asks again (same staged key, same
certificate if it was already recorded).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from anjungan import topics
from anjungan.topics import TopicKind
from provisioning.centre_folder import export_centre
from provisioning.centres import SIGNER_ID, Role, find
from provisioning.crl import refresh_crl
from provisioning.errors import ProvisioningError
from provisioning.fleet import Fleet
from provisioning.keeper import BrokerRef, push
from provisioning.signer import answer

log = logging.getLogger("anjungan.signer")


@dataclass(frozen=True, kw_only=True)
class SignerOptions:
    host: str
    port: int
    identity: str = SIGNER_ID
    crl_interval_s: float = 300.0
    conf_dir: Path | None = None  # push CRL + ACL here after a refresh
    broker: BrokerRef | None = None
    centre_dir: Path | None = None  # keep the central service's folder current too


class SignerService:
    def __init__(self, fleet: Fleet, opts: SignerOptions, *, clock: Callable[[], float] = time.time) -> None:
        if not fleet.has_issuing_ca:
            raise ProvisioningError(f"{fleet.root} has no issuing CA (issuing.pem): the signer needs one")
        fleet.issuer_key()  # the key is here and readable, or say so now
        self.fleet, self.opts, self.clock = fleet, opts, clock
        self.requests: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.answered = 0
        tls = find(fleet.root, opts.identity, Role.SIGNER).tls
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=opts.identity, clean_session=True)
        c.tls_set(ca_certs=tls.ca_file, certfile=tls.cert_file, keyfile=tls.key_file, cert_reqs=ssl.CERT_REQUIRED)
        c.reconnect_delay_set(min_delay=1, max_delay=8)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        self.client = c
        self.connected = threading.Event()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.error("signer could not connect: %s", reason)
            return
        client.subscribe(topics.subscription(TopicKind.RENEW), qos=1)
        self.connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.requests.put((msg.topic, bytes(msg.payload)))

    def serve(self, stop: threading.Event) -> None:
        self.client.connect_async(self.opts.host, self.opts.port, keepalive=15)
        self.client.loop_start()
        next_crl = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() >= next_crl:
                    self._keep_crl()
                    next_crl = time.monotonic() + self.opts.crl_interval_s
                try:
                    topic, payload = self.requests.get(timeout=0.2)
                except queue.Empty:
                    continue
                self.handle(topic, payload)
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def handle(self, topic: str, payload: bytes) -> None:
        try:
            kiosk_id, _kind = topics.parse(topic)
        except topics.TopicError as exc:
            log.warning("ignored a message outside the contract: %s", exc)
            return
        try:
            reply = answer(self.fleet, kiosk_id, payload, now=self.clock())
        except (ProvisioningError, OSError) as exc:  # e.g. a damaged registry: the kiosk asks again
            log.error("renewal for %s not answered: %s", kiosk_id, exc)
            return
        self.client.publish(topics.topic(kiosk_id, TopicKind.RENEWED), reply.to_json(), qos=1)
        self.answered += 1

    def _keep_crl(self) -> None:
        try:
            if refresh_crl(self.fleet, now=self.clock(), if_due=True):
                log.warning("CRL re-signed (it was within its refresh margin)")
            if self.opts.conf_dir is not None and push(self.fleet, self.opts.conf_dir, self.opts.broker):
                log.warning("CRL and ACL pushed to the broker")
            if self.opts.centre_dir is not None and (changed := export_centre(self.fleet, self.opts.centre_dir)):
                log.warning("centre folder %s: %s updated", self.opts.centre_dir, ", ".join(changed))
        except (ProvisioningError, OSError) as exc:
            log.error("CRL upkeep: %s; trying again later", exc)
