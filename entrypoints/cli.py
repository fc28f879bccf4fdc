"""The `anjungan` command: the one composition point of every component's subcommands.

Each component owns a `cli` module with `register(subparsers)` that adds its groups, and
optionally `register_bench(bench_subparsers)` for `anjungan bench NAME`. A handler is a
function `(args) -> int`. Errors of our own become one line on stderr; nothing else ever
shows a traceback unless ANJUNGAN_DEBUG=1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from anjungan.commands import Parser, help_for
from anjungan.errors import AnjunganError

# Order is the order of `anjungan --help`.
COMPONENTS = (
    "provisioning.cli",
    "entrypoints.packet_cli",
    "entrypoints.nik_cli",
    "drivers.cli",
    "kiosk.cli",
    "broker.cli",
    "broker.fleet.cli",
    "entrypoints.demo.command",
    "deploy.cli",
    "entrypoints.doctor",
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="anjungan",
        description="Self-service e-KTP kiosks: provisioning, kiosk, peripherals, central relay.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    bench = sub.add_parser("bench", help="performance benchmarks, reported as ratios")
    bench_sub = bench.add_subparsers(dest="bench", metavar="NAME", parser_class=Parser)
    bench.set_defaults(func=help_for(bench))
    for name in COMPONENTS:
        module = importlib.import_module(name)
        module.register(sub)
        if hasattr(module, "register_bench"):
            module.register_bench(bench_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except AnjunganError as exc:
        print(f"anjungan: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a path that cannot be read or written, a port that cannot be bound
        where = f": {exc.filename}" if exc.filename else ""
        print(f"anjungan: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:  # last resort: one line, never a traceback
        if os.environ.get("ANJUNGAN_DEBUG"):
            raise
        print(f"anjungan: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
