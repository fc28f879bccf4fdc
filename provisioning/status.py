"""How long the fleet's trust lasts: every certificate and the CRL, with a state each.

`trust_status(fleet, now)` reads the fleet folder and judges each item at `now`:

| state    | certificate                        | CRL                                    |
|----------|------------------------------------|----------------------------------------|
| expired  | past notAfter                      | past nextUpdate: the broker refuses all |
| expiring | fewer than 7 days left             | fewer than 7 days left                 |
| due      | fewer than 30 days left: renew (a  | past its refresh time: re-sign         |
|          | kiosk: past 2/3 of its life)       |                                        |
| revoked  | kiosk revoked in the registry/CRL  | —                                      |

With the broker's config folder, the CRL copy Mosquitto reads is judged too.
| ok       | otherwise                          | otherwise                              |
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from provisioning import centres
from provisioning.crl import DAY, load_ca, load_crl, load_issuer, next_update, parse_crl, refresh_at
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes
from provisioning.fleet import Fleet
from provisioning.rekey import RENEW_FRACTION

EXPIRING_DAYS = 7
RENEW_DAYS = 30  # broker and centre certificates: plan their renewal a month ahead


class TrustState(enum.StrEnum):
    OK = "ok"
    DUE = "due"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, kw_only=True)
class TrustItem:
    kind: str  # ca | broker | centre | kiosk | crl
    name: str
    expires_at: float  # notAfter, or the CRL's nextUpdate
    state: TrustState

    def days_left(self, now: float) -> float:
        return (self.expires_at - now) / DAY


@dataclass(frozen=True, kw_only=True)
class TrustStatus:
    now: float
    items: tuple[TrustItem, ...]
    crl_refresh_at: float
    crl_revoked: int

    @property
    def expired(self) -> list[TrustItem]:
        return [i for i in self.items if i.state is TrustState.EXPIRED]


def judge(expires_at: float, now: float, *, due_at: float) -> TrustState:
    if now >= expires_at:
        return TrustState.EXPIRED
    if expires_at - now < EXPIRING_DAYS * DAY:
        return TrustState.EXPIRING
    return TrustState.DUE if now >= due_at else TrustState.OK


def _cert(path: Path, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(read_bytes(path, what))
    except ValueError:
        raise ProvisioningError(f"{what} is not a valid certificate: {path}") from None


def renew_at(cert: x509.Certificate) -> float:
    """When a kiosk renews its certificate: at 2/3 of its life (`kiosk.renewal`)."""
    start, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    return start + (end - start) * RENEW_FRACTION


def _cert_item(kind: str, name: str, cert: x509.Certificate, now: float,
               revoked: bool = False) -> TrustItem:
    end = cert.not_valid_after_utc.timestamp()
    # a kiosk renews itself at 2/3 of its life; others wait for a technician 30 days ahead
    due_at = renew_at(cert) if kind == "kiosk" else end - RENEW_DAYS * DAY
    state = TrustState.REVOKED if revoked else judge(end, now, due_at=due_at)
    return TrustItem(kind=kind, name=name, expires_at=end, state=state)


def trust_status(fleet: Fleet, now: float, *, broker_conf_dir: Path | None = None) -> TrustStatus:
    """Every item at `now`; with `broker_conf_dir`, also the CRL copy Mosquitto reads there
    (the one that matters to kiosks: a fresh fleet CRL helps nobody until it is copied)."""
    ca = load_ca(fleet)
    issuer = load_issuer(fleet)
    crl = load_crl(fleet)
    revoked_serials = {r.serial_number for r in crl}
    items = [_cert_item("ca", "ca.pem", ca, now)]
    if fleet.has_issuing_ca:
        items.append(_cert_item("issuing", "issuing.pem", issuer, now))
    items.append(_cert_item("broker", "broker.pem", _cert(fleet.path("broker.pem"), "broker certificate"), now))
    for identity in centres.identities(fleet.root):  # ingest, fleet monitor, signer, and any more
        path = Path(identity.tls.cert_file)
        name = str(path.relative_to(fleet.root))
        items.append(_cert_item("centre", name, _cert(path, f"centre certificate {name}"), now))
    try:
        kiosks = sorted(fleet.registry()["kiosks"].items())
        entries = [(kid, e["state"]) for kid, e in kiosks]
    except (KeyError, TypeError, AttributeError):
        raise ProvisioningError("kiosk registry is damaged (registry.json)") from None
    for kiosk_id, state in entries:
        cert = _cert(fleet.path(f"kiosks/{kiosk_id}.pem"), f"kiosk {kiosk_id}'s certificate")
        revoked = state == "revoked" or cert.serial_number in revoked_serials
        items.append(_cert_item("kiosk", kiosk_id, cert, now, revoked))
    end = next_update(crl)
    items.append(TrustItem(kind="crl", name="crl.pem", expires_at=end,
                           state=judge(end, now, due_at=refresh_at(crl))))
    if broker_conf_dir is not None:
        path = broker_conf_dir / "crl.pem"
        copy = parse_crl(read_bytes(path, "broker's CRL copy"), issuer)
        end = next_update(copy)
        items.append(TrustItem(kind="crl", name=str(path), expires_at=end,
                               state=judge(end, now, due_at=refresh_at(copy))))
    return TrustStatus(now=now, items=tuple(items), crl_refresh_at=refresh_at(crl),
                       crl_revoked=len(revoked_serials))


def expiries(root: Path) -> list[tuple[str, float]]:
    """(file, notAfter or nextUpdate) of what the centre's folder holds of the fleet's trust —
    CAs, broker and centre certificates, the CRL — for the dashboard's alerts. Files that
    are absent (a centre folder has no broker key) or unreadable are left out."""
    out = []
    for name in ("ca.pem", "issuing.pem", "broker.pem"):
        try:
            out.append((name, _cert(root / name, name).not_valid_after_utc.timestamp()))
        except ProvisioningError:
            continue
    try:
        out += [(str(Path(i.tls.cert_file).relative_to(root)),
                 _cert(Path(i.tls.cert_file), i.name).not_valid_after_utc.timestamp())
                for i in centres.identities(root)]
        crl = x509.load_pem_x509_crl(read_bytes(root / "crl.pem", "CRL"))
        out.append(("crl.pem", next_update(crl)))
    except (ProvisioningError, ValueError):
        pass
    return out


def iso(t: float) -> str:
    if t == float("inf"):
        return "never"
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")


def status_json(status: TrustStatus) -> dict:
    return {
        "generated_at": iso(status.now),
        "items": [{"kind": i.kind, "name": i.name, "expires_at": iso(i.expires_at),
                   "days_left": round(i.days_left(status.now), 1), "state": i.state.value}
                  for i in status.items],
        "crl": {"refresh_at": iso(status.crl_refresh_at), "revoked_serials": status.crl_revoked},
        "expired": [f"{i.kind} {i.name}" for i in status.expired],
    }


def status_lines(status: TrustStatus) -> list[str]:
    lines = [f"{'KIND':8}{'NAME':36}{'EXPIRES (UTC)':22}{'DAYS':>7}  STATE"]
    for i in status.items:
        name = i.name if len(i.name) <= 35 else "…" + i.name[-34:]
        lines.append(f"{i.kind:8}{name:36}{iso(i.expires_at)[:16].replace('T', ' '):22}"
                     f"{i.days_left(status.now):7.1f}  {i.state.value}")
    lines.append(f"CRL: {status.crl_revoked} revoked serial(s); next refresh from "
                 f"{iso(status.crl_refresh_at)[:16].replace('T', ' ')} UTC "
                 "(anjungan provision refresh-crl --if-due)")
    return lines
