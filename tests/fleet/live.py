"""A real fleet for the live tests: CA, enrolled kiosk bundles and a TLS Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import KioskBundle, complete, load_bundle, request
from provisioning.fleet import init_fleet, open_fleet
from provisioning.mosquitto import write_config


@dataclass
class LiveFleet:
    root: Path
    port: int
    bundles: dict[str, KioskBundle]


@contextmanager
def live_fleet(tmp: Path, kiosks: tuple[str, ...]) -> Iterator[LiveFleet]:
    port = free_port()
    init_fleet(tmp / "fleet", broker_port=port)
    fleet = open_fleet(tmp / "fleet")
    bundles = {}
    for kid in kiosks:
        request(tmp / kid, kid)
        complete(fleet, tmp / kid, office="Dukcapil Denpasar")
        bundles[kid] = load_bundle(tmp / kid)
    conf = write_config(fleet, tmp / "conf", port=port, persistence=False)
    broker = BrokerProcess(conf, port).start(log=tmp / "mosquitto.log")
    try:
        yield LiveFleet(root=tmp / "fleet", port=port, bundles=bundles)
    finally:
        broker.stop()


