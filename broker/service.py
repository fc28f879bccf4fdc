"""The central service's composition root: fleet trust, queue, ingest, gateway, relay, and
the transport (`broker.shell`): MQTT on Mosquitto, or JetStream on a NATS cluster.

`CentralService` owns one of each and exposes them (`queue`, `relay`, `transport`) so further
handlers (fleet health, dashboard) can be attached: add a kind to `MqttSettings.kinds`
and a handler to `handlers`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from anjungan import topics
from anjungan.messages import Ack, AckOutcome
from anjungan.packet import decode_packet
from anjungan.sdnotify import Watchdog
from anjungan.topics import TopicKind
from broker.brokers import BrokerKind
from broker.coordination import lease_owner, open_coordination
from broker.desk import StatusDesk
from broker.errors import ConfigError
from broker.gateway import Gateway
from broker.ingest import Inbound, Ingest, Outcome
from broker.mqtt import SESSION_EXPIRY_S, CentreMqtt, MqttSettings, share_group
from broker.observe import ACCEPTED, DUPLICATE, NULL, REJECTED, SKIPPED, CentreObserver
from broker.paths import queue_url
from broker.policy import DEFAULT_AGING_S
from broker.queue import Admission, PacketQueue, Rejection, open_queue, store_failure
from broker.relay import Relay, RelayConfig
from broker.shell import IngestShell
from broker.siak.access import DEFAULT_URL as DEFAULT_SIAK_URL
from broker.siak.access import SiakAccess
from broker.siak.client import SiakClient
from broker.trust import TrustSource
from provisioning.centres import CENTRE_ID, Role
from provisioning.files import read_bytes
from provisioning.fleet import centre_tls, open_fleet
from provisioning.gateway_keys import load_keyring

log = logging.getLogger("anjungan.service")
WATCHDOG_TICK_S = 1.0  # how often liveness is looked at; pings go at most every WATCHDOG_USEC/4
POISON = "internal_error"  # the rejection reason of a message whose handling failed


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    fleet_dir: Path
    db_url: str = ""  # default: the folder's stores.json, else sqlite in its sibling `centre/`
    mqtt_url: str = ""  # default: the fleet's broker address
    siak_url: str = DEFAULT_SIAK_URL
    siak_timeout_s: float = 10.0  # deadline of one whole SIAK call
    siak_access: SiakAccess = field(default_factory=SiakAccess)  # TLS, token; http only if allowed
    relay: RelayConfig = field(default_factory=RelayConfig)
    aging_s: float = DEFAULT_AGING_S
    identity: str = CENTRE_ID  # its centre identity: certificate and MQTT client id
    batch: int = 64
    session_expiry_s: int = SESSION_EXPIRY_S  # MQTT 5: how long the broker keeps a dead instance's session
    dead_after_s: float = 5.0  # PostgreSQL: a heartbeat this old releases the instance's leases
    broker: BrokerKind = BrokerKind.MOSQUITTO
    nats_urls: tuple[str, ...] = ()  # BrokerKind.CLUSTER: tls://HOST:PORT of every node


class CentralService:
    def __init__(self, cfg: ServiceConfig, *, observer: CentreObserver = NULL) -> None:
        """`observer` is told every ingest, set-aside, relay and SIAK outcome (metrics)."""
        cfg.siak_access.check_url(cfg.siak_url)
        self.observer = observer
        siak = SiakClient(cfg.siak_url, access=cfg.siak_access, timeout_s=cfg.siak_timeout_s,
                          max_connections=cfg.relay.workers + 2, observer=observer)
        try:
            fleet = open_fleet(cfg.fleet_dir)
        except Exception as exc:
            raise ConfigError(str(exc)) from exc
        broker = fleet.settings["broker"]
        tls = centre_tls(cfg.fleet_dir, cfg.identity, Role.INGEST)
        self.cfg = cfg
        db_url = queue_url(cfg.fleet_dir, cfg.db_url)
        self.queue: PacketQueue = open_queue(db_url, aging_s=cfg.aging_s)
        self.coordination = open_coordination(db_url, instance=cfg.identity, dead_after_s=cfg.dead_after_s)
        self.trust = TrustSource(cfg.fleet_dir)
        self.ingest = Ingest(self.queue, self.trust, clock=time.time)
        self.handlers: dict[TopicKind, Callable[[list[Inbound]], list[Outcome]]] = {
            TopicKind.CAPTURE: self.ingest.process,
            TopicKind.QUERY: StatusDesk(self.queue).answer,
        }
        self.transport: IngestShell
        if cfg.broker is BrokerKind.CLUSTER:
            from broker.nats_ingest import CentreNats, NatsSettings

            self.transport = CentreNats(
                NatsSettings(urls=cfg.nats_urls, ca_file=tls.ca_file, cert_file=tls.cert_file,
                             key_file=tls.key_file, name=cfg.identity, batch=cfg.batch),
                self._dispatch, prepare=self._prepare, on_poison=self._set_aside, is_store_failure=store_failure)
        else:
            self.transport = CentreMqtt(
                MqttSettings(url=cfg.mqtt_url or f"mqtts://{broker['host']}:{broker['port']}",
                             ca_file=tls.ca_file, cert_file=tls.cert_file, key_file=tls.key_file,
                             client_id=cfg.identity, batch=cfg.batch, kinds=(TopicKind.CAPTURE, TopicKind.QUERY),
                             session_expiry_s=cfg.session_expiry_s,
                             share_group=share_group(read_bytes(fleet.path("gateway.key"), "gateway private key"))),
                self._dispatch, prepare=self._prepare, on_poison=self._set_aside, is_store_failure=store_failure)
        gateway = Gateway(load_keyring(cfg.fleet_dir), reload=lambda: load_keyring(cfg.fleet_dir))
        self.relay = Relay(self.queue, gateway, siak, self.transport, cfg.relay, observer=observer,
                           name=lease_owner(cfg.identity, "relay"), coordination=self.coordination)

    def _kind(self, msg: Inbound) -> TopicKind:
        """The handler for a message: by topic kind; the capture handler gets the rest (it logs strays)."""
        kind = msg.topic.rsplit("/", 1)[-1]
        return TopicKind(kind) if kind in self.handlers else TopicKind.CAPTURE

    def _prepare(self, batch: list[Inbound]) -> list[Inbound]:
        """Pipeline stage 1: verify the capture messages ahead of their commit."""
        mine = [i for i, msg in enumerate(batch) if self._kind(msg) is TopicKind.CAPTURE]
        out = list(batch)
        for i, msg in zip(mine, self.ingest.prepare([batch[i] for i in mine]), strict=True):
            out[i] = msg
        return out

    def _dispatch(self, batch: list[Inbound]) -> list[Outcome]:
        by_kind: dict[TopicKind, list[Inbound]] = {}
        for msg in batch:
            by_kind.setdefault(self._kind(msg), []).append(msg)
        out: list[Outcome] = []
        for kind, msgs in by_kind.items():
            outcomes = self.handlers[kind](msgs)
            if kind is TopicKind.CAPTURE:
                for o in outcomes:
                    self._count(o)
            out.extend(outcomes)
        return out

    def _count(self, o: Outcome) -> None:
        if o.reason:
            self.observer.ingested(REJECTED, o.reason)
        elif o.admission is Admission.NEW:
            self.observer.ingested(ACCEPTED)
        elif o.admission is Admission.DUPLICATE:
            self.observer.ingested(DUPLICATE)
        else:
            self.observer.ingested(SKIPPED)  # off the contract: no kiosk to answer

    def _set_aside(self, msg: Inbound, exc: BaseException) -> Outcome:
        """A message whose handling failed while the store works: record it (aggregated per
        kiosk and reason), answer a capture with a rejection, so the kiosk keeps it for a
        technician and stops re-sending, and let the shell ack it."""
        kind: TopicKind | None
        try:
            kiosk_id, kind = topics.parse(msg.topic)
        except topics.TopicError:
            kiosk_id, kind = "", None
        packet_id, ack = "", None
        if kind is TopicKind.CAPTURE:
            try:
                packet_id = decode_packet(msg.payload).packet_id
                ack = Ack(packet_id=packet_id, outcome=AckOutcome.REJECTED, reason=POISON)
            except Exception:  # noqa: BLE001 - not even its id can be read: no answer
                pass
        log.error("kiosk %s: set aside a %s message that failed (%s)", kiosk_id or "?", kind or "stray",
                  type(exc).__name__)
        self.observer.set_aside(kind if kind in topics.KINDS else "stray")
        if kiosk_id:
            try:
                self.queue.reject(Rejection(kiosk_id=kiosk_id, packet_id=packet_id, reason=POISON,
                                            at=time.time(), detail=f"{kind}: {type(exc).__name__}"))
            except Exception as rec:  # noqa: BLE001 - the message is set aside all the same
                log.error("could not record the set-aside message: %s", type(rec).__name__)
        return Outcome(token=msg.token, kiosk_id=kiosk_id, ack=ack, reason=POISON)

    def start(self) -> None:
        self.transport.start()
        self.relay.start()
        log.info("central service running")

    def stop(self) -> None:
        self.relay.stop()
        self.transport.stop()
        self.queue.close()
        self.coordination.close()

    def alive(self) -> bool:
        """Ingest and relay threads all running: what systemd's watchdog pings vouch for."""
        return self.transport.alive() and self.relay.alive()

    def keep_watchdog(self, stop: threading.Event, watchdog: Watchdog) -> None:
        """Tell systemd the service is up, then ping its watchdog while `alive` (until
        `stop`): a dead or wedged worker stops the pings and systemd restarts the service."""
        watchdog.ready()
        while not stop.wait(WATCHDOG_TICK_S):
            if self.alive():
                watchdog.ping()

    def run_forever(self, stop: threading.Event, watchdog: Watchdog | None = None) -> None:
        self.start()
        try:
            self.keep_watchdog(stop, watchdog or Watchdog())
        finally:
            self.stop()
