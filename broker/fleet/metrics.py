"""Prometheus metrics of the fleet monitor, in a registry of its own (one per service)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from broker.fleet.service import FleetService


class _FleetCollector(Collector):
    """Gauges computed from the live core at scrape time."""

    def __init__(self, service: FleetService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        rows = self.service.overview()
        kiosks = GaugeMetricFamily("anjungan_fleet_kiosks", "Known kiosks by state", labels=["state"])
        up = sum(1 for r in rows if r.up)
        kiosks.add_metric(["online"], up)
        kiosks.add_metric(["offline"], len(rows) - up)
        yield kiosks
        alerts = GaugeMetricFamily("anjungan_fleet_open_alerts", "Open alerts by kind", labels=["kind"])
        counts: dict[str, int] = {}
        for a in self.service.open_alerts():
            counts[a.key.kind.value] = counts.get(a.key.kind.value, 0) + 1
        for kind, n in sorted(counts.items()):
            alerts.add_metric([kind], n)
        yield alerts
        outbox = GaugeMetricFamily("anjungan_fleet_outbox_depth", "Packets waiting in kiosk outboxes")
        outbox.add_metric([], sum(r.state.health.outbox_depth for r in rows if r.state.health))
        yield outbox
        centre = self.service.centre()
        if centre is not None:
            depth = GaugeMetricFamily("anjungan_relay_backlog", "Packets waiting for SIAK",
                                      labels=["priority"])  # fmt: skip
            age = GaugeMetricFamily("anjungan_relay_oldest_seconds", "Age of the oldest waiting",
                                    labels=["priority"])  # fmt: skip
            for b in centre.backlog:
                depth.add_metric([str(b.priority)], b.depth)
                age.add_metric([str(b.priority)], b.oldest_age_s)
            yield depth
            yield age
            if centre.siak_circuit != "unknown":
                siak = GaugeMetricFamily("anjungan_siak_available", "1 when the SIAK circuit is closed")
                siak.add_metric([], 1.0 if centre.siak_available else 0.0)
                yield siak


class FleetMetrics:
    def __init__(self, service: FleetService) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.messages = Counter("anjungan_fleet_messages", "Fleet messages handled",
                                ["kind", "outcome"], registry=self.registry)  # fmt: skip
        self.alert_changes = Counter("anjungan_fleet_alert_changes", "Alerts opened and cleared",
                                     ["kind", "action"], registry=self.registry)  # fmt: skip
        self.registry.register(_FleetCollector(service))
