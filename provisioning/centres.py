"""Centre identities: every centre process has a certificate and an MQTT name of its own.

The broker takes a client's user name from its certificate's CN and its client id from
that user name (`use_identity_as_username`, `use_username_as_clientid`), so a name is
bound to a certificate: nobody can take over another client's id, and two processes
sharing one certificate would throw each other off. Hence one identity per process, each
with a role written in its certificate (OU) and granted exactly what it needs in the ACL:

    ingest  `broker run` (each instance its own): reads capture, query; writes ack
    fleet   the fleet monitor (`fleet serve`, the fleet part of `broker run --http`):
            reads status, health, feedback, help; writes ack
    signer  the signing service (`provision signer`), which holds the issuing CA's key:
            reads renew; writes renewed (`provisioning.signer`)

`init-fleet` makes the defaults, CENTRE_ID (ingest), FLEET_MONITOR_ID (fleet) and SIGNER_ID
(signer);
`provision centre-identity` makes more. Files, in the fleet folder (keys 0600):

    centre.pem/.key         CENTRE_ID (the name fleets have always had)
    centres/NAME.pem/.key   every other identity
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from anjungan.ids import KIOSK_ID_RE
from anjungan.topics import TopicKind
from provisioning import x509 as px
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes, write_atomic

CENTRE_ID = "anjungan-centre"
FLEET_MONITOR_ID = "anjungan-fleet"
SIGNER_ID = "anjungan-signer"
FOLDER = "centres"


class Role(enum.Enum):
    INGEST = "ingest"
    FLEET = "fleet"
    SIGNER = "signer"

    @property
    def unit(self) -> str:
        """The certificate's OU: the role as the CA signed it."""
        return _UNITS[self]

    @property
    def reads(self) -> tuple[TopicKind, ...]:
        """Topic kinds this role reads, for every kiosk."""
        return _READS[self]

    @property
    def writes(self) -> tuple[TopicKind, ...]:
        return (TopicKind.RENEWED,) if self is Role.SIGNER else (TopicKind.ACK,)


_UNITS = {Role.INGEST: "central service", Role.FLEET: "fleet monitor", Role.SIGNER: "signing service"}
_READS = {Role.INGEST: (TopicKind.CAPTURE, TopicKind.QUERY),
          Role.FLEET: (TopicKind.STATUS, TopicKind.HEALTH, TopicKind.FEEDBACK, TopicKind.HELP),
          Role.SIGNER: (TopicKind.RENEW,)}
DEFAULTS = ((CENTRE_ID, Role.INGEST), (FLEET_MONITOR_ID, Role.FLEET), (SIGNER_ID, Role.SIGNER))
_ROLE_OF_UNIT = {unit: role for role, unit in _UNITS.items()}


@dataclass(frozen=True, kw_only=True)
class TlsFiles:
    ca_file: str
    cert_file: str
    key_file: str


@dataclass(frozen=True, kw_only=True)
class CentreIdentity:
    name: str  # the certificate's CN: MQTT user name and client id
    role: Role
    tls: TlsFiles


def _stem(root: Path, name: str) -> Path:
    return root / "centre" if name == CENTRE_ID else root / FOLDER / name


def check_name(name: str) -> str:
    """Centre names follow the kiosk id rules: they appear in the ACL and in file names."""
    if not isinstance(name, str) or not KIOSK_ID_RE.match(name):
        raise ProvisioningError(f"invalid centre identity name {name!r}: use 2-63 lowercase "
                                "letters, digits or '-'")
    return name


def is_reserved(root: Path, name: str) -> bool:
    """A name a kiosk may not take: a default centre name or an existing identity."""
    return name in (CENTRE_ID, FLEET_MONITOR_ID, SIGNER_ID) or _stem(root, name).with_suffix(".pem").exists()


def issue(root: Path, name: str, role: Role, *, ca: x509.Certificate,
          ca_key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> CentreIdentity:
    """Make a key and a client certificate (CN = name, OU = role) under the fleet folder."""
    check_name(name)
    stem = _stem(root, name)
    if stem.with_suffix(".pem").exists():
        raise ProvisioningError(f"centre identity {name!r} already exists")
    stem.parent.mkdir(exist_ok=True)
    key = px.new_ec_key()
    cert = px.issue(ca=ca, ca_key=ca_key, common_name=name, unit=role.unit,
                    public_key=key.public_key(), client=True, now=now)
    write_atomic(stem.with_suffix(".key"), px.pem_key(key), private=True)
    write_atomic(stem.with_suffix(".pem"), px.pem_cert(cert))
    return _identity(root, stem)


def _identity(root: Path, stem: Path) -> CentreIdentity:
    pem = stem.with_suffix(".pem")
    cert = x509.load_pem_x509_certificate(read_bytes(pem, "centre certificate"))
    name = _attribute(cert, NameOID.COMMON_NAME)
    unit = _attribute(cert, NameOID.ORGANIZATIONAL_UNIT_NAME)
    if unit not in _ROLE_OF_UNIT:
        raise ProvisioningError(f"{pem} is not a centre identity (OU {unit!r})")
    tls = TlsFiles(ca_file=str(root / "ca.pem"), cert_file=str(pem), key_file=str(stem.with_suffix(".key")))
    return CentreIdentity(name=name, role=_ROLE_OF_UNIT[unit], tls=tls)


def _attribute(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def identities(root: Path) -> list[CentreIdentity]:
    """Every centre identity of the fleet, by name; what the ACL is generated from."""
    stems = [root / "centre"] if (root / "centre.pem").exists() else []
    stems += sorted(p.with_suffix("") for p in (root / FOLDER).glob("*.pem"))
    return sorted((_identity(root, s) for s in stems), key=lambda i: i.name)


def find(root: Path, name: str, role: Role | None = None) -> CentreIdentity:
    """The identity called `name`, checked to have `role` if one is asked for."""
    check_name(name)
    stem = _stem(root, name)
    if not stem.with_suffix(".pem").exists():
        made = f" --role {role.value}" if role else ""
        raise ProvisioningError(f"no centre identity {name!r} in {root}; make one with: "
                                f"anjungan provision centre-identity {root} --name {name}{made}")
    found = _identity(root, stem)
    if found.name != name:
        raise ProvisioningError(f"{stem.with_suffix('.pem')} names {found.name!r}, not {name!r}")
    if role is not None and found.role is not role:
        raise ProvisioningError(f"centre identity {name!r} has role {found.role.value}; "
                                f"this process needs role {role.value}")
    return found
