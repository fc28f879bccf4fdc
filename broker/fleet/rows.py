"""One line of the fleet overview: what the dashboard, `/metrics` and `fleet status` show
of a kiosk."""

from __future__ import annotations

from dataclasses import dataclass

from broker.fleet.model import Alert, KioskState
from broker.fleet.store import Site


@dataclass(frozen=True, kw_only=True)
class KioskRow:
    """One line of the overview (and of `anjungan fleet status`)."""

    kiosk_id: str
    up: bool
    last_seen: float | None
    site: Site
    alerts: tuple[Alert, ...]
    state: KioskState
    revoked: bool = False  # the fleet registry revoked it: refused, shown as revoked
