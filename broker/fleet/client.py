"""`anjungan fleet status`: fetch /api/fleet and print it."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from broker.fleet.errors import FleetError, ServiceNotFound


def fetch_fleet(url: str, token: str, *, timeout: float = 10.0, cacert: str = "") -> dict[str, Any]:
    """`cacert`: a PEM file of the CA that signed an HTTPS dashboard's certificate (default:
    the system's trust store)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        verify = ssl.create_default_context(cafile=cacert) if cacert else True
    except (OSError, ssl.SSLError) as exc:
        raise FleetError(f"cannot read --cacert {cacert}: {exc.__class__.__name__}") from None
    try:
        r = httpx.get(url.rstrip("/") + "/api/fleet", headers=headers, timeout=timeout, verify=verify)
    except httpx.HTTPError as exc:
        raise ServiceNotFound(f"the fleet service at {url} does not answer: {exc.__class__.__name__}") from exc
    if r.status_code == 401:
        raise FleetError(f"the fleet service at {url} refused the API token (give --token)")
    if r.status_code != 200:
        raise FleetError(f"the fleet service at {url} answered HTTP {r.status_code}")
    try:
        data = r.json()
    except ValueError:
        raise FleetError(f"the fleet service at {url} sent something that is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("kiosks"), list):
        raise FleetError(f"the fleet service at {url} sent an unexpected answer")
    return data


def render_status(data: dict[str, Any], *, now: float) -> str:
    from broker.fleet.dashboard.views import ago

    c = data.get("counts", {})
    lines = [f"{c.get('kiosks', 0)} kiosks: {c.get('online', 0)} online, {c.get('offline', 0)} offline"]
    for a in data.get("centre_alerts", []):
        lines.append(f"  centre  ALERT {a['kind']} {a['subject']} {a['detail']}".rstrip())
    for k in data["kiosks"]:
        alerts = ", ".join(f"{a['kind']}{':' + a['subject'] if a['subject'] else ''}"
                           for a in k.get("open_alerts", []))
        state = "REVOKED" if k.get("revoked") else "online " if k.get("online") else "OFFLINE"
        lines.append(f"  {k['kiosk_id']:<24} {state} last seen {ago(k.get('last_seen'), now):>7}"
                     f"{'  alerts: ' + alerts if alerts else ''}")
    return "\n".join(lines)
