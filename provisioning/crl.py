"""The fleet's CRL over time: read it, know when it is due, re-sign it before it lapses.

Theory of operation. The CA signs `crl.pem` with a nextUpdate `CRL_DAYS` (30) ahead. Once a
CRL is past its nextUpdate, OpenSSL, and so Mosquitto with `crlfile`, refuses every client
certificate ("CRL has expired"): a lapsed CRL takes the whole fleet offline. `refresh_crl`
re-signs it (same revoked serials, same revocation dates, new lastUpdate and nextUpdate) once
fewer than `REFRESH_MARGIN` (20 days) remain, so a daily timer has about twenty tries before
anything breaks. Only revocation changes the list; refreshing only moves its dates.

`provisioning.keeper` takes the CRL (and the ACL that shuts out revoked kiosks) to a running
Mosquitto. Time is passed in everywhere here; only the CLI reads the clock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provisioning import x509 as px
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes, write_atomic
from provisioning.fleet import Fleet, revoked_serials

DAY = 86400.0
REFRESH_MARGIN = dt.timedelta(days=20)


def parse_crl(pem: bytes, ca: x509.Certificate) -> x509.CertificateRevocationList:
    """A CRL that parses and is signed by `ca` (the fleet's issuer), else a ProvisioningError."""
    # cryptography raises several types for damaged DER (ValueError, TypeError,
    # UnsupportedAlgorithm, InvalidSignature...), some only when a field is first read
    try:
        crl = x509.load_pem_x509_crl(pem)
        signed = crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
        crl.next_update_utc, crl.last_update_utc, list(crl)  # noqa: B018 - parse it all now
    except Exception:  # noqa: BLE001 - every damage is the same answer
        raise ProvisioningError("crl.pem is not a valid CRL") from None
    if not signed:
        raise ProvisioningError("crl.pem is not signed by this fleet's CA")
    return crl


def load_crl(fleet: Fleet) -> x509.CertificateRevocationList:
    return parse_crl(read_bytes(fleet.path("crl.pem"), "CRL"), load_issuer(fleet))


def load_ca(fleet: Fleet) -> x509.Certificate:
    try:
        return fleet.ca()
    except ValueError:
        raise ProvisioningError(f"ca.pem is not a valid certificate: {fleet.path('ca.pem')}") from None


def load_issuer(fleet: Fleet) -> x509.Certificate:
    """Who signs the CRL: the issuing CA (the root in a fleet made before it)."""
    if not fleet.has_issuing_ca:
        return load_ca(fleet)
    try:
        return fleet.issuer()
    except ValueError:
        raise ProvisioningError(f"issuing.pem is not a valid certificate: {fleet.path('issuing.pem')}") from None


def next_update(crl: x509.CertificateRevocationList) -> float:
    when = crl.next_update_utc
    if when is None:  # every CRL we sign has one; a CRL without never lapses
        return float("inf")
    return when.timestamp()


def refresh_at(crl: x509.CertificateRevocationList) -> float:
    """When `refresh_crl(..., if_due=True)` starts re-signing this CRL."""
    return next_update(crl) - REFRESH_MARGIN.total_seconds()


def is_due(crl: x509.CertificateRevocationList, now: float) -> bool:
    return now >= refresh_at(crl)


@contextmanager
def fleet_lock(fleet: Fleet) -> Iterator[None]:
    """One writer of registry + CRL at a time (a revocation and the timer's refresh may meet:
    without the lock the refresh could write back a CRL read before the revocation)."""
    with open(fleet.path(".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sign_crl(fleet: Fleet, *, now: float, repair: bool = False) -> x509.CertificateRevocationList:
    """A fresh CRL of every serial the registry or the current CRL revokes. Call it holding
    `fleet_lock`. A serial once revoked stays revoked: the union never shrinks. With `repair`
    a damaged current CRL is replaced from the registry alone (the registry keeps every
    revoked serial; only the old revocation dates are lost)."""
    current = None
    if fleet.path("crl.pem").exists():
        try:
            current = load_crl(fleet)
        except ProvisioningError:
            if not repair:
                raise
    dates = {r.serial_number: r.revocation_date_utc for r in current} if current else {}
    serials = revoked_serials(fleet.registry()) | set(dates)
    crl = px.make_crl(ca=load_issuer(fleet), ca_key=fleet.issuer_key(), revoked=serials,
                      now=dt.datetime.fromtimestamp(now, dt.UTC), revoked_at=dates)
    write_atomic(fleet.path("crl.pem"), crl.public_bytes(serialization.Encoding.PEM))
    return crl


def refresh_crl(fleet: Fleet, *, now: float | None = None, if_due: bool = False) -> bool:
    """Re-sign the CRL (only when due with `if_due`). True if a new one was written. Without
    `if_due` a damaged CRL is rebuilt from the registry; with it (a timer) that is an error."""
    now = time.time() if now is None else now
    with fleet_lock(fleet):
        if if_due and not is_due(load_crl(fleet), now):
            return False
        sign_crl(fleet, now=now, repair=not if_due)
    return True


def revoked_kiosks(registry: Mapping) -> list[str]:
    """Kiosk ids whose registry state is revoked (re-enrolled kiosks are active again)."""
    try:
        return sorted(k for k, e in registry["kiosks"].items() if e["state"] == "revoked")
    except (KeyError, TypeError, AttributeError):
        raise ProvisioningError("kiosk registry is damaged (registry.json)") from None


def acl_denials(kiosk_ids: list[str]) -> str:
    """Mosquitto ACL lines denying each kiosk every topic. A `deny` for the user wins over
    the kiosk patterns, and Mosquitto applies a reloaded ACL to sessions already open."""
    if not kiosk_ids:
        return ""
    lines = ["", "# revoked kiosks: every topic denied, also to a session opened before the revocation"]
    for kiosk_id in kiosk_ids:
        lines += [f"user {kiosk_id}", "topic deny #"]
    return "\n".join(lines) + "\n"
