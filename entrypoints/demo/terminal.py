"""The demo's terminal side: arguments to config, a live progress view, the summary."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from anjungan.errors import UsageError


def _check(args: argparse.Namespace) -> None:
    if not 1 <= args.kiosks <= 20:
        raise UsageError("--kiosks must be 1-20")
    if not 1 <= args.residents <= 2000:
        raise UsageError("--residents must be 1-2000")
    if not 0 <= args.siak_outage <= 3600 or args.siak_capacity <= 0 or args.timeout <= 0:
        raise UsageError("--siak-outage must be 0-3600 s; --siak-capacity and --timeout > 0")


class Progress:
    """A rich live table on stderr when it is a terminal; a line every few seconds if not."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.live: Any = None
        self.last_line = 0.0
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(stderr=True), refresh_per_second=4, transient=quiet)
            self.live.start()

    def __call__(self, snap: dict[str, Any]) -> None:
        if snap.get("phase") == "kept":
            self.stop()
            user, password = snap["staff"]
            print(f"everything is up (work folder {snap['work']}); Ctrl-C stops it all\n"
                  f"dashboard: {snap['dashboard']}  staff login: {user} / {password}",
                  file=sys.stderr, flush=True)
            return
        if self.live is not None:
            self.live.update(self._table(snap))
        elif not self.quiet and time.monotonic() - self.last_line > 5:
            self.last_line = time.monotonic()
            print(f"[{snap['elapsed_s']:5.1f}s] served {snap['residents_served']}/"
                  f"{snap['residents']}  captured {snap['captured']}  outbox "
                  f"{sum(v for v in snap['outbox'].values() if v > 0)}  backlog "
                  f"{sum(snap['backlog'].values())}  SIAK {snap['siak']}  accepted "
                  f"{snap['accepted_by_siak']}", file=sys.stderr, flush=True)

    @staticmethod
    def _table(snap: dict[str, Any]) -> Any:
        from rich.table import Table

        t = Table(title=f"Anjungan demo — {snap['elapsed_s']:.0f} s", show_header=False)
        t.add_row("residents served", f"{snap['residents_served']} / {snap['residents']}")
        t.add_row("captured (stored in a kiosk outbox)", str(snap["captured"]))
        t.add_row("kiosk outboxes (waiting for the centre's ack)",
                  "  ".join(f"{k}: {v}" for k, v in snap["outbox"].items()))
        t.add_row("relay backlog by class",
                  "  ".join(f"{k}: {v}" for k, v in snap["backlog"].items()) or "empty")
        t.add_row("SIAK", snap["siak"])
        t.add_row("accepted by SIAK", str(snap["accepted_by_siak"]))
        return t

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def _print_summary(s: dict[str, Any]) -> None:
    waits = "  ".join(f"{k} {v:.1f} s" if v is not None else f"{k} -"
                      for k, v in s["wait_by_class"].items())
    print(f"""
{s['residents']} residents at {s['kiosks']} kiosks; SIAK down for the first {s['siak_outage_s']:.0f} s
  served            {s['served']} (resident time p50 {s['resident_seconds_p50']:.1f} s)
  captured          {s['captured']}
  accepted by SIAK  {s['accepted_by_siak']}
  refused (revoked) {s['refused']}
  lost              {s['lost']}
  duplicates        {s['duplicates_at_siak']}
  mean wait, capture to SIAK, by class (highest first): {waits}
  relay latency p99 {s['relay_latency_p99_s']:.2f} s (captured while SIAK was up: {s['relay_latency_p99_healthy_s']:.2f} s)
  took {s['elapsed_s']:.0f} s""")


def run_system(args: argparse.Namespace) -> int:
    from entrypoints.demo.runner import Demo, DemoConfig

    _check(args)
    cfg = DemoConfig(
        kiosks=args.kiosks, residents=args.residents, siak_outage_s=args.siak_outage,
        siak_capacity_rps=args.siak_capacity, peripherals=args.peripherals,
        timeout_s=args.timeout, keep_running=args.keep_running,
        workdir=Path(args.workdir) if args.workdir else None, faults=tuple(args.fault or ()),
    )
    progress = Progress(quiet=args.json)

    def interrupt(*_a: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):  # cleaned up like Ctrl-C, terminal closed too
        signal.signal(sig, interrupt)
    try:
        summary = Demo(cfg, on_progress=progress).run()
    finally:
        progress.stop()
    if args.json:
        print(json.dumps(summary))
    else:
        _print_summary(summary)
    ok = summary["lost"] == 0 and summary["duplicates_at_siak"] == 0 and not summary.get("problems")
    ok = ok and summary["accepted_by_siak"] + summary["refused"] == summary["captured"] > 0
    if not ok:
        print(f"anjungan: demo failed: {_why(summary)}", file=sys.stderr)
    return 0 if ok else 1


def _why(s: dict[str, Any]) -> str:
    """One line: the first thing that went wrong."""
    if s.get("problems"):
        return "; ".join(s["problems"])
    if s["lost"] or s["duplicates_at_siak"]:
        return f"{s['lost']} lost, {s['duplicates_at_siak']} duplicated at SIAK"
    if not s["captured"]:
        return "no resident's capture was stored"
    waiting = s["captured"] - s["accepted_by_siak"] - s["refused"]
    return f"{waiting} of {s['captured']} captures not accepted by SIAK within the timeout"
