"""One kiosk per outbox: a second one stops with one line before it touches anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.cli import main
from kiosk.lock import AlreadyRunning, hold, lock_path
from provisioning.bundle import KioskBundle


def test_a_second_holder_is_refused_until_the_first_releases(tmp_path: Path) -> None:
    outbox = tmp_path / "data" / "outbox.db"
    first = hold(outbox, what="kiosk")
    with pytest.raises(AlreadyRunning) as refused:
        hold(outbox, what="kiosk")
    lock = tmp_path / "data" / "outbox.db.lock"
    assert str(refused.value) == f"another kiosk is already running on {outbox} (pid {os.getpid()} holds {lock})"
    assert lock_path(outbox) == lock and lock.stat().st_mode & 0o777 == 0o600
    first.release()
    hold(outbox, what="kiosk").release()


def test_kiosk_run_on_a_held_outbox_is_one_line(bundle: KioskBundle, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    outbox = tmp_path / "outbox.db"
    held = hold(outbox, what="kiosk")
    try:
        code = main(["kiosk", "run", "--bundle", str(bundle.root), "--headless", "--outbox", str(outbox)])
    finally:
        held.release()
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"anjungan: error: another kiosk is already running on {outbox} (pid {os.getpid()} holds {outbox}.lock)\n"
    assert not outbox.exists()  # refused before the outbox was opened


@pytest.mark.slow
def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.db"
    code = ("import sys; from pathlib import Path; from kiosk.lock import hold; "
            f"lock = hold(Path({str(outbox)!r}), what='kiosk'); print('held', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(AlreadyRunning):
            hold(outbox, what="kiosk")
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        holder.kill()
    hold(outbox, what="kiosk").release()  # the kernel dropped the dead holder's lock
