"""The technician's fleet folder: CA, broker and centre identities, gateway keys, registry.

Layout of a fleet folder (private keys 0600):

    fleet.json       name, HPKE suite, broker host/port, created_at
    ca.pem ca.key    fleet CA (ECDSA P-256)
    broker.pem/.key  Mosquitto's TLS server certificate
    centre.pem/.key  the central ingest's MQTT client identity (CN = CENTRE_ID)
    centres/         every other centre identity, e.g. the fleet monitor's (`provisioning.centres`)
    gateway.key/.pub the SIAK gateway's HPKE key pair (only the gateway needs gateway.key)
    registry.json    enrolled kiosks: serial, state (active | revoked), times
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
from cryptography.hazmat.primitives.asymmetric import ec

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
from provisioning.centres import CENTRE_ID, FLEET_MONITOR_ID, Role, TlsFiles
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes, read_json, write_atomic, write_json

DEFAULT_BROKER_PORT = 8883


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
        key = serialization.load_pem_private_key(read_bytes(self.path("ca.key"), "CA key"), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ProvisioningError("fleet CA key has the wrong type")
        return key

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
    now: float | None = None,
) -> Fleet:
    root = Path(root)
    if (root / "fleet.json").exists():
        raise ProvisioningError(f"a fleet already exists in {root}")
    root.mkdir(parents=True, exist_ok=True)
    (root / "kiosks").mkdir(exist_ok=True)
    when = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC)
    ca_key = px.new_ec_key()
    ca = px.make_ca(ca_key, fleet_name=name, now=when)
    write_atomic(root / "ca.key", px.pem_key(ca_key), private=True)
    write_atomic(root / "ca.pem", px.pem_cert(ca))
    names = tuple(dict.fromkeys((*server_names, broker_host)))
    key = px.new_ec_key()
    cert = px.issue(ca=ca, ca_key=ca_key, common_name="anjungan-broker", unit="broker",
                    public_key=key.public_key(), server_names=names, client=False, now=when)  # fmt: skip
    write_atomic(root / "broker.key", px.pem_key(key), private=True)
    write_atomic(root / "broker.pem", px.pem_cert(cert))
    for centre, role in ((CENTRE_ID, Role.INGEST), (FLEET_MONITOR_ID, Role.FLEET)):
        centres.issue(root, centre, role, ca=ca, ca_key=ca_key, now=when)
    suite = POST_QUANTUM_SUITE if post_quantum else DEFAULT_SUITE
    parts = generate_gateway_parts(suite)
    write_atomic(root / "gateway.key", dump_gateway_private(parts), private=True)
    write_atomic(root / "gateway.pub", dump_gateway_public(parts))
    write_atomic(root / "crl.pem", _crl_pem(ca, ca_key, [], when))
    write_json(root / "registry.json", {"kiosks": {}})
    write_json(root / "fleet.json", {
        "name": name, "suite": suite, "created_at": when.timestamp(),
        "broker": {"host": broker_host, "port": broker_port},
    })  # fmt: skip
    return Fleet(root)


def _crl_pem(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, revoked: list[int],
             when: dt.datetime) -> bytes:  # fmt: skip
    crl = px.make_crl(ca=ca, ca_key=ca_key, revoked=revoked, now=when)
    return crl.public_bytes(serialization.Encoding.PEM)


def sign_csr(fleet: Fleet, csr_pem: bytes, *, now: float | None = None, office: str = "",
             kecamatan: str = "") -> tuple[str, bytes]:  # fmt: skip
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
    if entry and entry["state"] == "active":
        raise ProvisioningError(f"kiosk {kiosk_id} is already enrolled; revoke it first")
    when = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC)
    pub = csr.public_key()
    cert = px.issue(ca=fleet.ca(), ca_key=fleet.ca_key(), common_name=kiosk_id, unit="kiosk",
                    public_key=pub, client=True, now=when)  # type: ignore[arg-type]  # fmt: skip
    pem = px.pem_cert(cert)
    write_atomic(fleet.path(f"kiosks/{kiosk_id}.pem"), pem)
    previous = entry["revoked_serials"] if entry else []
    registry["kiosks"][kiosk_id] = {
        "serial": str(cert.serial_number), "state": "active", "enrolled_at": when.timestamp(),
        "expires_at": cert.not_valid_after_utc.timestamp(), "revoked_serials": previous,
        "office": office, "kecamatan": kecamatan,
    }  # fmt: skip
    fleet.save_registry(registry)
    return kiosk_id, pem


def revoke(fleet: Fleet, kiosk_id: str, *, now: float | None = None) -> None:
    registry = fleet.registry()
    entry = registry["kiosks"].get(kiosk_id)
    if entry is None:
        raise ProvisioningError(f"kiosk {kiosk_id!r} is not enrolled in this fleet")
    if entry["state"] != "revoked":
        entry["state"] = "revoked"
        entry["revoked_serials"] = sorted(set(entry["revoked_serials"]) | {entry["serial"]})
        entry["revoked_at"] = now if now is not None else time.time()
        fleet.save_registry(registry)
    when = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC)
    write_atomic(fleet.path("crl.pem"), _crl_pem(fleet.ca(), fleet.ca_key(),
                                                  sorted(revoked_serials(registry)), when))


def revoked_serials(registry: dict) -> frozenset[int]:
    return frozenset(int(s) for e in registry["kiosks"].values() for s in e["revoked_serials"])


def kiosk_sites(root: str | Path) -> dict[str, tuple[str, str]]:
    """kiosk id -> (office, kecamatan) as given at signing (kiosks signed without: absent)."""
    return {kid: (str(e.get("office") or ""), str(e.get("kecamatan") or ""))
            for kid, e in open_fleet(root).registry()["kiosks"].items()
            if e.get("office") or e.get("kecamatan")}  # fmt: skip


def load_trust(root: str | Path) -> FleetTrust:
    """What the central service and technicians verify packets against."""
    fleet = open_fleet(root)
    registry = fleet.registry()
    crl = x509.load_pem_x509_crl(read_bytes(fleet.path("crl.pem"), "CRL"))
    serials = revoked_serials(registry) | {r.serial_number for r in crl}
    kiosks = {kid: e["state"] for kid, e in registry["kiosks"].items()}
    return FleetTrust(ca_certificate=fleet.ca(), revoked_serials=frozenset(serials), kiosks=kiosks)


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
    return centres.issue(fleet.root, name, role, ca=fleet.ca(), ca_key=fleet.ca_key(), now=when).tls
