"""`anjungan` subcommands of the central service (registered by entrypoints.cli).

    anjungan broker run | queue | dead-letters list|retry|purge | rejections | waits
    anjungan siak-sim
    anjungan bench ingest | drain | scale
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from anjungan import logs
from anjungan.errors import UsageError
from anjungan.sdnotify import Watchdog
from anjungan.topics import TopicKind
from broker.brokers import BrokerKind
from broker.keys_cli import register_keys
from broker.observe import NULL
from broker.paths import fleet_store_url, queue_url, sqlite_path
from broker.queue import Admission, EntryState, Envelope, PacketQueue, open_queue
from broker.relay import RelayConfig
from broker.siak import access as siak_access
from broker.siak import cli as siak_cli

if TYPE_CHECKING:
    from broker.fleet.metrics import CentreMetrics
    from broker.fleet.service import FleetService
    from broker.ingest import Inbound, Outcome
    from broker.service import CentralService
from broker.stats import waits_by_class
from provisioning.centre_folder import holds_ca_key
from provisioning.centres import CENTRE_ID, FLEET_MONITOR_ID


def register(sub: argparse._SubParsersAction) -> None:
    from broker.fleet.dashboard.edge import add_http_args

    broker = sub.add_parser("broker", help="the central service: ingest, queue, SIAK relay",
                            description="Central service and its operator commands.")
    bsub = broker.add_subparsers(dest="broker_command", metavar="COMMAND")
    broker.set_defaults(func=lambda _a: (broker.print_help(), 2)[1])

    run = bsub.add_parser("run", help="ingest from MQTT, queue durably, relay to SIAK")
    run.add_argument("--fleet", required=True, type=Path, help="fleet folder (provision init-fleet)")
    run.add_argument("--db", default="", help="queue URL: sqlite:///PATH or postgresql://… (default: "
                     "what FLEET/stores.json names, else sqlite beside the folder; broker/paths.py)")
    run.add_argument("--mqtt", default="", help="mqtts://HOST:PORT (default: the fleet's broker)")
    run.add_argument("--broker", default=BrokerKind.MOSQUITTO.value, choices=[k.value for k in BrokerKind],
                     help="mosquitto (default: one site) or cluster (a NATS cluster: `provision nats`, --nats)")
    run.add_argument("--nats", default="", metavar="URL,URL,…",
                     help="with --broker cluster: tls://HOST:PORT of every node (`provision nats` prints them)")
    siak_access.add_options(run)
    run.add_argument("--workers", type=int, default=4, help="relay workers = SIAK concurrency")
    run.add_argument("--rate", type=float, default=50.0, help="requests/s = SIAK capacity")
    run.add_argument("--aging", type=float, default=600.0, help="aging seconds per class step")
    run.add_argument("--lease", type=float, default=60.0, help="lease (visibility timeout) s")
    run.add_argument("--backoff-cap", type=float, default=30.0)
    run.add_argument("--breaker-cooldown", type=float, default=2.0)
    run.add_argument("--status-poll", type=float, default=2.0, help="s between status polls, 0=off")
    run.add_argument("--session-expiry", type=int, default=30, metavar="S",
                     help="MQTT 5 session expiry: the broker drops this instance's session (and what "
                     "it queued for it) S s after it disconnects; kiosks re-send what was lost")
    run.add_argument("--dead-after", type=float, default=5.0, metavar="S",
                     help="PostgreSQL: an instance silent this long is dead; its leases are released")
    run.add_argument("--allow-ca-key", action="store_true",
                     help="run even though the folder holds the fleet CA's key (a bench or demo; "
                     "in the field give it the folder from `provision centre-folder`)")
    run.add_argument("--identity", "--client-id", dest="identity", default=CENTRE_ID,
                     help="its centre identity (certificate and MQTT client id); each instance "
                     "its own, see `provision centre-identity`")
    run.add_argument("--fleet-identity", default=FLEET_MONITOR_ID,
                     help="the fleet monitor's identity, with --http")
    run.add_argument("--http", default="", metavar="HOST:PORT",
                     help="also serve the staff dashboard and /metrics here (port 0: any)")
    add_http_args(run)  # --http-cert, --http-key, --trusted-proxy (broker/fleet/README.md)
    run.add_argument("--fleet-db", default="",
                     help="fleet health store URL (default: what FLEET/stores.json names, else "
                     "fleet-health.db beside a sqlite queue; broker/paths.py)")
    run.add_argument("--fleet-config", default=None,
                     help="JSON: alert thresholds, retention, staff (see broker/fleet/README.md)")
    run.set_defaults(func=run_service)

    q = bsub.add_parser("queue", help="depth and oldest age per priority class")
    _db_args(q)
    q.set_defaults(func=run_queue)

    dl = bsub.add_parser("dead-letters", help="packets SIAK refused for good")
    dsub = dl.add_subparsers(dest="dl_command", metavar="ACTION")
    dl.set_defaults(func=lambda _a: (dl.print_help(), 2)[1])
    for name, helptext, func in (("list", "list dead letters", run_dl_list),
                                 ("retry", "send dead letters again", run_dl_retry),
                                 ("purge", "drop dead letters' bodies for good", run_dl_purge)):
        p = dsub.add_parser(name, help=helptext)
        _db_args(p)
        if name != "list":
            p.add_argument("packet_ids", nargs="*", help="packet ids (or --all)")
            p.add_argument("--all", action="store_true")
        p.set_defaults(func=func)

    rj = bsub.add_parser("rejections", help="bad packets refused at ingest, newest first")
    _db_args(rj)
    rj.add_argument("--limit", type=int, default=50)
    rj.set_defaults(func=run_rejections)

    bk = bsub.add_parser("backup", help="copy the SQLite queue and its bodies, consistently, while it runs")
    bk.add_argument("--db", default="", help="queue URL (default: the fleet's sqlite queue)")
    bk.add_argument("--fleet", type=Path, help="the folder `broker run --fleet` is given, to find the default queue")
    bk.add_argument("--out", required=True, type=Path, help="a new (or empty) folder for the backup")
    bk.set_defaults(func=run_backup)

    rs = bsub.add_parser("restore", help="put a backup made by `broker backup` back (service stopped)")
    rs.add_argument("--from", dest="source", required=True, type=Path, help="the backup folder")
    rs.add_argument("--db", default="", help="queue URL to restore to (default: the fleet's sqlite queue)")
    rs.add_argument("--fleet", type=Path, help="the folder `broker run --fleet` is given, to find the default queue")
    rs.add_argument("--replace", action="store_true", help="keep an existing queue aside (*.replaced-TIME) and restore")
    rs.set_defaults(func=run_restore)

    w = bsub.add_parser("waits", help="waits from capture to SIAK acceptance per class")
    _db_args(w)
    w.set_defaults(func=run_waits)

    siak_cli.register(sub)
    register_keys(bsub, _db_args, _open)


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    from broker import bench, bench_scale

    bench.register(bench_sub)
    bench_scale.register(bench_sub)


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default="", help="queue URL (default: the fleet's sqlite queue)")
    p.add_argument("--fleet", type=Path, help="fleet folder, to find the default queue")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _open(args: argparse.Namespace) -> PacketQueue:
    url = queue_url(args.fleet, args.db) if args.fleet else args.db
    if not url:
        raise UsageError("give --db URL or --fleet DIR")
    if url.startswith("sqlite://") or "://" not in url:
        # an operator command reads a queue; it never creates one from a typo
        path = url.removeprefix("sqlite://")
        if not Path(path).exists():
            raise UsageError(f"no queue at {path}; has `broker run` started?")
    return open_queue(url)


def run_service(args: argparse.Namespace) -> int:
    from broker.service import CentralService, ServiceConfig

    if args.workers < 1 or args.rate <= 0:
        raise UsageError("--workers must be >= 1 and --rate > 0")
    if holds_ca_key(args.fleet) and not args.allow_ca_key:
        raise UsageError(f"{args.fleet} holds the fleet CA's key; run the centre from its own folder: "
                         f"anjungan provision centre-folder {args.fleet} --out DIR (or --allow-ca-key)")
    kind = BrokerKind(args.broker)
    nats_urls = tuple(u.strip() for u in args.nats.split(",") if u.strip())
    if kind is BrokerKind.CLUSTER and (not nats_urls or args.http):
        raise UsageError("--broker cluster needs --nats tls://HOST:PORT,… and serves no --http "
                         "(run `anjungan fleet serve` for the dashboard)")
    if nats_urls and kind is not BrokerKind.CLUSTER:
        raise UsageError("--nats goes with --broker cluster")
    logs.configure(logging.INFO, sys.stderr)
    relay = RelayConfig(workers=args.workers, rate_rps=args.rate, lease_s=args.lease,
                        backoff_cap_s=args.backoff_cap, breaker_cooldown_s=args.breaker_cooldown,
                        status_poll_s=args.status_poll)
    metrics = None
    if args.http:  # counters for /metrics, registered with the dashboard's registry
        from broker.fleet.metrics import CentreMetrics

        metrics = CentreMetrics()
    service = CentralService(ServiceConfig(
        fleet_dir=args.fleet, db_url=args.db, mqtt_url=args.mqtt, siak_url=args.siak,
        siak_timeout_s=args.siak_timeout, siak_access=siak_access.from_options(args),
        relay=relay, aging_s=args.aging,
        identity=args.identity, session_expiry_s=args.session_expiry, dead_after_s=args.dead_after,
        broker=kind, nats_urls=nats_urls,
    ), observer=metrics if metrics is not None else NULL)
    if metrics is not None:
        return _run_with_dashboard(service, args, metrics)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service.run_forever(stop)
    return 0


def _run_with_dashboard(service: CentralService, args: argparse.Namespace, metrics: CentreMetrics) -> int:
    """The central service with fleet health and the dashboard in the same process: the
    dashboard plots this service's own queue and SIAK circuit, and counts the captures it
    commits (verified ones only)."""
    from broker.fleet.centre_sample import queue_sampler
    from broker.fleet.dashboard.edge import http_options
    from broker.fleet.server import ServeConfig, fleet_sites, load_config, serve
    from broker.mqtt import CentreMqtt
    from provisioning.centres import Role
    from provisioning.fleet import centre_tls

    host, _, port = args.http.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--http must be HOST:PORT, not {args.http!r}")
    settings, staff = load_config(args.fleet_config)
    fleet_db = fleet_store_url(args.fleet, args.db, args.fleet_db)
    if not isinstance(service.transport, CentreMqtt):
        raise UsageError("the dashboard (--http) runs beside a Mosquitto broker only")
    cfg = ServeConfig(store_url=fleet_db, mqtt_url=service.transport.settings.url,
                      http_host=host.strip("[]"), http_port=int(port), client_id=args.fleet_identity,
                      tls=centre_tls(args.fleet, args.fleet_identity, Role.FLEET),
                      settings=settings, staff=staff, captures=False, http=http_options(args),
                      registry=lambda: service.trust().kiosks, sites=fleet_sites(args.fleet),
                      fleet_dir=args.fleet)

    def count_captures(fleet: FleetService) -> None:
        metrics.register(fleet.metrics.registry)  # ingest, relay and SIAK on the same /metrics
        process = service.handlers[TopicKind.CAPTURE]

        def counted(batch: list[Inbound]) -> list[Outcome]:
            outcomes = process(batch)
            priority = {id(m.token): int(m.checked.priority) for m in batch
                        if isinstance(m.checked, Envelope)}
            for out in outcomes:
                if out.admission is Admission.NEW and id(out.token) in priority:
                    fleet.record_capture(priority[id(out.token)])
            return outcomes

        service.handlers[TopicKind.CAPTURE] = counted

    sampler = queue_sampler(service.queue, circuit=lambda: service.relay.breaker.state.value)
    service.start()
    # systemd's watchdog, pinged while ingest and relay run (the dashboard has the main thread)
    done = threading.Event()
    threading.Thread(target=service.keep_watchdog, args=(done, Watchdog()), daemon=True,
                     name="watchdog").start()
    try:
        return serve(cfg, sampler=sampler, on_service=count_captures,
                     on_ready=lambda url: print(f"staff dashboard: {url}", flush=True))
    finally:
        done.set()
        service.stop()


def run_queue(args: argparse.Namespace) -> int:
    q = _open(args)
    rows = q.depth(now=time.time())
    dead = len(q.entries(state=EntryState.DEAD))
    q.close()
    if args.json:
        print(json.dumps({"classes": [{"priority": d.priority.label, "value": int(d.priority),
                                       "depth": d.depth, "leased": d.leased,
                                       "oldest_age_s": round(d.oldest_age_s, 3)} for d in rows],
                          "dead_letters": dead}))
        return 0
    print(f"{'class':<18}{'depth':>8}{'leased':>8}{'oldest age':>14}")
    for d in rows:
        print(f"{d.priority.label:<18}{d.depth:>8}{d.leased:>8}{d.oldest_age_s:>12.1f} s")
    print(f"dead letters: {dead}")
    return 0


def run_dl_list(args: argparse.Namespace) -> int:
    q = _open(args)
    dead = q.entries(state=EntryState.DEAD)
    q.close()
    if args.json:
        print(json.dumps([{"packet_id": e.packet_id, "kiosk_id": e.kiosk_id,
                           "priority": e.priority.label, "reason": e.reason,
                           "attempts": e.attempts, "captured_at": e.captured_at} for e in dead]))
        return 0
    for e in dead:
        print(f"{e.packet_id}  {e.kiosk_id:<16} {e.priority.label:<16} {e.reason}")
    print(f"{len(dead)} dead letter(s)")
    return 0


def _targets(args: argparse.Namespace) -> list[str] | None:
    if args.all == bool(args.packet_ids):
        raise UsageError("give packet ids or --all (not both)")
    return None if args.all else list(args.packet_ids)


def run_dl_retry(args: argparse.Namespace) -> int:
    q = _open(args)
    n = q.retry_dead(_targets(args), now=time.time())
    q.close()
    print(json.dumps({"retried": n}) if args.json else f"{n} dead letter(s) queued again")
    return 0


def run_dl_purge(args: argparse.Namespace) -> int:
    q = _open(args)
    n = q.purge_dead(_targets(args))
    q.close()
    print(json.dumps({"purged": n}) if args.json else f"{n} dead letter(s) purged")
    return 0


def run_rejections(args: argparse.Namespace) -> int:
    q = _open(args)
    rows = q.rejections(limit=args.limit)
    q.close()
    if args.json:
        print(json.dumps([{"kiosk_id": r.kiosk_id, "packet_id": r.packet_id, "reason": r.reason,
                           "at": r.at, "repeats": r.repeats, "detail": r.detail} for r in rows]))
        return 0
    for r in rows:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.at))
        times = f" (x{r.repeats})" if r.repeats > 1 else ""
        print(f"{stamp}  {r.kiosk_id:<16} {r.reason:<20} {r.packet_id}{times}")
    return 0


def run_waits(args: argparse.Namespace) -> int:
    q = _open(args)
    waits = waits_by_class(q.entries(state=EntryState.ACCEPTED))
    q.close()
    if args.json:
        print(json.dumps(waits))
        return 0
    for label, w in waits.items():
        print(f"{label:<18} n={w['n']:<6} p50={w['p50_s']:.3f}s p95={w['p95_s']:.3f}s max={w['max_s']:.3f}s")
    return 0


def _sqlite_queue(args: argparse.Namespace) -> Path:
    url = queue_url(args.fleet, args.db) if args.fleet else args.db
    if not url:
        raise UsageError("give --db URL or --fleet DIR")
    path = sqlite_path(url)
    if path is None:
        raise UsageError("only a SQLite queue is backed up this way; PostgreSQL: pg_dump -Fc and pg_restore "
                         "(docs/technician-guide.md)")
    return path


def run_backup(args: argparse.Namespace) -> int:
    from broker.backup import backup

    report = backup(_sqlite_queue(args), args.out)
    print(f"backed up {report.packets} packets and {report.bodies} bodies to {report.folder}"
          f" ({report.rounds} snapshot{'s' if report.rounds > 1 else ''})")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from broker.backup import restore

    target = _sqlite_queue(args)
    report = restore(args.source, target, replace=args.replace)
    print(f"restored {report.packets} packets and {report.bodies} bodies to {target}")
    return 0
