"""The shipped systemd units: they parse against our own CLI, pass `systemd-analyze verify`,
and score <= 4.0 ("OK") in `systemd-analyze security --offline=yes`."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from anjungan.stores import STORES_FILE, render
from broker.paths import fleet_store_url, queue_url
from deploy.plan import CENTRE_STORES, CONFIG_DIR, DATA_DIR, render_unit
from entrypoints.cli import build_parser

UNITS = Path(__file__).resolve().parents[2] / "provisioning" / "rpi"
NAMES = ("anjungan-kiosk.service", "anjungan-broker.service")
ROOT_UNITS = ("anjungan-signer.service", "anjungan-crl-refresh.service")  # the fleet's keepers
ANALYZE = shutil.which("systemd-analyze")


def settings(name: str) -> dict[str, list[str]]:
    """KEY=VALUE lines (continuations joined); a key set twice keeps both values."""
    text = re.sub(r"\\\n\s*", " ", (UNITS / name).read_text())
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_exec_start_is_a_command_our_cli_accepts(name: str, tmp_path: Path) -> None:
    argv = shlex.split(settings(name)["ExecStart"][0])
    args = argv[argv.index("/opt/anjungan/current/bin/anjungan") + 1:]
    parsed = build_parser().parse_args([a for a in args if not a.startswith("$")])  # $VAR: kiosk.env
    writable = settings(name)["ReadWritePaths"][0].split()
    assert settings(name)["ProtectSystem"] == ["strict"]
    if name == "anjungan-kiosk.service":
        assert argv[0] == "/usr/bin/cage" and parsed.outbox == "/var/lib/anjungan/outbox.db"
        # the outbox (what the durability tests cover) and the bundle (renewal installs the new
        # certificate there) are writable, on the data partition the unit requires mounted;
        # nothing else: not /etc at large, not the overlay of a read-only root
        assert writable == [DATA_DIR, f"{CONFIG_DIR}/bundle"] == settings(name)["RequiresMountsFor"][0].split()
        assert Path(parsed.outbox).parent == Path(DATA_DIR) and str(parsed.bundle) == f"{CONFIG_DIR}/bundle"
    else:  # the stores come from the folder's stores.json, as the installer seeds it
        assert writable == [DATA_DIR]
        assert parsed.http and parsed.fleet == Path("/etc/anjungan/centre")
        (tmp_path / STORES_FILE).write_bytes(render(CENTRE_STORES))
        assert fleet_store_url(tmp_path, parsed.db, parsed.fleet_db) == "sqlite:///var/lib/anjungan/fleet-health.db"
        assert queue_url(tmp_path, parsed.db) == "postgresql:///anjungan"
    # both processes send READY=1 and watchdog pings (anjungan/sdnotify.py); the kiosk is cage's child
    assert settings(name)["Type"] == ["notify"] and settings(name)["WatchdogSec"] == ["30"]
    assert settings(name).get("NotifyAccess") == (["all"] if name == "anjungan-kiosk.service" else None)


@pytest.mark.parametrize("name", ROOT_UNITS)
def test_the_keepers_exec_start_is_a_command_our_cli_accepts(name: str) -> None:
    argv = shlex.split(settings(name)["ExecStart"][0])
    parsed = build_parser().parse_args(argv[argv.index("/opt/anjungan/current/bin/anjungan") + 1:])
    assert parsed.centre_dir == "/etc/anjungan/centre"  # the centre's CA-less copy kept current
    assert settings(name)["ProtectSystem"] == ["strict"] and settings(name)["NoNewPrivileges"] == ["yes"]


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed (Debian package systemd)")
@pytest.mark.parametrize("name", NAMES + ROOT_UNITS)
def test_security_exposure_is_at_most_4(name: str) -> None:
    done = subprocess.run([str(ANALYZE), "security", "--offline=yes", str(UNITS / name)],
                          capture_output=True, text=True, timeout=60)
    score = re.search(rf"Overall exposure level for {re.escape(name)}: (\d+\.\d+)", done.stdout)
    assert score is not None, done.stdout[-500:]
    assert float(score.group(1)) <= 4.0


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed (Debian package systemd)")
@pytest.mark.parametrize("name", NAMES + ROOT_UNITS)
def test_verify_is_clean(name: str, tmp_path: Path) -> None:
    if name == "anjungan-kiosk.service" and not Path("/usr/bin/cage").exists():
        pytest.skip("cage (Debian package) not installed: verify checks ExecStart's command exists")
    command = tmp_path / "prefix/current/bin/anjungan"  # verify wants ExecStart to exist
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\n")
    command.chmod(0o755)
    unit = tmp_path / name
    unit.write_bytes(render_unit((UNITS / name).read_bytes(), str(tmp_path / "prefix")))
    done = subprocess.run([str(ANALYZE), "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
