"""`anjungan provision status | refresh-crl | crl-keeper`: how long the fleet's trust lasts,
and keeping the CRL fresh on the broker. Registered by `provisioning.cli`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path

from anjungan.errors import UsageError
from provisioning.centre_folder import sync_centre
from provisioning.crl import load_crl, next_update, refresh_at, refresh_crl
from provisioning.fleet import Fleet, open_fleet
from provisioning.keeper import BrokerRef, check_conf_dir, keep, push
from provisioning.status import iso, status_json, status_lines, trust_status


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1.0 <= value <= 7 * 86400:
        raise argparse.ArgumentTypeError(f"an interval is 1-604800 seconds, not {text!r}")
    return value


def _pid(text: str) -> int:
    if not text.isdigit() or int(text) <= 1:
        raise argparse.ArgumentTypeError(f"a process id is a number above 1, not {text!r}")
    return int(text)


def broker_args(parser: argparse.ArgumentParser, conf_help: str, *, required: bool = False) -> None:
    parser.add_argument("--mosquitto-conf-dir", metavar="DIR", required=required, help=conf_help)
    parser.add_argument("--centre-dir", metavar="DIR", default="",
                        help="also refresh the central service's folder (provision centre-folder)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--broker-pid", type=_pid, metavar="PID",
                     help="then SIGHUP this mosquitto so it reloads the CRL and ACL")
    who.add_argument("--broker-pid-file", metavar="FILE",
                     help="as --broker-pid, the pid read from Mosquitto's pid_file")


def _broker(args: argparse.Namespace) -> BrokerRef | None:
    if args.broker_pid is None and args.broker_pid_file is None:
        return None
    if not args.mosquitto_conf_dir:
        raise UsageError("--broker-pid/--broker-pid-file need --mosquitto-conf-dir")
    return BrokerRef(pid=args.broker_pid,
                     pid_file=Path(args.broker_pid_file) if args.broker_pid_file else None)


def pushed(fleet: Fleet, args: argparse.Namespace) -> str:
    """Push CRL + ACL (and the centre's folder) if asked; a line saying what happened (or what
    to do)."""
    if args.centre_dir:
        print(sync_centre(fleet.root, args.centre_dir))
    broker = _broker(args)
    if not args.mosquitto_conf_dir:
        return (f"the broker still has the old CRL: anjungan provision refresh-crl {fleet.root} "
                "--if-due --mosquitto-conf-dir DIR --broker-pid-file FILE")
    if push(fleet, args.mosquitto_conf_dir, broker):
        return f"CRL and ACL copied to {args.mosquitto_conf_dir}; broker told to reload (SIGHUP)"
    if broker is None:
        return f"CRL and ACL in {args.mosquitto_conf_dir} are current; reload the broker (SIGHUP) to apply"
    return f"CRL and ACL in {args.mosquitto_conf_dir} were already current; broker not signalled"


def register_trust(p: argparse._SubParsersAction) -> None:
    st = p.add_parser("status", help="expiry and state of the CA, broker, centre and kiosk "
                      "certificates and of the CRL; exit 1 if anything has expired")
    st.add_argument("dir", help="fleet folder")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.add_argument("--mosquitto-conf-dir", metavar="DIR",
                    help="also judge the CRL copy the broker reads in this folder")
    st.set_defaults(func=run_status)

    r = p.add_parser("refresh-crl", help="re-sign the CRL (new nextUpdate), optionally only when due, "
                     "and optionally copy it to the broker and SIGHUP it")
    r.add_argument("dir", help="fleet folder")
    r.add_argument("--if-due", action="store_true",
                   help="only when fewer than 20 of its 30 days remain (for timers)")
    broker_args(r, "then copy the CRL and ACL into this Mosquitto config folder")
    r.set_defaults(func=run_refresh)

    k = p.add_parser("crl-keeper", help="run forever: refresh the CRL when due, copy it and the "
                     "ACL to the broker, SIGHUP it on any change (revocations within --interval)")
    k.add_argument("dir", help="fleet folder")
    broker_args(k, "the broker's config folder (from provision mosquitto)", required=True)
    k.add_argument("--interval", type=_interval, default=300.0, metavar="S",
                   help="seconds between rounds (default 300)")
    k.set_defaults(func=run_keeper)


def run_status(args: argparse.Namespace) -> int:
    conf = check_conf_dir(args.mosquitto_conf_dir) if args.mosquitto_conf_dir else None
    status = trust_status(open_fleet(args.dir), time.time(), broker_conf_dir=conf)
    if args.json:
        print(json.dumps(status_json(status)))
    else:
        print("\n".join(status_lines(status)))
    if status.expired:
        names = ", ".join(f"{i.kind} {i.name}" for i in status.expired)
        print(f"anjungan: error: expired: {names}", file=sys.stderr)
        return 1
    return 0


def run_refresh(args: argparse.Namespace) -> int:
    fleet = open_fleet(args.dir)
    _broker(args)  # a usage mistake is reported before anything is signed
    signed = refresh_crl(fleet, if_due=args.if_due)
    crl = load_crl(fleet)
    verb = "re-signed" if signed else "not due"
    print(f"CRL {verb}: valid until {iso(next_update(crl))}, next refresh from {iso(refresh_at(crl))}")
    if args.mosquitto_conf_dir:
        print(pushed(fleet, args))
    return 0


def run_keeper(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    fleet = open_fleet(args.dir)
    broker = _broker(args)
    check_conf_dir(args.mosquitto_conf_dir)
    print(f"CRL keeper: {fleet.root} -> {args.mosquitto_conf_dir} every {args.interval:.0f} s", flush=True)
    keep(fleet, args.mosquitto_conf_dir, broker, interval_s=args.interval, stop=threading.Event(),
         centre_dir=args.centre_dir or None)
    return 0
