"""Alert rules: which alerts a kiosk's state or a centre sample calls for right now.

Pure functions from state, thresholds and `now` to {AlertKey: detail}. The core diffs that
against what is open, so an alert opens when its condition starts and clears when it ends.
"""

from __future__ import annotations

from anjungan.packet.model import PriorityClass
from broker.fleet.model import AlertKey, AlertKind, CentreSample, KioskState, Thresholds


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def kiosk_conditions(k: KioskState, t: Thresholds, now: float) -> dict[AlertKey, str]:
    found: dict[AlertKey, str] = {}

    def add(kind: AlertKind, detail: str, subject: str = "") -> None:
        found[AlertKey(kind=kind, kiosk_id=k.kiosk_id, subject=subject)] = detail

    if k.last_seen is not None:
        if not k.online and k.status_at is not None and now - k.status_at >= t.offline_after_s:
            add(AlertKind.OFFLINE, f"offline for {_minutes(now - k.status_at)}")
        elif k.online and k.silent_for(now) >= t.offline_after_s:
            add(AlertKind.OFFLINE, f"silent for {_minutes(k.silent_for(now))}")
    for request_id, detail in k.help:
        add(AlertKind.HELP, detail, subject=request_id)
    h = k.health
    if h is None:
        return found
    for name, detail in h.faults().items():
        add(AlertKind.PERIPHERAL, detail, subject=name)
    if h.outbox_depth > 0 and h.outbox_oldest_s >= t.outbox_oldest_after_s:
        add(AlertKind.OUTBOX, f"{h.outbox_depth} waiting, oldest {_minutes(h.outbox_oldest_s)}")
    if h.outbox_rejected > 0:
        add(AlertKind.REJECTED, f"{h.outbox_rejected} packets refused by the centre")
    if h.cert_expires_at is not None and h.cert_expires_at - now <= t.cert_expiry_warn_s:
        left = h.cert_expires_at - now
        add(AlertKind.CERT_EXPIRING, "expired" if left <= 0 else f"expires in {left / 86400:.0f} d")
    if h.out_of_service:
        add(AlertKind.OUT_OF_SERVICE, h.out_of_service[:200])
    if h.tamper:
        add(AlertKind.TAMPER, "enclosure opened")
    if h.disk_free_pct < t.disk_free_min_pct:
        add(AlertKind.DISK_LOW, f"{h.disk_free_pct:.0f}% free")
    if h.temperature_c is not None and h.temperature_c > t.temperature_max_c:
        add(AlertKind.TEMPERATURE, f"{h.temperature_c:.0f} °C")
    return found


def class_name(priority: int) -> str:
    try:
        return PriorityClass(priority).label
    except ValueError:
        return str(priority)


def centre_conditions(c: CentreSample | None, t: Thresholds) -> dict[AlertKey, str]:
    found: dict[AlertKey, str] = {}
    if c is None:
        return found
    for b in c.backlog:
        if b.depth > 0 and b.oldest_age_s >= t.relay_oldest_after_s:
            key = AlertKey(kind=AlertKind.RELAY_BACKLOG, subject=class_name(b.priority))
            found[key] = f"{b.depth} waiting for SIAK, oldest {_minutes(b.oldest_age_s)}"
    for name, end in c.expiries:
        if end - c.at <= t.cert_expiry_warn_s:
            left = end - c.at
            found[AlertKey(kind=AlertKind.TRUST_EXPIRING, subject=name)] = (
                "expired" if left <= 0 else f"expires in {left / 86400:.0f} d")
    if c.siak_circuit in ("open", "half_open"):
        found[AlertKey(kind=AlertKind.SIAK_CIRCUIT)] = f"SIAK circuit {c.siak_circuit}"
    return found
