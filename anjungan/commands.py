"""What every `anjungan` command shares: its argument parser (a usage error is one line and
exit 2, like every other bad input), argument types, and the help handler of a group.
Components' `cli` modules use these; the `anjungan` command itself lives in
`entrypoints/cli.py`."""

from __future__ import annotations

import argparse


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own usage errors: one line, exit 2, like every other bad input.
        self.exit(2, f"{self.prog}: error: {message}\n")


def port_number(text: str) -> int:
    """argparse type for a TCP port (0 = any free port)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, not {text!r}")
    return port


def help_for(parser: argparse.ArgumentParser):  # type: ignore[no-untyped-def]
    """A handler for a command group run without an action: show its help, exit 2."""

    def show(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show
