"""The installer on a fresh Debian 12 root made by debootstrap, run inside it with chroot:
Debian's own python3, useradd and ensurepip, as on a new host.

Slow: the first run downloads a minimal root (about 100 MB, a few minutes) into
$ANJUNGAN_DEBOOTSTRAP_CACHE (default /var/cache/anjungan-test/bookworm) and later runs copy
it. The release is installed with --no-deps (no PyPI inside the test)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CACHE = Path(os.environ.get("ANJUNGAN_DEBOOTSTRAP_CACHE", "/var/cache/anjungan-test/bookworm"))
MIRROR = "http://deb.debian.org/debian"


@pytest.fixture(scope="session")
def debian_root() -> Path:
    if os.geteuid() != 0:
        pytest.skip("debootstrap and chroot need root")
    if not (CACHE / "usr/bin/python3").exists():
        tool = shutil.which("debootstrap", path="/usr/sbin:/sbin:/usr/bin")
        if tool is None:
            pytest.skip("debootstrap not installed (apt-get install debootstrap)")
        shutil.rmtree(CACHE, ignore_errors=True)
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run([tool, "--variant=minbase", "--include=python3,python3-venv,passwd",
                                   "bookworm", str(CACHE), MIRROR], capture_output=True, text=True,
                                  timeout=1200)  # fmt: skip
        except subprocess.TimeoutExpired:
            pytest.skip("debootstrap took over 20 minutes (slow mirror?)")
        if done.returncode != 0:
            pytest.skip(f"debootstrap failed (no network to {MIRROR}?): {done.stderr.strip()[-200:]}")
    return CACHE


@pytest.fixture
def fresh_root(debian_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "debian"
    subprocess.run(["cp", "-a", "--reflink=auto", str(debian_root), str(root)], check=True)
    return root


def in_root(root: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chroot", str(root), *argv], capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **(env or {})})  # fmt: skip


def test_install_in_a_fresh_debian_root(fresh_root: Path, wheels: dict[str, Path]) -> None:
    shutil.copy(wheels["0.1.0"], fresh_root / "tmp")
    wheel = f"/tmp/{wheels['0.1.0'].name}"
    argv = ("python3", "-m", "deploy", "install", "kiosk", "--no-deps")
    first = in_root(fresh_root, *argv, env={"PYTHONPATH": wheel})
    assert first.returncode == 0, first.stderr
    assert "created system user anjungan" in first.stdout
    user = in_root(fresh_root, "id", "anjungan")
    assert user.returncode == 0 and "(dialout)" in user.stdout
    assert in_root(fresh_root, "stat", "-c", "%U:%G %a", "/etc/anjungan", "/var/lib/anjungan").stdout == \
        "root:anjungan 750\nanjungan:anjungan 700\n"  # fmt: skip
    # the release is Debian's python3 in a virtualenv; its command is on the technician's PATH
    where = in_root(fresh_root, "/opt/anjungan/current/bin/python", "-c", "import deploy; print(deploy.__file__)")
    assert where.stdout.startswith("/opt/anjungan/current/lib/python3.11/site-packages/deploy/")
    assert (fresh_root / "opt/anjungan/current/bin/anjungan").read_text().startswith(
        "#!/opt/anjungan/releases/0.1.0/bin/python")  # fmt: skip
    assert os.readlink(fresh_root / "usr/local/bin/anjungan") == "/opt/anjungan/current/bin/anjungan"

    again = in_root(fresh_root, *argv, env={"PYTHONPATH": wheel})
    assert (again.returncode, again.stdout) == (0, "nothing to change\n")
