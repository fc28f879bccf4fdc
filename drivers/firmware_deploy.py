"""`anjungan firmware deploy`: put the controller firmware on an RP2040 board running MicroPython.

The library files are precompiled with `mpy-cross -march=armv6m` (bytecode for the
Cortex-M0+), `main.py` is copied as source (MicroPython runs /main.py at boot), with
`mpremote fs cp`, then the board is reset. The firmware is the one this release ships (the
`firmware` package beside this module), and the tools are found the way an installed kiosk
has them: beside the running interpreter (the release's virtualenv,
/opt/anjungan/current/bin), else on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import firmware
from drivers.errors import PeripheralConfigError

LIBS = ("cobs", "wire", "bulk", "commands", "app", "hal_rp2")
TOOL_TIMEOUT_S = 120


def firmware_dir() -> Path:
    return Path(firmware.__file__).resolve().parent


def tool(name: str) -> str:
    """The release's own `name` (beside this Python), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise PeripheralConfigError(f"{name} not found beside {sys.executable} nor on PATH; "
                                    "reinstall the release (anjungan install kiosk --upgrade)")
    return found


def _run(argv: list[str], what: str) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise PeripheralConfigError(f"{what}: no answer in {TOOL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["failed"]
        raise PeripheralConfigError(f"{what}: {last[0][:200]}")


def build(out: Path) -> list[Path]:
    """Compile the firmware into `out`: the files to copy to the board."""
    src, mpy_cross = firmware_dir(), tool("mpy-cross")
    files = []
    for name in LIBS:
        target = out / f"{name}.mpy"
        _run([mpy_cross, "-march=armv6m", "-o", str(target), str(src / f"{name}.py")], f"mpy-cross {name}.py")
        files.append(target)
    shutil.copy(src / "main.py", out / "main.py")
    return sorted([*files, out / "main.py"])


def version() -> str:
    for line in (firmware_dir() / "commands.py").read_text().splitlines():
        if line.startswith("FIRMWARE_VERSION = "):
            return line.split("=", 1)[1].strip().strip('"')
    return "?"


def deploy(port: str, *, dry_run: bool) -> list[str]:
    """Build, and unless `dry_run` copy to the board on `port` and reset it; the file names."""
    with tempfile.TemporaryDirectory(prefix="anjungan-fw-") as tmp:
        files = build(Path(tmp))
        if not dry_run:
            mpr = [tool("mpremote"), "connect", port]
            for f in files:
                _run([*mpr, "fs", "cp", str(f), f":{f.name}"], f"copy {f.name} to {port}")
            _run([*mpr, "reset"], f"reset the board on {port}")
        return [f.name for f in files]
