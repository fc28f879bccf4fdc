"""`anjungan fleet ...`: run the fleet monitor and dashboard, add staff, show fleet status.

Registered by entrypoints.cli; `anjungan bench fleet` is the load test (broker.fleet.bench).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
import time
from pathlib import Path

from anjungan import logs
from broker.fleet.errors import FleetConfigError, ServiceNotFound
from broker.paths import fleet_store_url
from provisioning.centres import FLEET_MONITOR_ID


def _db_url(args: argparse.Namespace) -> str:
    """The fleet store: --db, else the one `broker run --fleet DIR [--db QUEUE]` uses
    (`broker.paths`: DIR/stores.json, else the default), running or not."""
    if args.db:
        return str(args.db)
    if getattr(args, "fleet", None):
        return fleet_store_url(args.fleet, getattr(args, "queue", None) or "")
    raise FleetConfigError("give --db URL or --fleet DIR (the store `broker run --fleet DIR` uses)")


def _operator_store(args: argparse.Namespace) -> str:
    """For add-staff and set-site: `_db_url`, checked against the store this fleet's running
    service named in its runtime file (one started with another --fleet-db by hand)."""
    from broker.fleet.runtime import discover, fleet_key

    url = _db_url(args)
    if not args.db and args.fleet:
        try:
            found = discover(fleet_key(args.fleet))
        except (ServiceNotFound, FleetConfigError):
            return url
        if found.store and found.store != url:
            raise FleetConfigError(f"the running service of this fleet uses {found.store}, not {url} "
                                   f"({args.fleet}/stores.json); give --db {found.store}")
    return url


def _serve(args: argparse.Namespace) -> int:
    from broker.fleet.dashboard.edge import http_options
    from broker.fleet.server import ServeConfig, fleet_registry, fleet_sites, load_config, serve

    logs.configure(logging.INFO if args.verbose else logging.WARNING, sys.stderr)
    tls, mqtt_url, registry, sites = None, args.mqtt, None, None
    if args.fleet:
        from provisioning.centres import Role
        from provisioning.errors import ProvisioningError
        from provisioning.fleet import centre_tls, open_fleet

        try:
            fleet = open_fleet(args.fleet)
            tls = centre_tls(args.fleet, args.identity, Role.FLEET)
            broker = fleet.settings["broker"]
            registry = fleet_registry(args.fleet)
            sites = fleet_sites(args.fleet)
        except ProvisioningError as exc:
            raise FleetConfigError(str(exc)) from None
        mqtt_url = mqtt_url or f"mqtts://{broker['host']}:{broker['port']}"
    if not mqtt_url:
        raise FleetConfigError("give --fleet DIR (TLS to the fleet's broker) or --mqtt URL")
    host, _, port = args.http.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise FleetConfigError(f"--http must be HOST:PORT, not {args.http!r}")
    settings, staff = load_config(args.config)
    cfg = ServeConfig(store_url=_db_url(args), mqtt_url=mqtt_url, http_host=host.strip("[]"),
                      http_port=int(port), tls=tls, client_id=args.identity, settings=settings,
                      staff=staff, queue_url=args.queue or "",
                      captures=not (args.no_captures or args.fleet),
                      http=http_options(args), registry=registry, sites=sites,
                      fleet_dir=Path(args.fleet) if args.fleet else None)
    return serve(cfg, on_ready=lambda url: print(f"fleet dashboard: {url}", flush=True))


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise FleetConfigError("the passwords differ")
    return first


def _add_staff(args: argparse.Namespace) -> int:
    from broker.fleet.dashboard.auth import check_username, hash_password
    from broker.fleet.store import open_store

    username = check_username(args.username)
    hashed = hash_password(_read_password(args))
    if args.print_hash:
        print(json.dumps({"username": username, "password_hash": hashed}))
        return 0
    url = _operator_store(args)
    store = open_store(url)
    try:
        store.set_staff(username, hashed, at=time.time())
    finally:
        store.close()
    print(f"staff user {username} saved in {url}")
    return 0


def _set_site(args: argparse.Namespace) -> int:
    from anjungan.topics import TopicError, check_kiosk_id
    from broker.fleet.store import Site, open_store

    try:
        kiosk_id = check_kiosk_id(args.kiosk_id)
    except TopicError as exc:
        raise FleetConfigError(str(exc)) from None
    url = _operator_store(args)
    store = open_store(url)
    try:
        store.set_site(Site(kiosk_id=kiosk_id, office=args.office, kecamatan=args.kecamatan))
    finally:
        store.close()
    print(f"kiosk {kiosk_id}: office {args.office!r}, kecamatan {args.kecamatan!r} saved in {url}"
          " (the running service shows it within a minute)")
    return 0


def _status(args: argparse.Namespace) -> int:
    from broker.fleet.client import fetch_fleet, render_status
    from broker.fleet.runtime import discover, fleet_key

    key = fleet_key(args.fleet) if args.fleet else ""
    if args.url:
        url, token = args.url, args.token or ""
        if not token:
            try:
                found = discover(key)
                token = found.token if found.url.rstrip("/") == url.rstrip("/") else ""
            except ServiceNotFound:
                token = ""
    else:
        found = discover(key)
        url, token = found.url, args.token or found.token
    data = fetch_fleet(url, token, cacert=args.cacert or "")
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(render_status(data, now=time.time()))
    return 0


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fleet", help="the folder `broker run --fleet` is given: its fleet store")
    p.add_argument("--queue", help="the queue URL `broker run --db` is given (the store sits beside a SQLite queue)")
    p.add_argument("--db", help="fleet store URL (what `broker run --fleet-db` is given)")


def register(sub: argparse._SubParsersAction) -> None:
    from anjungan.commands import help_for
    from broker.fleet.dashboard.edge import add_http_args

    p = sub.add_parser("fleet", help="fleet health: monitor, staff dashboard, status")
    fs = p.add_subparsers(dest="fleet_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=help_for(p))

    s = fs.add_parser("serve", help="run the fleet monitor and the staff dashboard")
    s.add_argument("--fleet", help="fleet folder: the fleet monitor's TLS identity and the broker address")
    s.add_argument("--identity", default=FLEET_MONITOR_ID,
                   help="its centre identity with --fleet (each monitor its own; role fleet)")
    s.add_argument("--db", help="fleet store URL (sqlite:///path or postgresql://...?schema=NAME)")
    s.add_argument("--mqtt", help="broker URL (mqtts://HOST:PORT; mqtt:// for a plain test broker)")
    s.add_argument("--http", default="127.0.0.1:8080", help="dashboard address HOST:PORT (port 0: any)")
    add_http_args(s)
    s.add_argument("--config", help="JSON file: alert thresholds, history/retention, staff")
    s.add_argument("--queue", help="relay queue URL, to plot the backlog (broker.queue URL); with --fleet "
                   "and no --db, the store is the one `broker run --fleet DIR --db QUEUE` uses")
    s.add_argument("--no-captures", action="store_true",
                   help="do not count capture packets (never with --fleet: its identity may not read them)")
    s.add_argument("-v", "--verbose", action="store_true", help="log every alert and sign-in")
    s.set_defaults(func=_serve)

    a = fs.add_parser("add-staff", help="create a staff user (or change their password)")
    a.add_argument("username")
    _store_args(a)
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    a.add_argument("--print-hash", action="store_true", help="print a config-file staff entry instead")
    a.set_defaults(func=_add_staff)

    t = fs.add_parser("set-site", help="record a kiosk's office and kecamatan")
    t.add_argument("kiosk_id")
    t.add_argument("--office", required=True)
    t.add_argument("--kecamatan", required=True)
    _store_args(t)
    t.set_defaults(func=_set_site)

    st = fs.add_parser("status", help="every kiosk's state and open alerts, from a running service")
    st.add_argument("--fleet", help="the folder the service was given (--fleet): find that fleet's service "
                    "when several run on this host")
    st.add_argument("--url", help="the service's URL (default: the local running service)")
    st.add_argument("--token", help="API token (default: the one the local service wrote)")
    st.add_argument("--json", action="store_true", help="print JSON: {kiosks: [...], ...}")
    st.add_argument("--cacert", help="PEM: the CA of an HTTPS dashboard's certificate (default: system's)")
    st.set_defaults(func=_status)


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    b = bench_sub.add_parser("fleet", help="load test: many simulated kiosks' health to one service")
    b.add_argument("--kiosks", type=int, default=10_000)
    b.add_argument("--interval", type=float, default=30.0, help="seconds between a kiosk's health")
    b.add_argument("--duration", type=float, default=90.0, help="seconds of steady load")
    b.add_argument("--publishers", type=int, default=4, help="MQTT connections sharing the kiosks")
    b.add_argument("--offline-probes", type=int, default=5, help="kiosks taken offline to time the lag")
    b.add_argument("--db", help="fleet store URL (default: a temporary SQLite file)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    from broker.fleet.bench import BenchConfig, run_bench

    if args.kiosks < 1 or args.interval <= 0 or args.duration <= 0 or args.publishers < 1:
        raise FleetConfigError("--kiosks, --interval, --duration and --publishers must be positive")
    result = run_bench(BenchConfig(kiosks=args.kiosks, interval_s=args.interval,
                                   duration_s=args.duration, publishers=args.publishers,
                                   offline_probes=args.offline_probes, store_url=args.db or ""))
    print(json.dumps(result, indent=2) if args.json else result["summary"])
    return 0
