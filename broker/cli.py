"""`anjungan` subcommands of the central service (registered by anjungan.cli).

    anjungan broker run | queue | dead-letters list|retry|purge | rejections | waits
    anjungan siak-sim
    anjungan bench ingest | drain
"""

from __future__ import annotations

import argparse

from broker.siak import cli as siak_cli


def register(sub: argparse._SubParsersAction) -> None:
    siak_cli.register(sub)
