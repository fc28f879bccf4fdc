"""`anjungan provision ...`: the technician's commands for fleet trust."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from pathlib import Path

from anjungan.commands import help_for, port_number
from anjungan.errors import UsageError
from provisioning import bundle as kb
from provisioning.centre_folder import export_centre, sync_centre
from provisioning.centres import Role
from provisioning.crl import fleet_lock
from provisioning.errors import ProvisioningError
from provisioning.fleet import add_centre_identity, init_fleet, open_fleet, revoke
from provisioning.gateway_keys import rotate
from provisioning.mosquitto import service_user, write_config
from provisioning.nats_cli import register_nats
from provisioning.signer_cli import register_signer
from provisioning.trust_cli import broker_args, pushed, register_trust
from provisioning.x509 import KIOSK_DAYS


def register(sub: argparse._SubParsersAction) -> None:
    grp = sub.add_parser("provision", help="fleet CA, kiosk enrollment, revocation, broker config")
    p = grp.add_subparsers(dest="provision_cmd", metavar="ACTION")
    grp.set_defaults(func=help_for(grp))

    c = p.add_parser("init-fleet", help="create a fleet: CA, broker and centre certificates, "
                     "SIAK gateway HPKE keys")
    c.add_argument("dir", help="new fleet folder")
    c.add_argument("--post-quantum", action="store_true",
                   help="seal bodies with the ML-KEM-768+X25519 hybrid HPKE suite")
    c.add_argument("--name", default="anjungan", help="fleet name (in the CA's subject)")
    c.add_argument("--broker-host", default="127.0.0.1", help="broker address kiosks dial")
    c.add_argument("--broker-port", type=port_number, default=8883, help="broker TLS port")
    c.add_argument("--kiosk-days", type=int, default=KIOSK_DAYS, metavar="N",
                   help=f"lifetime of kiosk certificates, renewed at 2/3 (default {KIOSK_DAYS})")
    c.set_defaults(func=run_init)

    r = p.add_parser("request", help="on the kiosk: make the device key and a CSR")
    r.add_argument("bundle", help="the kiosk's bundle folder")
    r.add_argument("--kiosk-id", required=True, help="kiosk id, e.g. dps-selatan-01")
    r.set_defaults(func=run_request)

    s = p.add_parser("sign", help="technician: sign a kiosk's CSR and complete its bundle")
    s.add_argument("dir", help="fleet folder")
    s.add_argument("bundle", help="bundle folder holding device.csr")
    s.add_argument("--office", default="", help="the office the kiosk serves (shown on the dashboard)")
    s.add_argument("--kecamatan", default="", help="the kecamatan it serves (shown on the dashboard)")
    s.set_defaults(func=run_sign)

    e = p.add_parser("enroll", help="bench set-up: request and sign in one step")
    e.add_argument("dir", help="fleet folder")
    e.add_argument("--kiosk-id", required=True, help="kiosk id")
    e.add_argument("--out", required=True, help="bundle folder to create")
    e.add_argument("--office", default="", help="the office the kiosk serves (shown on the dashboard)")
    e.add_argument("--kecamatan", default="", help="the kecamatan it serves (shown on the dashboard)")
    e.set_defaults(func=run_enroll)

    v = p.add_parser("revoke", help="revoke a kiosk: registry and CRL (optionally pushed to the broker)")
    v.add_argument("dir", help="fleet folder")
    v.add_argument("--kiosk-id", required=True, help="kiosk id")
    broker_args(v, "then copy the CRL and ACL into this Mosquitto config folder")
    v.set_defaults(func=run_revoke)

    lst = p.add_parser("list", help="list enrolled kiosks")
    lst.add_argument("dir", help="fleet folder")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=run_list)

    m = p.add_parser("mosquitto", help="write a Mosquitto config for the fleet (TLS, CRL, ACLs)")
    m.add_argument("dir", help="fleet folder")
    m.add_argument("--out", required=True, help="folder for mosquitto.conf, acl and TLS files")
    m.add_argument("--port", type=port_number, default=None, help="listener port (default: fleet's)")
    m.add_argument("--bind", default="127.0.0.1", help="listener address")
    m.add_argument("--run-as", default=None,
                   help="user mosquitto drops to when started as root (default: you; as root, "
                   "the mosquitto system user; never root)")
    m.add_argument("--pid-file", default="", metavar="FILE",
                   help="Mosquitto writes its pid here (the signer's and CRL keeper's "
                   "--broker-pid-file; /run/mosquitto/mosquitto.pid on Debian)")
    m.set_defaults(func=run_mosquitto)
    register_trust(p)
    register_signer(p)
    register_nats(p)

    ci = p.add_parser("centre-identity", help="a certificate and MQTT name for one more centre "
                      "process (a second `broker run`, a fleet monitor)")
    ci.add_argument("dir", help="fleet folder")
    ci.add_argument("--name", required=True, help="its MQTT name (certificate CN), e.g. anjungan-centre-2")
    ci.add_argument("--role", choices=[r.value for r in Role], default=Role.INGEST.value,
                    help="ingest (`broker run`), fleet (the fleet monitor) or signer (`provision signer`); default ingest")
    ci.set_defaults(func=run_centre_identity)

    g = p.add_parser("rotate-gateway-key", help="make a new SIAK gateway HPKE key; kiosks get it with "
                     "their next renewal, the old one is kept until no packet needs it")
    g.add_argument("dir", help="fleet folder")
    g.add_argument("--centre-dir", metavar="DIR", default="",
                   help="also copy the new key into the central service's folder (provision centre-folder)")
    g.set_defaults(func=run_rotate_gateway_key)

    cf = p.add_parser("centre-folder", help="make or refresh the central service's own folder: "
                      "what it needs from the fleet, never the CA key")
    cf.add_argument("dir", help="fleet folder")
    cf.add_argument("--out", required=True, help="the centre's folder (give it to `broker run --fleet`)")
    cf.set_defaults(func=run_centre_folder)


def run_init(args: argparse.Namespace) -> int:
    fleet = init_fleet(args.dir, name=args.name, post_quantum=args.post_quantum,
                       broker_host=args.broker_host, broker_port=args.broker_port,
                       kiosk_days=args.kiosk_days)
    print(f"fleet created in {fleet.root}: root CA, issuing CA, broker certificate, centre identities "
          f"(ingest, fleet monitor, signer), gateway HPKE keys ({fleet.suite}); kiosk certificates "
          f"last {args.kiosk_days} days")
    return 0


def run_request(args: argparse.Namespace) -> int:
    csr = kb.request(args.bundle, args.kiosk_id)
    print(f"device key made in {args.bundle}; give {csr} to the technician to sign")
    return 0


def run_sign(args: argparse.Namespace) -> int:
    kiosk_id = kb.complete(open_fleet(args.dir), args.bundle, office=args.office, kecamatan=args.kecamatan)
    print(f"kiosk {kiosk_id} certified; bundle {args.bundle} is complete")
    return 0


def run_enroll(args: argparse.Namespace) -> int:
    fleet = open_fleet(args.dir)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise ProvisioningError(f"{out} exists and is not empty")
    kb.request(out, args.kiosk_id)
    try:
        kb.complete(fleet, out, office=args.office, kecamatan=args.kecamatan)
    except Exception:
        shutil.rmtree(out, ignore_errors=True)  # never leave a half-made bundle behind
        raise
    print(f"kiosk {args.kiosk_id} enrolled; bundle in {out}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    fleet = open_fleet(args.dir)
    with fleet_lock(fleet):
        revoke(fleet, args.kiosk_id)
    print(f"kiosk {args.kiosk_id} revoked; CRL updated")
    print(pushed(fleet, args))
    return 0


def run_list(args: argparse.Namespace) -> int:
    kiosks = open_fleet(args.dir).registry()["kiosks"]
    rows = [{"kiosk_id": k, "state": e["state"],
             "enrolled_at": dt.datetime.fromtimestamp(e["enrolled_at"], dt.UTC).isoformat(),
             "expires_at": dt.datetime.fromtimestamp(e["expires_at"], dt.UTC).isoformat()}
            for k, e in sorted(kiosks.items())]
    if args.json:
        print(json.dumps({"kiosks": rows}))
    else:
        for row in rows:
            print(f"{row['kiosk_id']:24} {row['state']:8} expires {row['expires_at'][:10]}")
        if not rows:
            print("no kiosks enrolled")
    return 0


def run_mosquitto(args: argparse.Namespace) -> int:
    if args.pid_file and (not args.pid_file.startswith("/") or not args.pid_file.isprintable()
                          or any(c.isspace() for c in args.pid_file) or len(args.pid_file) > 255):
        raise UsageError(f"--pid-file must be an absolute path without spaces, not {args.pid_file[:60]!r}")
    conf = write_config(open_fleet(args.dir), args.out, port=args.port, bind=args.bind,
                        run_as=service_user(args.run_as, args.out), pid_file=args.pid_file)
    print(f"wrote {conf}; start with: mosquitto -c {conf}")
    return 0


def run_centre_identity(args: argparse.Namespace) -> int:
    tls = add_centre_identity(open_fleet(args.dir), args.name, Role(args.role))
    print(f"centre identity {args.name} ({args.role}): {tls.cert_file}; regenerate the broker "
          "config (provision mosquitto) and reload Mosquitto so its ACL applies")
    return 0


def run_rotate_gateway_key(args: argparse.Namespace) -> int:
    old, new = rotate(open_fleet(args.dir))
    print(f"gateway key {new} made; {old} retired and kept until no packet needs it "
          "(anjungan broker retire-gateway-keys)")
    if args.centre_dir:
        print(sync_centre(args.dir, args.centre_dir))
    return 0


def run_centre_folder(args: argparse.Namespace) -> int:
    changed = export_centre(open_fleet(args.dir), args.out)
    print(f"centre folder {args.out}: " + (", ".join(changed) + " written" if changed else "already current"))
    return 0
