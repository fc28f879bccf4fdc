"""The central service's composition root: fleet trust, queue, ingest, gateway, relay, MQTT.

`CentralService` owns one of each and exposes them (`queue`, `relay`, `mqtt`) so further
handlers (fleet health, dashboard) can be attached: add a kind to `MqttSettings.kinds`
and a handler to `handlers`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from broker.desk import StatusDesk
from broker.errors import ConfigError
from broker.gateway import Gateway
from broker.ingest import Inbound, Ingest, Outcome
from broker.mqtt import CentreMqtt, MqttSettings
from broker.policy import DEFAULT_AGING_S
from broker.queue import PacketQueue, open_queue
from broker.relay import Relay, RelayConfig
from broker.siak.client import SiakClient
from broker.trust import TrustSource
from provisioning.centres import CENTRE_ID, Role
from provisioning.fleet import centre_tls, load_gateway_key, open_fleet

log = logging.getLogger("anjungan.service")


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    fleet_dir: Path
    db_url: str = ""  # default: sqlite in the fleet folder's sibling `centre/`
    mqtt_url: str = ""  # default: the fleet's broker address
    siak_url: str = "http://127.0.0.1:8900"
    siak_timeout_s: float = 10.0
    relay: RelayConfig = field(default_factory=RelayConfig)
    aging_s: float = DEFAULT_AGING_S
    identity: str = CENTRE_ID  # its centre identity: certificate and MQTT client id
    batch: int = 64


def default_db_url(fleet_dir: Path) -> str:
    return f"sqlite://{fleet_dir.resolve().parent / 'centre' / 'queue.db'}"


class CentralService:
    def __init__(self, cfg: ServiceConfig) -> None:
        try:
            fleet = open_fleet(cfg.fleet_dir)
        except Exception as exc:
            raise ConfigError(str(exc)) from exc
        broker = fleet.settings["broker"]
        tls = centre_tls(cfg.fleet_dir, cfg.identity, Role.INGEST)
        self.cfg = cfg
        self.queue: PacketQueue = open_queue(cfg.db_url or default_db_url(cfg.fleet_dir),
                                             aging_s=cfg.aging_s)  # fmt: skip
        self.trust = TrustSource(cfg.fleet_dir)
        self.ingest = Ingest(self.queue, self.trust)
        self.handlers: dict[str, Callable[[list[Inbound]], list[Outcome]]] = {
            "capture": self.ingest.process,
            "query": StatusDesk(self.queue).answer,
        }
        self.mqtt = CentreMqtt(
            MqttSettings(url=cfg.mqtt_url or f"mqtts://{broker['host']}:{broker['port']}",
                         ca_file=tls.ca_file, cert_file=tls.cert_file, key_file=tls.key_file,
                         client_id=cfg.identity, batch=cfg.batch, kinds=("capture", "query")),
            self._dispatch,
            prepare=self._prepare,
        )  # fmt: skip
        self.relay = Relay(self.queue, Gateway(load_gateway_key(cfg.fleet_dir)),
                           SiakClient(cfg.siak_url, timeout_s=cfg.siak_timeout_s,
                                      max_connections=cfg.relay.workers + 2),
                           self.mqtt, cfg.relay)  # fmt: skip

    def _kind(self, msg: Inbound) -> str:
        """The handler for a message: by topic kind; the capture handler gets the rest (it logs strays)."""
        kind = msg.topic.rsplit("/", 1)[-1]
        return kind if kind in self.handlers else "capture"

    def _prepare(self, batch: list[Inbound]) -> list[Inbound]:
        """Pipeline stage 1: verify the capture messages ahead of their commit."""
        mine = [i for i, msg in enumerate(batch) if self._kind(msg) == "capture"]
        out = list(batch)
        for i, msg in zip(mine, self.ingest.prepare([batch[i] for i in mine]), strict=True):
            out[i] = msg
        return out

    def _dispatch(self, batch: list[Inbound]) -> list[Outcome]:
        by_kind: dict[str, list[Inbound]] = {}
        for msg in batch:
            by_kind.setdefault(self._kind(msg), []).append(msg)
        out: list[Outcome] = []
        for kind, msgs in by_kind.items():
            out.extend(self.handlers[kind](msgs))
        return out

    def start(self) -> None:
        self.mqtt.start()
        self.relay.start()
        log.info("central service running")

    def stop(self) -> None:
        self.relay.stop()
        self.mqtt.stop()
        self.queue.close()

    def run_forever(self, stop: threading.Event) -> None:
        self.start()
        try:
            stop.wait()
        finally:
            self.stop()
