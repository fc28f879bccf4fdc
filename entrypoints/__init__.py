"""Entrypoints: the `anjungan` command, the end-to-end demo and the packet benchmark — the
composition roots that wire components together. Nothing imports this package."""
