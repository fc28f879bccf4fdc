"""Pure X.509 builders for the fleet: CA, server and client certificates, CSRs, CRLs.

The fleet CA and the TLS server/centre keys are ECDSA P-256 (every TLS stack speaks it).
Kiosk device keys are Ed25519: the same key signs capture packets and authenticates the
kiosk's TLS connection. Time is passed in.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioning.errors import ProvisioningError

CA_YEARS = 10
ISSUING_YEARS = 5  # the issuing CA (provisioning.issuing); re-made from the root before then
LEAF_DAYS = 2 * 365
KIOSK_DAYS = 30  # kiosk certificates from the issuing CA, renewed at 2/3 of their life
CRL_DAYS = 30  # a CRL's nextUpdate; provisioning.crl re-signs it well before then
SigningKey = ec.EllipticCurvePrivateKey


def _name(common_name: str, unit: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Anjungan e-KTP fleet"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def new_device_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def make_ca(key: SigningKey, *, fleet_name: str, now: dt.datetime, path_length: int = 0) -> x509.Certificate:
    """A self-signed root. `path_length=1` lets it sign an issuing CA (`make_issuing_ca`)."""
    name = _name(f"{fleet_name} CA", "fleet CA")
    return _ca_builder(name, name, key, now, days=365 * CA_YEARS, path_length=path_length).sign(key, hashes.SHA256())


def make_issuing_ca(*, root: x509.Certificate, root_key: SigningKey, key: SigningKey, fleet_name: str,
                    now: dt.datetime, days: int = 365 * ISSUING_YEARS) -> x509.Certificate:
    """The intermediate that signs kiosk and centre certificates and the CRL."""
    name = _name(f"{fleet_name} issuing CA", "issuing CA")
    builder = _ca_builder(name, root.subject, key, now, days=days, path_length=0)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
    return builder.sign(root_key, hashes.SHA256())


def _ca_builder(subject: x509.Name, issuer: x509.Name, key: SigningKey, now: dt.datetime, *,
                days: int, path_length: int) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def issue(
    *,
    ca: x509.Certificate,
    ca_key: SigningKey,
    common_name: str,
    unit: str,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    server_names: Iterable[str] = (),
    client: bool = True,
    now: dt.datetime,
    days: int = LEAF_DAYS,
) -> x509.Certificate:
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, unit))
        .issuer_name(ca.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca.not_valid_after_utc))  # never past its issuer
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    names: list[x509.GeneralName] = []
    for item in server_names:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(item)))
        except ValueError:
            names.append(x509.DNSName(item))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def make_csr(key: ed25519.Ed25519PrivateKey, kiosk_id: str) -> x509.CertificateSigningRequest:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(kiosk_id, "kiosk"))
        .sign(key, None)
    )


def load_csr(pem: bytes) -> tuple[x509.CertificateSigningRequest, str]:
    """Parse and check a kiosk CSR; returns it and the kiosk id it asks for."""
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError as exc:
        raise ProvisioningError("CSR is not valid PEM") from exc
    if not csr.is_signature_valid:
        raise ProvisioningError("CSR signature does not verify")
    if not isinstance(csr.public_key(), ed25519.Ed25519PublicKey):
        raise ProvisioningError("a kiosk CSR must hold an Ed25519 device key")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise ProvisioningError("CSR has no common name (kiosk id)")
    return csr, str(names[0].value)


def make_crl(
    *, ca: x509.Certificate, ca_key: SigningKey, revoked: Iterable[int], now: dt.datetime,
    days: int = CRL_DAYS, revoked_at: Mapping[int, dt.datetime] | None = None,
) -> x509.CertificateRevocationList:
    """A CRL valid `days` from `now`. `revoked_at` keeps the dates of serials already
    revoked when a CRL is re-signed; a serial not in it is dated `now`."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=days))
    )
    dates = revoked_at or {}
    for serial in sorted(set(revoked)):
        builder = builder.add_revoked_certificate(x509.RevokedCertificateBuilder()
            .serial_number(serial).revocation_date(dates.get(serial, now)).build())
    return builder.sign(ca_key, hashes.SHA256())


def pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def pem_key(key: SigningKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
