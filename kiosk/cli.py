"""`anjungan` subcommands of the kiosk component (registered by anjungan.cli)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this component's command groups; filled in by the component's issue."""
