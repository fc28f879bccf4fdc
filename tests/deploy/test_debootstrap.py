"""The installer on a fresh Debian 12 root made by debootstrap, run inside it with chroot:
Debian's own python3, useradd and ensurepip, as on a new host.

Slow: the first run downloads a minimal root (about 100 MB, a few minutes) into
$ANJUNGAN_DEBOOTSTRAP_CACHE (default /var/cache/anjungan-test/bookworm) and later runs copy
it. The release is installed with --no-deps (no PyPI inside the test); where it must run,
it borrows the test's own dependencies, mounted read-only into the root."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import site
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
                                  timeout=1200)
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
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **(env or {})})


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
        "root:anjungan 750\nanjungan:anjungan 700\n"
    # the release is Debian's python3 in a virtualenv; its command is on the technician's PATH
    where = in_root(fresh_root, "/opt/anjungan/current/bin/python", "-c", "import deploy; print(deploy.__file__)")
    assert where.stdout.startswith("/opt/anjungan/current/lib/python3.11/site-packages/deploy/")
    assert (fresh_root / "opt/anjungan/current/bin/anjungan").read_text().startswith(
        "#!/opt/anjungan/releases/0.1.0/bin/python")
    assert os.readlink(fresh_root / "usr/local/bin/anjungan") == "/opt/anjungan/current/bin/anjungan"

    again = in_root(fresh_root, *argv, env={"PYTHONPATH": wheel})
    assert (again.returncode, again.stdout) == (0, "nothing to change\n")


# Inside a private mount namespace: the test's dependencies for the release, a provisioned
# bundle, then the unit's view of the host (ProtectSystem=strict, ReadWritePaths=/var/lib/
# anjungan, PrivateTmp) and the unit's ExecStart as the anjungan user, headless, scripted.
SERVE = """set -e
R="$1"; RO="$2"; DEPS="$3"; SCRIPT="$4"; COMMAND="$5"
mkdir -p "$R/opt/test-deps" "$RO"
mount --bind -o ro "$DEPS" "$R/opt/test-deps"
mount -t proc proc "$R/proc"
echo /opt/test-deps > "$R"/opt/anjungan/current/lib/python3.11/site-packages/test-deps.pth
run() { chroot "$R" env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/bin LANG=C.UTF-8 HOME=/root "$@"; }
run runuser -u anjungan -- anjungan provision request /etc/anjungan/bundle --kiosk-id dps-selatan-01
run anjungan provision init-fleet /root/fleet --broker-port 1 > /dev/null
run anjungan provision sign /root/fleet /etc/anjungan/bundle --office Denpasar > /dev/null
run chown -R anjungan:anjungan /etc/anjungan/bundle
mount --rbind "$R" "$RO"
mount -o remount,bind,ro "$RO"
mount --bind "$R/var/lib/anjungan" "$RO/var/lib/anjungan"
mount -t tmpfs tmpfs "$RO/tmp"
if chroot "$RO" touch /etc/anjungan/probe 2> /dev/null; then echo "/etc is writable" >&2; exit 9; fi
chroot "$RO" env -i PATH=/usr/sbin:/usr/bin:/bin LANG=C.UTF-8 SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy \
  runuser -u anjungan -- $COMMAND --peripherals sim --headless --script "$SCRIPT" --broker 127.0.0.1:1 --no-tls
"""


def test_the_installed_kiosk_serves_a_resident_with_only_its_data_folder_writable(
        fresh_root: Path, wheels: dict[str, Path], tmp_path: Path) -> None:
    shutil.copy(wheels["0.1.0"], fresh_root / "tmp")
    wheel = f"/tmp/{wheels['0.1.0'].name}"
    done = in_root(fresh_root, "python3", "-m", "deploy", "install", "kiosk", "--no-deps", env={"PYTHONPATH": wheel})
    assert done.returncode == 0, done.stderr
    script = "/opt/anjungan/current/lib/python3.11/site-packages/kiosk/scripts/new_recording.json"
    # the unit's own command after `cage ... --`, less the site's $KIOSK_ARGS
    unit = (fresh_root / "etc/systemd/system/anjungan-kiosk.service").read_text().replace("\\\n", " ")
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    command = [a for a in shlex.split(exec_start.partition(" -- ")[2]) if not a.startswith("$")]
    assert command[:3] == ["/opt/anjungan/current/bin/anjungan", "kiosk", "run"] and "--outbox" in command
    served = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", SERVE, "serve",
                             str(fresh_root), str(tmp_path / "ro"), site.getsitepackages()[0], script,
                             shlex.join(command)],
                            capture_output=True, text=True, timeout=300)
    assert served.returncode == 0, served.stderr[-2000:]
    events = [json.loads(line) for line in served.stdout.splitlines() if line.startswith("{")]
    done_event = next(e for e in events if e["event"] == "script_done")
    assert len(done_event["tickets"]) == 1
    assert events[-1] == {**events[-1], "event": "stopped", "pending": 1}  # stored, waiting for the centre
    outbox = fresh_root / "var/lib/anjungan/outbox.db"
    uid = int(in_root(fresh_root, "id", "-u", "anjungan").stdout)
    assert (outbox.stat().st_uid, outbox.stat().st_mode & 0o777) == (uid, 0o600)
