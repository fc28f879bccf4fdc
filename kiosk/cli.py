"""`anjungan kiosk ...` and `anjungan bench kiosk` (registered by entrypoints.cli)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from anjungan.errors import UsageError
from kiosk.ui.panel import Panel, default_panel

SIZES = ("800x480", "720x1280", "1920x1080")


def register(sub: argparse._SubParsersAction) -> None:
    kiosk = sub.add_parser("kiosk", help="the resident kiosk app")
    ks = kiosk.add_subparsers(dest="kiosk_command", metavar="SUBCOMMAND")
    kiosk.set_defaults(func=lambda _a: (kiosk.print_help(), 2)[1])

    run = ks.add_parser("run", help="run the kiosk (touchscreen, or headless from a script)",
                        description="Run the kiosk app: flow, peripherals, durable outbox, MQTT publisher.")
    run.add_argument("--bundle", required=True, help="kiosk bundle folder (from `provision enroll`)")
    run.add_argument("--peripherals", default="sim", help="'sim' (in-process twins), 'sim-pty' (every device on a pty, controller firmware under micropython), 'sim-controller' (only the controller on a pty), ':noise=RATE' after either adds line noise, or a JSON file of serial URLs")
    run.add_argument("--headless", action="store_true", help="no display (SDL dummy driver)")
    run.add_argument("--script", help="JSON list of resident actions to play (needs --headless)")
    run.add_argument("--screenshots", help="save every screen shown as PNG into this folder")
    run.add_argument("--lang", choices=("id", "en"), default="id", help="default language")
    run.add_argument("--size", choices=SIZES, default="800x480", help="screen layout")
    run.add_argument("--outbox", help="outbox SQLite file (default: BUNDLE/outbox.db)")
    run.add_argument("--officers", help="officer PIN file (default: BUNDLE/officers.json if present)")
    run.add_argument("--broker", help="HOST:PORT instead of the bundle's broker")
    run.add_argument("--no-tls", action="store_true", help="plain MQTT (tests only)")
    run.add_argument("--drain", type=float, default=0.0, metavar="S",
                     help="after the script, keep publishing until the outbox is empty or S seconds pass")
    run.add_argument("--resend-after", type=float, default=30.0, metavar="S", help="re-send unacked packets after S s")
    run.add_argument("--health-interval", type=float, default=60.0, metavar="S", help="health every S s")
    run.add_argument("--renew-retry", type=float, default=600.0, metavar="S",
                     help="ask the signer again after S s without an answer (certificate renewal)")
    panel = run.add_mutually_exclusive_group()
    panel.add_argument("--panel-inches", type=_number, metavar="D",
                       help="the panel's diagonal in inches (square pixels); default: the panel this size comes on "
                            "(800x480: the official Raspberry Pi 7\" display, 154.2 x 85.9 mm)")
    panel.add_argument("--px-per-mm", type=_number, metavar="N", help="the panel's pixels per millimetre, instead of --panel-inches")
    run.add_argument("--viewing-distance", type=_number, default=50.0, metavar="CM",
                     help="how far the resident's eyes are from the screen (default 50 cm): sets large text's size (0.7°)")
    run.add_argument("--speech", action="store_true", help="every session starts with speech on (a resident can also turn it on with the Audio button); espeak-ng")
    run.add_argument("--headphone-jack", default="auto", metavar="auto|off|CARD:CONTROL",
                     help="turn speech on for the session when headphones are plugged in, where ALSA "
                          "reports a jack (amixer); 'auto' finds one, e.g. 1:'Headphone Jack' names it")
    run.set_defaults(func=_run)

    add = ks.add_parser("add-officer", help="add an officer's PIN (read from stdin) to an officer file")
    add.add_argument("--file", required=True, help="officer PIN file (created if missing)")
    add.add_argument("--officer-id", required=True, help="officer number (NIP), 4-18 digits")
    add.set_defaults(func=_add_officer)


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    b = bench_sub.add_parser("kiosk", help="kiosk software overhead per session and frame render time")
    b.add_argument("--json", action="store_true", help="one JSON object on stdout")
    b.add_argument("--sessions", type=int, default=5, help="resident sessions to time (default 5)")
    b.add_argument("--size", choices=SIZES, default="800x480", help="screen layout")
    b.set_defaults(func=_bench)


def _number(text: str) -> float:
    """argparse type: a finite number (the ranges are the panel's to check)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a number: {text[:40]!r}")
    return value


def panel_for(size: tuple[int, int], *, inches: float | None, px_per_mm: float | None,
              distance_cm: float) -> Panel:
    """The kiosk's panel from its options; a value out of range is a `UsageError`."""
    try:
        distance = distance_cm * 10
        if inches is not None:
            return Panel.from_diagonal(*size, inches, distance)
        if px_per_mm is not None:
            return Panel.from_px_per_mm(size[1], px_per_mm, distance)
        return default_panel(*size, distance)
    except ValueError as exc:
        raise UsageError(f"panel: {exc}") from None


def _size(text: str) -> tuple[int, int]:
    w, h = text.split("x")
    return int(w), int(h)


def _run(args: argparse.Namespace) -> int:
    from kiosk.runner import RunOptions, run_kiosk

    if args.script and not args.headless:
        raise UsageError("--script needs --headless")
    broker = None
    if args.broker:
        host, _, port = args.broker.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError("--broker must be HOST:PORT")
        broker = (host, int(port))
    from kiosk.headphones import jack_from_spec

    try:
        jack = jack_from_spec(args.headphone_jack)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    panel = panel_for(_size(args.size), inches=args.panel_inches, px_per_mm=args.px_per_mm,
                      distance_cm=args.viewing_distance)
    opts = RunOptions(
        bundle=Path(args.bundle), peripherals=args.peripherals, headless=args.headless,
        script=Path(args.script) if args.script else None,
        screenshots=Path(args.screenshots) if args.screenshots else None, lang=args.lang,
        size=_size(args.size), outbox=Path(args.outbox) if args.outbox else None,
        officers=Path(args.officers) if args.officers else None, broker=broker, tls=not args.no_tls,
        drain_s=args.drain, resend_after_s=args.resend_after, health_interval_s=args.health_interval,
        speech=args.speech, renew_retry_s=args.renew_retry, headphone_jack=jack, panel=panel,
    )
    return run_kiosk(opts)


def _add_officer(args: argparse.Namespace) -> int:
    from kiosk.officers import add_officer

    pin = sys.stdin.readline().strip()
    add_officer(Path(args.file), args.officer_id, pin)
    print(f"officer {args.officer_id} added to {args.file}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from kiosk.bench import run_bench

    if not 1 <= args.sessions <= 1000:
        raise UsageError("--sessions must be 1-1000")
    result = run_bench(sessions=args.sessions, size=_size(args.size))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0
