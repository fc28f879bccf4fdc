"""The technician's fleet folder: CA, broker and centre identities, gateway keys, registry.

Layout of a fleet folder (private keys 0600):

    fleet.json       name, HPKE suite, broker host/port, created_at
    ca.pem ca.key    fleet root CA (ECDSA P-256): signs the broker and the issuing CA; may
                     live offline with the technician once the fleet is made
    issuing.pem/.key issuing CA (intermediate, ECDSA P-256): signs kiosk and centre
                     certificates and the CRL; the signing service holds it. A fleet made
                     before it existed has none: then the root signs everything
    broker.pem/.key  Mosquitto's TLS server certificate
    centre.pem/.key  the central ingest's MQTT client identity (CN = CENTRE_ID)
    centres/         every other centre identity, e.g. the fleet monitor's (`provisioning.centres`)
    gateway.key/.pub the SIAK gateway's HPKE key pair (only the gateway needs gateway.key)
    registry.json    enrolled kiosks: state (active | revoked), current serial, and every
                     certificate ever issued with its state (active | superseded | revoked)
    crl.pem          revoked kiosk certificates, signed by the CA
    kiosks/ID.pem    every certificate issued
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from anjungan.packet.seal import (
    DEFAULT_SUITE,
    POST_QUANTUM_SUITE,
    GatewayPrivateKey,
    dump_gateway_private,
    dump_gateway_public,
    generate_gateway_parts,
    load_gateway_private,
)
from anjungan.packet.verify import FleetTrust
from anjungan.topics import check_kiosk_id
from provisioning import centres
from provisioning import x509 as px
from provisioning.centres import CENTRE_ID, Role, TlsFiles
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes, read_json, write_atomic, write_json

DEFAULT_BROKER_PORT = 8883
ISSUING_PEM, ISSUING_KEY = "issuing.pem", "issuing.key"


def _ec_key(path: Path, what: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(read_bytes(path, what), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ProvisioningError(f"{what} has the wrong type")
    return key


@dataclass(frozen=True)
class Fleet:
    """Paths and settings of one fleet folder."""

    root: Path

    def path(self, name: str) -> Path:
        return self.root / name

    @property
    def settings(self) -> dict:
        return read_json(self.path("fleet.json"), "fleet settings")

    @property
    def suite(self) -> str:
        return str(self.settings["suite"])

    def ca(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(read_bytes(self.path("ca.pem"), "fleet CA"))

    def ca_key(self) -> ec.EllipticCurvePrivateKey:
        return _ec_key(self.path("ca.key"), "fleet CA key")

    @property
    def has_issuing_ca(self) -> bool:
        return self.path(ISSUING_PEM).is_file()

    def issuer(self) -> x509.Certificate:
        """Who signs kiosk and centre certificates and the CRL: the issuing CA, or the root in
        a fleet made before issuing CAs."""
        if not self.has_issuing_ca:
            return self.ca()
        return x509.load_pem_x509_certificate(read_bytes(self.path(ISSUING_PEM), "issuing CA"))

    def issuer_key(self) -> ec.EllipticCurvePrivateKey:
        if not self.has_issuing_ca:
            return self.ca_key()
        return _ec_key(self.path(ISSUING_KEY), "issuing CA key")

    def chain_pem(self) -> bytes:
        """Root then issuing CA: the broker's `cafile`, so it can build root → issuing → kiosk."""
        chain = read_bytes(self.path("ca.pem"), "fleet CA")
        if self.has_issuing_ca:
            chain += read_bytes(self.path(ISSUING_PEM), "issuing CA")
        return chain

    @property
    def kiosk_days(self) -> int:
        """Lifetime of a kiosk certificate (fleets before renewal: the old two years)."""
        return int(self.settings.get("kiosk_days", px.LEAF_DAYS))

    def registry(self) -> dict:
        return read_json(self.path("registry.json"), "kiosk registry")

    def save_registry(self, registry: dict) -> None:
        write_json(self.path("registry.json"), registry)


def open_fleet(root: str | Path) -> Fleet:
    fleet = Fleet(Path(root))
    if not fleet.path("fleet.json").is_file():
        raise ProvisioningError(f"not a fleet folder (no fleet.json): {root}")
    return fleet


def init_fleet(
    root: str | Path,
    *,
    name: str = "anjungan",
    post_quantum: bool = False,
    broker_host: str = "127.0.0.1",
    broker_port: int = DEFAULT_BROKER_PORT,
    server_names: tuple[str, ...] = ("localhost", "127.0.0.1"),
    kiosk_days: int = px.KIOSK_DAYS,
    now: float | None = None,
) -> Fleet:
    root = Path(root)
    if (root / "fleet.json").exists():
        raise ProvisioningError(f"a fleet already exists in {root}")
    root.mkdir(parents=True, exist_ok=True)
    (root / "kiosks").mkdir(exist_ok=True)
    when = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC)
    if not 1 <= kiosk_days <= px.LEAF_DAYS:
        raise ProvisioningError(f"kiosk certificates last 1-{px.LEAF_DAYS} days, not {kiosk_days}")
    ca_key = px.new_ec_key()
    ca = px.make_ca(ca_key, fleet_name=name, now=when, path_length=1)
    write_atomic(root / "ca.key", px.pem_key(ca_key), private=True)
    write_atomic(root / "ca.pem", px.pem_cert(ca))
    issuing_key = px.new_ec_key()
    issuing = px.make_issuing_ca(root=ca, root_key=ca_key, key=issuing_key, fleet_name=name, now=when)
    write_atomic(root / ISSUING_KEY, px.pem_key(issuing_key), private=True)
    write_atomic(root / ISSUING_PEM, px.pem_cert(issuing))
    names = tuple(dict.fromkeys((*server_names, broker_host)))
    key = px.new_ec_key()
    cert = px.issue(ca=ca, ca_key=ca_key, common_name="anjungan-broker", unit="broker",
                    public_key=key.public_key(), server_names=names, client=False, now=when)
    write_atomic(root / "broker.key", px.pem_key(key), private=True)
    write_atomic(root / "broker.pem", px.pem_cert(cert))
    for centre, role in centres.DEFAULTS:
        centres.issue(root, centre, role, ca=issuing, ca_key=issuing_key, now=when)
    suite = POST_QUANTUM_SUITE if post_quantum else DEFAULT_SUITE
    parts = generate_gateway_parts(suite)
    write_atomic(root / "gateway.key", dump_gateway_private(parts), private=True)
    write_atomic(root / "gateway.pub", dump_gateway_public(parts))
    write_atomic(root / "crl.pem", _crl_pem(issuing, issuing_key, [], when))
    write_json(root / "registry.json", {"kiosks": {}})
    write_json(root / "fleet.json", {
        "name": name, "suite": suite, "created_at": when.timestamp(),
        "broker": {"host": broker_host, "port": broker_port}, "kiosk_days": kiosk_days,
    })
    return Fleet(root)


def _crl_pem(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, revoked: list[int],
             when: dt.datetime) -> bytes:
    crl = px.make_crl(ca=ca, ca_key=ca_key, revoked=revoked, now=when)
    return crl.public_bytes(serialization.Encoding.PEM)


def sign_csr(fleet: Fleet, csr_pem: bytes, *, now: float | None = None, office: str = "",
             kecamatan: str = "") -> tuple[str, bytes]:
    """Issue a kiosk certificate for a CSR and register the kiosk (with the office and
    kecamatan it serves, which the dashboard shows). Returns (kiosk_id, PEM)."""
    csr, kiosk_id = px.load_csr(csr_pem)
    try:
        check_kiosk_id(kiosk_id)
    except Exception as exc:
        raise ProvisioningError(str(exc)) from None
    if centres.is_reserved(fleet.root, kiosk_id):
        raise ProvisioningError(f"{kiosk_id!r} is reserved for a centre identity")
    registry = fleet.registry()
    entry = registry["kiosks"].get(kiosk_id)
    when = now if now is not None else time.time()
    if entry and entry["state"] == "active" and entry["expires_at"] > when:
        # a kiosk whose certificate lapsed (offline past it) is re-enrolled without revoking
        raise ProvisioningError(f"kiosk {kiosk_id} is already enrolled; revoke it first")
    cert = issue_kiosk(fleet, kiosk_id, csr.public_key(), now=when)  # type: ignore[arg-type]
    previous = entry or {"revoked_serials": [], "certificates": {}}
    new = {"state": "active", "enrolled_at": when, "revoked_serials": previous["revoked_serials"],
           "certificates": previous.get("certificates", {}), "office": office, "kecamatan": kecamatan}
    record_certificate(new, cert, when)
    registry["kiosks"][kiosk_id] = new
    fleet.save_registry(registry)
    return kiosk_id, px.pem_cert(cert)


def issue_kiosk(fleet: Fleet, kiosk_id: str, public_key: ed25519.Ed25519PublicKey, *,
                now: float) -> x509.Certificate:
    """A kiosk certificate from the issuer, `kiosk_days` long, kept as kiosks/ID.pem."""
    when = dt.datetime.fromtimestamp(now, dt.UTC)
    cert = px.issue(ca=fleet.issuer(), ca_key=fleet.issuer_key(), common_name=kiosk_id, unit="kiosk",
                    public_key=public_key, client=True, now=when, days=fleet.kiosk_days)
    write_atomic(fleet.path(f"kiosks/{kiosk_id}.pem"), px.pem_cert(cert))
    return cert


def record_certificate(entry: dict, cert: x509.Certificate, now: float) -> None:
    """A registry entry's new current certificate; the one before is superseded (its packets
    stay valid until it expires: superseded is not revoked)."""
    history = entry.setdefault("certificates", {})
    for item in history.values():
        if item["state"] == "active":
            item["state"] = "superseded"
            item["superseded_at"] = now
    history[str(cert.serial_number)] = {
        "state": "active", "issued_at": now, "not_after": cert.not_valid_after_utc.timestamp()}
    entry["serial"] = str(cert.serial_number)
    entry["expires_at"] = cert.not_valid_after_utc.timestamp()


def revoke(fleet: Fleet, kiosk_id: str, *, now: float | None = None) -> None:
    registry = fleet.registry()
    entry = registry["kiosks"].get(kiosk_id)
    if entry is None:
        raise ProvisioningError(f"kiosk {kiosk_id!r} is not enrolled in this fleet")
    when = now if now is not None else time.time()
    if entry["state"] != "revoked":
        entry["state"] = "revoked"
        # every certificate of the kiosk still valid: the current one and those superseded
        # (a thief holds the kiosk's outbox and could replay what they signed)
        live = {s for s, c in entry.get("certificates", {}).items() if c["not_after"] > when}
        for serial in live:
            entry["certificates"][serial]["state"] = "revoked"
        entry["revoked_serials"] = sorted(set(entry["revoked_serials"]) | {entry["serial"]} | live)
        entry["revoked_at"] = when
        fleet.save_registry(registry)
    write_atomic(fleet.path("crl.pem"), _crl_pem(fleet.issuer(), fleet.issuer_key(),
                                                  sorted(revoked_serials(registry)),
                                                  dt.datetime.fromtimestamp(when, dt.UTC)))


def revoked_serials(registry: dict) -> frozenset[int]:
    return frozenset(int(s) for e in registry["kiosks"].values() for s in e["revoked_serials"])


def kiosk_sites(root: str | Path) -> dict[str, tuple[str, str]]:
    """kiosk id -> (office, kecamatan) as given at signing (kiosks signed without: absent)."""
    return {kid: (str(e.get("office") or ""), str(e.get("kecamatan") or ""))
            for kid, e in open_fleet(root).registry()["kiosks"].items()
            if e.get("office") or e.get("kecamatan")}


def load_trust(root: str | Path) -> FleetTrust:
    """What the central service and technicians verify packets against."""
    fleet = open_fleet(root)
    registry = fleet.registry()
    crl = x509.load_pem_x509_crl(read_bytes(fleet.path("crl.pem"), "CRL"))
    serials = revoked_serials(registry) | {r.serial_number for r in crl}
    kiosks = {kid: e["state"] for kid, e in registry["kiosks"].items()}
    issuers = (fleet.issuer(),) if fleet.has_issuing_ca else ()
    return FleetTrust(ca_certificate=fleet.ca(), revoked_serials=frozenset(serials), kiosks=kiosks,
                      issuers=issuers)


def load_gateway_key(root: str | Path) -> GatewayPrivateKey:
    fleet = open_fleet(root)
    return load_gateway_private(read_bytes(fleet.path("gateway.key"), "gateway private key"))


def centre_tls(root: str | Path, name: str = CENTRE_ID, role: Role | None = None) -> TlsFiles:
    """The TLS files of the centre identity `name` (checked to have `role` if given)."""
    return centres.find(open_fleet(root).root, name, role).tls


def add_centre_identity(fleet: Fleet, name: str, role: Role, *, now: float | None = None) -> TlsFiles:
    """A further centre process's own certificate; regenerate the broker's ACL after."""
    if name in fleet.registry()["kiosks"]:
        raise ProvisioningError(f"{name!r} is a kiosk of this fleet")
    when = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC)
    return centres.issue(fleet.root, name, role, ca=fleet.issuer(), ca_key=fleet.issuer_key(), now=when).tls
