"""The shared wire vectors under CPython here and under the real MicroPython binary."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.peripherals import wire_vectors

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name,check", wire_vectors.CHECKS, ids=[n for n, _ in wire_vectors.CHECKS])
def test_vector_cpython(name, check):
    check()


def test_vectors_under_micropython(micropython):
    env = dict(os.environ, MICROPYPATH=f"{ROOT}:{ROOT}/tests/peripherals")
    proc = subprocess.run(
        [micropython, str(ROOT / "tests/peripherals/wire_vectors.py")],
        capture_output=True, text=True, env=env, timeout=60, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"{len(wire_vectors.CHECKS)} passed, 0 failed"


def test_firmware_flat_imports_under_micropython(micropython):
    # on the board the files sit flat in /, so `import wire` must work without the package
    env = dict(os.environ, MICROPYPATH=str(ROOT / "firmware"))
    code = "import wire, bulk; print(wire.encode_frame(wire.T_ACK, 1).hex())"
    proc = subprocess.run(
        [micropython, "-c", code], capture_output=True, text=True, env=env, timeout=30
    )
    assert proc.stdout.strip() == "0301010601d8e23def00"
