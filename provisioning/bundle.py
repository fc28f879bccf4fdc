"""The kiosk's bundle folder: everything a kiosk needs to sign, seal and connect.

    device.key   Ed25519 device key, made on the kiosk, never leaves it (0600)
    device.csr   the request the technician signs
    device.pem   the kiosk certificate (CN = kiosk id)
    ca.pem       the fleet CA (to check the broker's certificate)
    issuing.pem  the issuing CA that signs the kiosk's certificates (fleets that have one)
    gateway.pub  the SIAK gateway's HPKE public key (replaced by renewals: `provisioning.rekey`)
    renewal/     a renewal in progress: its staged key and certificate (`provisioning.rekey`)
    bundle.json  kiosk id, HPKE suite, broker host/port, office, created_at
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from anjungan.packet.seal import (
    GatewayPublicKey,
    KioskIdentity,
    gateway_key_id,
    load_gateway_public,
)
from anjungan.topics import check_kiosk_id
from provisioning import rekey
from provisioning import x509 as px
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes, read_json, write_atomic, write_json
from provisioning.fleet import Fleet, sign_csr


def request(bundle_dir: str | Path, kiosk_id: str) -> Path:
    """On the kiosk: make the device key and a CSR for it. Returns the CSR's path."""
    try:
        check_kiosk_id(kiosk_id)
    except Exception as exc:
        raise ProvisioningError(str(exc)) from None
    root = Path(bundle_dir)
    root.mkdir(parents=True, exist_ok=True)
    if (root / "device.key").exists():
        raise ProvisioningError(f"{root} already holds a device key; use a new folder")
    key = px.new_device_key()
    write_atomic(root / "device.key", px.pem_key(key), private=True)
    csr = px.make_csr(key, kiosk_id).public_bytes(serialization.Encoding.PEM)
    write_atomic(root / "device.csr", csr)
    return root / "device.csr"


def complete(fleet: Fleet, bundle_dir: str | Path, *, office: str = "", kecamatan: str = "",
             now: float | None = None) -> str:
    """The technician signs the bundle's CSR and fills in the rest. Returns the kiosk id."""
    root = Path(bundle_dir)
    kiosk_id, cert_pem = sign_csr(fleet, read_bytes(root / "device.csr", "CSR"), now=now,
                                  office=office, kecamatan=kecamatan)
    settings = fleet.settings
    write_atomic(root / "device.pem", cert_pem)
    write_atomic(root / "ca.pem", read_bytes(fleet.path("ca.pem"), "fleet CA"))
    if fleet.has_issuing_ca:
        write_atomic(root / rekey.ISSUING, read_bytes(fleet.path("issuing.pem"), "issuing CA"))
    write_atomic(root / "gateway.pub", read_bytes(fleet.path("gateway.pub"), "gateway key"))
    created = now if now is not None else time.time()
    write_json(root / "bundle.json", {
        "kiosk_id": kiosk_id, "suite": settings["suite"], "broker": settings["broker"],
        "office": office, "fleet": settings["name"], "created_at": created,
        # The centre refuses a sequence it has seen from this kiosk id. A kiosk re-enrolled
        # under its old id starts above every earlier one: at its enrollment time in ms
        # (no kiosk makes a packet a millisecond, so the old run never got this far).
        "sequence_floor": int(created * 1000),
    })
    return kiosk_id


@dataclass(frozen=True, kw_only=True)
class KioskBundle:
    root: Path
    kiosk_id: str
    identity: KioskIdentity
    gateway_public_key: GatewayPublicKey
    suite: str
    broker_host: str
    broker_port: int
    office: str
    cert_expires_at: float
    cert_valid_from: float = 0.0
    sequence_floor: int = 0
    gateway_key_id: str = ""  # `anjungan.packet.seal.gateway_key_id` of gateway.pub

    @property
    def ca_file(self) -> str:
        return str(self.root / "ca.pem")

    @property
    def cert_file(self) -> str:
        return str(self.root / "device.pem")

    @property
    def key_file(self) -> str:
        return str(self.root / "device.key")


def load_bundle(bundle_dir: str | Path) -> KioskBundle:
    root = Path(bundle_dir)
    if not (root / "bundle.json").is_file():
        raise ProvisioningError(f"not a kiosk bundle (no bundle.json): {root}")
    rekey.recover(root)  # a renewal a crash cut short: finish it or drop it
    cfg = read_json(root / "bundle.json", "bundle settings")
    try:
        key = serialization.load_pem_private_key(read_bytes(root / "device.key", "device key"), None)
        cert = x509.load_pem_x509_certificate(read_bytes(root / "device.pem", "certificate"))
        kiosk_id = check_kiosk_id(cfg["kiosk_id"])
        broker = cfg["broker"]
        host, port, suite = str(broker["host"]), int(broker["port"]), str(cfg["suite"])
        floor = int(cfg.get("sequence_floor", 0))
    except (ValueError, KeyError, TypeError) as exc:
        raise ProvisioningError(f"bundle {root} is damaged: {type(exc).__name__}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ProvisioningError("bundle device key is not Ed25519")
    gateway_pem = read_bytes(root / "gateway.pub", "gateway key")
    return KioskBundle(
        root=root,
        kiosk_id=kiosk_id,
        identity=KioskIdentity(
            kiosk_id=kiosk_id,
            private_key=key,
            certificate=cert.public_bytes(serialization.Encoding.DER),
        ),
        gateway_public_key=load_gateway_public(gateway_pem),
        gateway_key_id=gateway_key_id(gateway_pem),
        suite=suite,
        broker_host=host,
        broker_port=port,
        office=str(cfg.get("office", "")),
        cert_expires_at=cert.not_valid_after_utc.timestamp(),
        cert_valid_from=cert.not_valid_before_utc.timestamp(),
        sequence_floor=floor,
    )
