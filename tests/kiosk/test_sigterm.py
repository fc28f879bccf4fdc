"""SIGTERM stops a kiosk within moments, whatever it is doing, and closes its outbox cleanly."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

from provisioning.broker_process import free_port
from provisioning.bundle import KioskBundle

from .kiosk_process import KioskProcess


def test_sigterm_stops_a_scripted_kiosk_in_a_long_wait(bundle: KioskBundle, tmp_path: Path) -> None:
    # no broker answers: the kiosk keeps reconnecting in the background meanwhile
    steps = [{"mark": "waiting"}, *[{"wait": 86400}] * 5, {"mark": "never"}]  # minutes of steps
    kiosk = KioskProcess(bundle.root, free_port(), tmp_path, steps, drain=600)
    try:
        kiosk.wait_for("mark", timeout=60)
        kiosk.proc.send_signal(signal.SIGTERM)
        assert kiosk.finish(timeout=30) == 0  # a hang guard, not a timing claim
    finally:
        if kiosk.proc.poll() is None:
            kiosk.kill()
    assert [e["label"] for e in kiosk.named("mark")] == ["waiting"]
    assert kiosk.named("script_stopped")[0]["reason"] == "stopped in a wait"
    assert kiosk.named("stopped")  # the runner's clean shutdown ran: outbox, lock, link closed
    assert not (tmp_path / "outbox.db-wal").exists() or (tmp_path / "outbox.db-wal").stat().st_size == 0
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
