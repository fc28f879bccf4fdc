"""From a fresh clone, the README's two commands set everything up and run.

The demo command runs a small demo; the test command is run up to collection (ruff, mypy
and collecting every test), since running the whole suite from inside the suite would
recurse. Skipped outside a git checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    dest = tmp_path_factory.mktemp("fresh") / "anjungan"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True, timeout=120)
    return dest


def said(out: subprocess.CompletedProcess[str]) -> str:
    """What a command printed, without pip's and setuptools' noise, for a failure message."""
    noise = ("WARNING: Location", "BuildBackendWarning", "!!", "****", "Please be careful",
             "name as your package", "with strategy, WheelFile")
    err = [line for line in out.stderr.splitlines()
           if line.strip() and not any(n in line for n in noise)]
    return "stdout: " + out.stdout[-2000:] + "\nstderr: " + "\n".join(err)[-3000:]


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    e["PATH"] = ":".join(p for p in e.get("PATH", "").split(":") if ".venv" not in p)
    return e


def test_readme_names_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/demo.sh" in readme and "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_demo_command_from_a_fresh_clone(clone):
    out = subprocess.run(
        ["bash", "scripts/demo.sh", "--kiosks", "1", "--residents", "3", "--siak-outage", "0",
         "--json"],
        cwd=clone, env=env(), capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, said(out)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["lost"] == 0 and summary["accepted_by_siak"] == summary["captured"] == 3


def test_test_command_from_a_fresh_clone_collects(clone):
    out = subprocess.run(
        ["bash", "scripts/test.sh", "--collect-only", "-q"],
        cwd=clone, env=env(), capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, said(out)
    assert "tests collected" in out.stdout or "test" in out.stdout.splitlines()[-1]
