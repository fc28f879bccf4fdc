"""Fleet health's exception tree: one line each, fit for an operator."""

from __future__ import annotations

from broker.errors import BrokerError


class FleetError(BrokerError):
    """Any failure of fleet health or the dashboard."""


class FleetConfigError(FleetError):
    """A bad alert threshold, store URL, listen address or staff account."""

    exit_code = 2


class StoreError(FleetError):
    """The fleet store could not be opened or used."""


class ServiceNotFound(FleetError):
    """No running fleet service to talk to (no runtime file, or it does not answer)."""
