"""A kiosk bundle's identity changing under power cuts: stage a fresh key, install the
certificate issued for it, recover whatever a crash left half done.

The identity is two files, `device.key` and `device.pem`, which no rename replaces together.
So a renewal moves through states each of which leaves a working identity on disk:

    1. stage     renewal/pending.key (fsynced, 0600): the new key; device.* untouched. A
                 kiosk killed here re-sends the same request with the same key next time.
    2. received  renewal/pending.pem (fsynced): the certificate for it, checked first
                 (CN, key, chain to the bundle's CA, valid now); gateway.pub and issuing.pem
                 replaced if they changed (either gateway key opens packets: the gateway
                 keeps old keys while packets need them)
    3. commit    rename pending.key -> device.key, then pending.pem -> device.pem

`recover` (run by `load_bundle`) finishes a commit cut between its two renames: if
pending.pem exists, whichever key matches it (pending.key, or device.key already moved) is
installed with it. The old key is destroyed only by the rename that installs the new one.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from anjungan.packet.seal import load_gateway_public
from provisioning import x509 as px
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes, write_atomic

FOLDER = "renewal"
RENEW_FRACTION = 2 / 3  # of a kiosk certificate's life: when the kiosk renews it
ISSUING = "issuing.pem"  # the issuing CA's certificate, beside ca.pem (the root)


def _pending(root: Path, suffix: str) -> Path:
    return root / FOLDER / f"pending{suffix}"


def stage_key(root: Path) -> ed25519.Ed25519PrivateKey:
    """The renewal's new key: made once and kept until installed (a retry reuses it)."""
    path = _pending(root, ".key")
    if path.is_file():
        key = _load_key(path)
        if key is not None:
            return key
    path.parent.mkdir(mode=0o700, exist_ok=True)
    key = px.new_device_key()
    write_atomic(path, px.pem_key(key), private=True)
    _sync_dir(path.parent)
    return key


def renewing(root: Path) -> bool:
    """Is a renewal under way (a staged key on disk)? One stat: asked on every kiosk loop."""
    return _pending(root, ".key").is_file()


def pending_key(root: Path) -> ed25519.Ed25519PrivateKey | None:
    path = _pending(root, ".key")
    return _load_key(path) if path.is_file() else None


def install(root: Path, *, kiosk_id: str, certificate: bytes, chain: bytes, gateway_key: bytes,
            now: float) -> x509.Certificate:
    """Check the issued certificate against the staged key and the bundle's CA, then make it
    (and the gateway key) the bundle's. ProvisioningError, nothing changed, if it does not fit."""
    key = pending_key(root)
    if key is None:
        raise ProvisioningError("no renewal in progress (no staged key)")
    try:
        cert = x509.load_pem_x509_certificate(certificate)
        issuer = x509.load_pem_x509_certificate(chain) if chain else None
    except ValueError:
        raise ProvisioningError("the issued certificate is not PEM X.509") from None
    _check(cert, issuer, key, kiosk_id=kiosk_id, ca_pem=read_bytes(root / "ca.pem", "fleet CA"), now=now)
    if gateway_key:
        load_gateway_public(gateway_key)  # refuses anything but a gateway key
    write_atomic(_pending(root, ".pem"), certificate)
    if issuer is not None and _differs(root / ISSUING, chain):
        write_atomic(root / ISSUING, chain)
    if gateway_key and _differs(root / "gateway.pub", gateway_key):
        write_atomic(root / "gateway.pub", gateway_key)
    _commit(root, renamed_key=True)
    return cert


def recover(root: Path) -> str:
    """Finish or drop a renewal a crash interrupted; says what it did ('' if nothing)."""
    pem = _pending(root, ".pem")
    if not pem.is_file():
        return ""
    try:
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
    except ValueError:
        pem.unlink()
        return "dropped a damaged pending certificate"
    staged = pending_key(root)
    if staged is not None and _same(cert, staged):
        _commit(root, renamed_key=True)
        return "installed the renewed key and certificate"
    current = _load_key(root / "device.key")
    if current is not None and _same(cert, current):
        _commit(root, renamed_key=False)
        return "installed the renewed certificate (its key was already in place)"
    pem.unlink()
    return "dropped a pending certificate that matches no key"


def _commit(root: Path, *, renamed_key: bool) -> None:
    if renamed_key:
        os.replace(_pending(root, ".key"), root / "device.key")
    os.replace(_pending(root, ".pem"), root / "device.pem")
    _sync_dir(root)


def _check(cert: x509.Certificate, issuer: x509.Certificate | None, key: ed25519.Ed25519PrivateKey, *,
           kiosk_id: str, ca_pem: bytes, now: float) -> None:
    if not _same(cert, key):
        raise ProvisioningError("the issued certificate is not for the staged key")
    names = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    if not names or names[0].value != kiosk_id:
        raise ProvisioningError("the issued certificate names another kiosk")
    try:
        root = x509.load_pem_x509_certificate(ca_pem)
        if issuer is not None:
            issuer.verify_directly_issued_by(root)
            cert.verify_directly_issued_by(issuer)
        else:
            cert.verify_directly_issued_by(root)
    except Exception:  # noqa: BLE001 - cryptography raises several types for a bad chain
        raise ProvisioningError("the issued certificate does not chain to the fleet CA") from None
    if not cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp():
        raise ProvisioningError("the issued certificate is not valid now")


def _same(cert: x509.Certificate, key: ed25519.Ed25519PrivateKey) -> bool:
    fmt = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    held = cert.public_key()
    return isinstance(held, ed25519.Ed25519PublicKey) and held.public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def _load_key(path: Path) -> ed25519.Ed25519PrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    except (OSError, ValueError):
        return None
    return key if isinstance(key, ed25519.Ed25519PrivateKey) else None


def _differs(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() != data
    except FileNotFoundError:
        return True


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
