"""What the central service tells its metrics: one small hook interface, free of Prometheus.

The service passes an observer to the relay and the SIAK client and reports ingest outcomes
itself; `broker.fleet.metrics.CentreMetrics` turns the calls into Prometheus counters and
histograms on the dashboard's /metrics, `NullObserver` (the default) drops them. Labels are
closed vocabularies (the names below and the ingest's rejection reasons), never a kiosk id
or a packet id, so the series stay few.
"""

from __future__ import annotations

from typing import Protocol

# ingest outcomes of a capture message
ACCEPTED, DUPLICATE, REJECTED, SKIPPED = "accepted", "duplicate", "rejected", "skipped"
# relay outcomes of a leased packet
SENT, RETRIED, DEAD_LETTERED = "sent", "retried", "dead_lettered"
# SIAK calls
SUBMIT, STATUS = "submit", "status"


class CentreObserver(Protocol):
    def ingested(self, outcome: str, reason: str = "") -> None:
        """One capture message: ACCEPTED, DUPLICATE, REJECTED (with the reason) or SKIPPED."""

    def set_aside(self, kind: str) -> None:
        """A message whose handling failed (poison), by topic kind."""

    def relayed(self, outcome: str) -> None:
        """One relay attempt's end: SENT, RETRIED or DEAD_LETTERED."""

    def siak_call(self, operation: str, outcome: str, seconds: float) -> None:
        """One SIAK exchange (SUBMIT or STATUS): "ok" or the failure's kind, and how long."""


class NullObserver:
    def ingested(self, outcome: str, reason: str = "") -> None:
        pass

    def set_aside(self, kind: str) -> None:
        pass

    def relayed(self, outcome: str) -> None:
        pass

    def siak_call(self, operation: str, outcome: str, seconds: float) -> None:
        pass


NULL = NullObserver()
