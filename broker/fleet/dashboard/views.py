"""What each page shows, computed from the service and the store (no HTTP here)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from anjungan.packet.model import PriorityClass
from broker.fleet.dashboard.plots import Series, line_chart, stacked_bars
from broker.fleet.model import AlertKind
from broker.fleet.rows import KioskRow
from broker.fleet.service import FleetService

WINDOW_S = 24 * 3600.0
CLASS_COLOURS = {0: "#d1242f", 1: "#1f6feb", 2: "#9a6700"}


def ago(t: float | None, now: float) -> str:
    if t is None:
        return "—"
    s = max(0.0, now - t)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.0f} h"
    return f"{s / 86400:.0f} d"


def safe_next(value: str | None) -> str:
    """Only a local path may follow sign-in (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")  # the shape of auth.new_token(), with room


def plain_token(value: str) -> bool:
    """A cookie token we could have issued (anything else is never looked up or echoed)."""
    return TOKEN_RE.fullmatch(value) is not None


def plain_id(value: str) -> bool:
    """A feedback or help request id from a URL worth looking up: 1-64 characters, as kiosks make them, and
    no NUL (which PostgreSQL refuses in any string)."""
    return 0 < len(value) <= 64 and "\x00" not in value


@dataclass(frozen=True, kw_only=True)
class Filters:
    office: str = ""
    kecamatan: str = ""
    state: str = ""  # "" | online | offline | alert
    q: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        state = params.get("state", "")
        return cls(office=params.get("office", "")[:100], kecamatan=params.get("kecamatan", "")[:100],
                   state=state if state in ("online", "offline", "alert") else "",
                   q=params.get("q", "")[:64].strip().lower())

    def keep(self, row: KioskRow) -> bool:
        return ((not self.office or row.site.office == self.office)
                and (not self.kecamatan or row.site.kecamatan == self.kecamatan)
                and (self.state != "online" or row.up) and (self.state != "offline" or not row.up)
                and (self.state != "alert" or bool(row.alerts))
                and (not self.q or self.q in row.kiosk_id))


def class_label(t: Callable[[str], str], priority: int) -> str:
    try:
        return t(PriorityClass(priority).label)
    except ValueError:
        return str(priority)


def window_s(params: Mapping[str, str]) -> float:
    """The plots' time window: ?hours=N (1-168), 24 by default."""
    raw = params.get("hours", "")
    hours = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else 24
    return float(min(max(hours, 1), 168) * 3600)


def centre_plots(service: FleetService, t: Callable[[str], str], now: float,
                 window: float = WINDOW_S) -> dict[str, str]:
    since = now - window
    local = service.settings.local_time
    samples = service.store.centre_history(since=since)
    by_class: dict[int, list[tuple[float, float]]] = {}
    for s in samples:
        for b in s.backlog:
            by_class.setdefault(b.priority, []).append((s.at, float(b.depth)))
    backlog = line_chart(t("relay_backlog"), [
        Series(label=class_label(t, p), points=pts, colour=CLASS_COLOURS.get(p, ""))
        for p, pts in sorted(by_class.items())], local=local)
    siak = line_chart(t("siak_availability"), [Series(
        label=t("available"), points=[(s.at, 1.0 if s.siak_available else 0.0) for s in samples
                                      if s.siak_circuit != "unknown"],
        colour="#1a7f37")], y_max=1.0, step=True, local=local)
    counts = service.store.captures(since=since)
    per: dict[int, list[tuple[float, float]]] = {}
    for c in counts:
        per.setdefault(c.priority, []).append((c.hour, float(c.count)))
    captures = stacked_bars(t("captures_per_hour"), [c.hour for c in counts], [
        Series(label=class_label(t, p), points=pts, colour=CLASS_COLOURS.get(p, ""))
        for p, pts in sorted(per.items())], local=local)
    return {"plot_backlog": backlog, "plot_siak": siak, "plot_captures": captures}


def overview_data(service: FleetService, q: Filters, t: Callable[[str], str],
                  window: float = WINDOW_S) -> dict[str, Any]:
    now = service.clock()
    rows = service.overview()
    shown = sorted((r for r in rows if q.keep(r)),
                   key=lambda r: (r.site.office, r.site.kecamatan, r.kiosk_id))
    up = sum(1 for r in rows if r.up)
    alerts = service.open_alerts()
    unanswered = len(service.store.feedback(answered=False, limit=10_000))
    return {
        "rows": shown[:2000], "hidden": max(0, len(shown) - 2000),
        "counts": {"kiosks": len(rows), "online": up, "offline": len(rows) - up,
                   "alerts": len(alerts), "unanswered": unanswered},
        "offices": sorted({r.site.office for r in rows if r.site.office}),
        "kecamatans": sorted({r.site.kecamatan for r in rows if r.site.kecamatan}),
        "centre_alerts": [a for a in alerts if not a.key.kiosk_id],
        "help_alerts": [a for a in alerts if a.key.kind is AlertKind.HELP],
        "all_alerts": alerts[:200], "centre": service.centre(),
        **centre_plots(service, t, now, window),
    }


def kiosk_data(service: FleetService, kiosk_id: str, t: Callable[[str], str],
               window: float = WINDOW_S) -> dict[str, Any] | None:
    row = service.kiosk(kiosk_id)
    if row is None:
        return None
    now = service.clock()
    points = service.store.health_history(kiosk_id, since=now - window)
    x_range = (now - window, now) if points else None
    local = service.settings.local_time
    plots = {
        "plot_outbox": line_chart(t("outbox_depth"), [Series(
            label=t("outbox_depth"), points=[(p.at, float(p.outbox_depth)) for p in points])],
            x_range=x_range, local=local),
        "plot_temp": line_chart(t("temperature"), [Series(
            label="°C", points=[(p.at, p.temperature_c) for p in points if p.temperature_c is not None],
            colour="#d1242f")], x_range=x_range, local=local),
        "plot_disk": line_chart(t("disk_free"), [Series(
            label="%", points=[(p.at, p.disk_free_pct) for p in points], colour="#1a7f37")],
            x_range=x_range, y_max=100.0, local=local),
        "plot_faults": line_chart(t("faults"), [Series(
            label=t("faults"), points=[(p.at, float(p.faults)) for p in points], colour="#9a6700")],
            x_range=x_range, step=True, local=local),
    }
    return {"row": row, "health": row.state.health,
            "log": service.store.alert_log(kiosk_id=kiosk_id, limit=50), **plots}


def fleet_json(service: FleetService, kiosk_id: str = "") -> dict[str, Any]:
    """The API's answer; `kiosk_id` narrows `kiosks` to one (counts stay fleet-wide)."""
    def alert(a: Any) -> dict[str, Any]:
        return {"kind": a.key.kind.value, "subject": a.key.subject, "detail": a.detail,
                "severity": a.severity, "opened_at": a.opened_at}

    if kiosk_id:  # one kiosk: no need to build every row
        one = service.kiosk(kiosk_id)
        rows = [one] if one is not None else []
        total, up = service.counts()
    else:
        rows = service.overview()
        total, up = len(rows), sum(1 for r in rows if r.up)
    return {
        "generated_at": service.clock(),
        "counts": {"kiosks": total, "online": up, "offline": total - up},
        "kiosks": [{"kiosk_id": r.kiosk_id, "online": r.up, "revoked": r.revoked, "last_seen": r.last_seen,
                    "office": r.site.office, "kecamatan": r.site.kecamatan,
                    "open_alerts": [alert(a) for a in r.alerts]} for r in rows],
        "centre_alerts": [alert(a) for a in service.open_alerts() if not a.key.kiosk_id],
    }
