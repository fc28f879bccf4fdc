"""`anjungan demo`: the whole system in one command (grown by the end-to-end issue)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the demo command."""
