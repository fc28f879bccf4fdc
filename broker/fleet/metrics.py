"""Prometheus metrics of the fleet monitor, in a registry of its own (one per service), and
of the central service (`CentreMetrics`, the Prometheus side of `broker.observe`), added to
the same registry when `broker run --http` serves both."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from anjungan.packet.model import PriorityClass
from broker.fleet.model import Alert, CentreSample
from broker.fleet.rows import KioskRow


class FleetView(Protocol):
    """What the gauges read at scrape time (`FleetService` is one)."""

    def overview(self) -> list[KioskRow]: ...

    def open_alerts(self) -> list[Alert]: ...

    def centre(self) -> CentreSample | None: ...


class _FleetCollector(Collector):
    """Gauges computed from the live core at scrape time."""

    def __init__(self, service: FleetView) -> None:
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
                                      labels=["priority"])
            age = GaugeMetricFamily("anjungan_relay_oldest_seconds", "Age of the oldest waiting",
                                    labels=["priority"])
            for b in centre.backlog:  # labelled by class name: "vulnerable", not "0"
                label = PriorityClass(b.priority).label
                depth.add_metric([label], b.depth)
                age.add_metric([label], b.oldest_age_s)
            yield depth
            yield age
            if centre.siak_circuit != "unknown":
                siak = GaugeMetricFamily("anjungan_siak_available", "1 when the SIAK circuit is closed")
                siak.add_metric([], 1.0 if centre.siak_available else 0.0)
                yield siak


class FleetMetrics:
    def __init__(self, service: FleetView) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.messages = Counter("anjungan_fleet_messages", "Fleet messages handled",
                                ["kind", "outcome"], registry=self.registry)
        self.alert_changes = Counter("anjungan_fleet_alert_changes", "Alerts opened and cleared",
                                     ["kind", "action"], registry=self.registry)
        self.registry.register(_FleetCollector(service))


REASON_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# seconds: SIAK answers in tens of milliseconds when well, the call's deadline is 10 s
SIAK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class CentreMetrics:
    """`broker.observe.CentreObserver` as Prometheus counters and a SIAK latency histogram.
    Made before the registry exists (the service starts first); `register` adds them."""

    def __init__(self) -> None:
        self.ingest = Counter("anjungan_ingest_messages", "Capture messages by ingest outcome "
                              "(accepted, duplicate, rejected, skipped) and rejection reason",
                              ["outcome", "reason"], registry=None)
        self.poison = Counter("anjungan_ingest_set_aside", "Messages whose handling failed, set "
                              "aside (poison)", ["kind"], registry=None)
        self.relay = Counter("anjungan_relay_packets", "Relay attempts by outcome (sent to SIAK, "
                             "retried later, dead-lettered)", ["outcome"], registry=None)
        self.siak = Histogram("anjungan_siak_call_seconds", "SIAK call latency by operation and outcome",
                              ["operation", "outcome"], buckets=SIAK_BUCKETS, registry=None)

    def register(self, registry: CollectorRegistry) -> None:
        for metric in (self.ingest, self.poison, self.relay, self.siak):
            registry.register(metric)

    def ingested(self, outcome: str, reason: str = "") -> None:
        self.ingest.labels(outcome=outcome, reason=reason if REASON_RE.match(reason) or not reason else "other").inc()

    def set_aside(self, kind: str) -> None:
        self.poison.labels(kind=kind).inc()

    def relayed(self, outcome: str) -> None:
        self.relay.labels(outcome=outcome).inc()

    def siak_call(self, operation: str, outcome: str, seconds: float) -> None:
        self.siak.labels(operation=operation, outcome=outcome).observe(seconds)
