"""Byte-level simulators of every peripheral, each served on its own pty."""
