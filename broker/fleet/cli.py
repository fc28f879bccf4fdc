"""`anjungan fleet ...` (registered by anjungan.cli)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the fleet command group; filled in by the fleet-health issue."""
