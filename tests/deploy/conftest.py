"""Fixtures: wheels of this tree, and an empty root folder with its own user database."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .wheel import build_wheel


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    newer = {"provisioning/rpi/anjungan-kiosk.service": b"# release 0.2.0\n"}
    return {"0.1.0": build_wheel(out, "0.1.0"), "0.2.0": build_wheel(out, "0.2.0", edits=newer)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    if os.geteuid() != 0 or not shutil.which("useradd", path="/usr/sbin:/sbin:/usr/bin"):
        pytest.skip("the installer needs root and useradd (Debian package passwd)")
    etc = tmp_path / "root" / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "group").write_text("root:x:0:\ndialout:x:20:\nvideo:x:44:\n")
    (etc / "gshadow").write_text("root:*::\ndialout:*::\nvideo:*::\n")
    return tmp_path / "root"
