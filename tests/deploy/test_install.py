"""`anjungan install` into a root folder: owners, modes, releases, idempotence, upgrade and
rollback, from a wheel of this very tree (no dependencies: the release sees the test's)."""

from __future__ import annotations

import json
import os
import site
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.cli import main

UNIT = "etc/systemd/system/anjungan-kiosk.service"


def install(root: Path, *argv: str) -> int:
    return main(["install", *argv, "--root", str(root), "--python", sys.executable, "--no-deps"])


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything a second run could change: kind, owner, mode, contents, link target, mtime."""
    seen = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        body = os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else None
        seen[str(path.relative_to(root))] = (stat.S_IFMT(st.st_mode), st.st_uid, st.st_gid,
                                             stat.S_IMODE(st.st_mode), body, st.st_mtime_ns)
    return seen


def owner_mode(root: Path, path: str) -> tuple[str, str, str]:
    st = (root / path).stat()
    users = {int(f[2]): f[0] for f in (line.split(":") for line in (root / "etc/passwd").read_text().splitlines())}
    groups = {int(f[2]): f[0] for f in (line.split(":") for line in (root / "etc/group").read_text().splitlines())}
    return users[st.st_uid], groups[st.st_gid], f"{stat.S_IMODE(st.st_mode):04o}"


def release_of(root: Path, link: str) -> str:
    return os.readlink(root / "opt/anjungan" / link)


def test_kiosk_install_is_complete_and_a_second_run_changes_nothing(
        root: Path, wheels: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    assert install(root, "kiosk", "--source", str(wheels["0.1.0"])) == 0
    assert "created system user anjungan" in capsys.readouterr().out
    assert "anjungan:x:" in (root / "etc/passwd").read_text()
    assert ":/var/lib/anjungan:/usr/sbin/nologin" in (root / "etc/passwd").read_text()
    assert "dialout:x:20:anjungan" in (root / "etc/group").read_text()
    assert owner_mode(root, "etc/anjungan") == ("root", "anjungan", "0750")
    assert owner_mode(root, "etc/anjungan/bundle") == ("anjungan", "anjungan", "0700")
    assert owner_mode(root, "etc/anjungan/peripherals.json") == ("root", "anjungan", "0640")
    assert owner_mode(root, "var/lib/anjungan") == ("anjungan", "anjungan", "0700")
    assert owner_mode(root, "opt/anjungan/releases/0.1.0/bin") == ("root", "root", "0755")
    assert owner_mode(root, UNIT) == ("root", "root", "0644")
    assert release_of(root, "current") == "releases/0.1.0"
    assert os.readlink(root / "usr/local/bin/anjungan") == "/opt/anjungan/current/bin/anjungan"
    unit = (root / UNIT).read_text()
    assert "/opt/anjungan/current/bin/anjungan kiosk run" in unit
    assert "--outbox /var/lib/anjungan/outbox.db" in unit
    assert (root / "etc/udev/rules.d/99-anjungan-peripherals.rules").read_bytes() == \
        (Path(__file__).parents[2] / "drivers/udev/99-anjungan-peripherals.rules").read_bytes()
    before = snapshot(root)
    assert install(root, "kiosk", "--source", str(wheels["0.1.0"])) == 0
    assert capsys.readouterr().out == "nothing to change\n"
    assert snapshot(root) == before


def test_the_installed_command_runs(root: Path, wheels: dict[str, Path]) -> None:
    assert install(root, "kiosk", "--source", str(wheels["0.1.0"])) == 0
    release = root / "opt/anjungan/current"
    # --no-deps: let the release find the test's own dependencies
    (next(release.glob("lib/python3*/site-packages")) / "test-deps.pth").write_text("\n".join(site.getsitepackages()))
    done = subprocess.run([str(release / "bin/anjungan"), "kiosk", "run", "--help"], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin"}, cwd=root, timeout=60)
    assert done.returncode == 0 and "--outbox" in done.stdout
    # The script names its release, not `current`: a running kiosk's late imports stay in its
    # own release while an upgrade flips the link.
    shebang = (release / "bin/anjungan").read_text().splitlines()[0]
    assert shebang == f"#!{root}/opt/anjungan/releases/0.1.0/bin/python"


def test_site_config_is_kept_and_owned_files_are_restored(root: Path, wheels: dict[str, Path],
                                                          capsys: pytest.CaptureFixture) -> None:
    assert install(root, "kiosk", "--source", str(wheels["0.1.0"])) == 0
    (root / "etc/anjungan/peripherals.json").write_text('{"controller": "/dev/ttyAMA0"}\n')
    (root / UNIT).write_text("edited by hand\n")
    (root / "var/lib/anjungan").chmod(0o755)
    capsys.readouterr()
    assert install(root, "kiosk", "--source", str(wheels["0.1.0"])) == 0
    assert capsys.readouterr().out.splitlines() == [
        "set mode of /var/lib/anjungan (anjungan:anjungan 0700)",
        "updated /etc/systemd/system/anjungan-kiosk.service",
    ]
    assert (root / "etc/anjungan/peripherals.json").read_text() == '{"controller": "/dev/ttyAMA0"}\n'


def test_upgrade_keeps_the_previous_release_and_rollback_flips_back(
        root: Path, wheels: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    assert install(root, "kiosk", "--source", str(wheels["0.1.0"])) == 0
    capsys.readouterr()
    assert install(root, "kiosk", "--source", str(wheels["0.2.0"])) == 1
    assert capsys.readouterr().err == ("anjungan: error: release 0.1.0 is installed; --upgrade installs "
                                       "0.2.0 and keeps 0.1.0 for `install rollback`\n")
    assert install(root, "kiosk", "--source", str(wheels["0.2.0"]), "--upgrade") == 0
    assert "current release: 0.2.0 (previous: 0.1.0)" in capsys.readouterr().out
    assert (release_of(root, "current"), release_of(root, "previous")) == ("releases/0.2.0", "releases/0.1.0")
    assert (root / UNIT).read_text().endswith("# release 0.2.0\n")  # the new release's unit
    assert install(root, "kiosk", "--source", str(wheels["0.2.0"]), "--upgrade") == 0
    assert capsys.readouterr().out == "nothing to change\n"

    assert main(["install", "rollback", "--root", str(root)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "current release: 0.1.0 (previous: 0.2.0)", f"updated /{UNIT}",
        "now: systemctl restart anjungan-kiosk (or anjungan-broker) to run it",
    ]
    assert not (root / UNIT).read_text().endswith("# release 0.2.0\n")
    assert (release_of(root, "current"), release_of(root, "previous")) == ("releases/0.1.0", "releases/0.2.0")
    assert sorted(p.name for p in (root / "opt/anjungan/releases").iterdir()) == ["0.1.0", "0.2.0"]


def test_a_centre_gets_its_unit_and_folders_but_no_kiosk_files(root: Path, wheels: dict[str, Path]) -> None:
    assert install(root, "centre", "--source", str(wheels["0.1.0"]), "--prefix", "/srv/anjungan") == 0
    unit = (root / "etc/systemd/system/anjungan-broker.service").read_text()
    assert "/srv/anjungan/current/bin/anjungan broker run" in unit and "/opt/anjungan" not in unit
    assert "--http " in unit and "--fleet-db" not in unit and "--db" not in unit
    stores = json.loads((root / "etc/anjungan/centre/stores.json").read_text())  # the one rule's file
    assert stores == {"queue": "postgresql:///anjungan", "fleet_store": "sqlite:///var/lib/anjungan/fleet-health.db"}
    assert owner_mode(root, "etc/anjungan/centre/stores.json") == ("anjungan", "anjungan", "0640")
    assert owner_mode(root, "etc/anjungan/fleet") == ("root", "root", "0700")
    assert owner_mode(root, "etc/anjungan/centre") == ("anjungan", "anjungan", "0700")
    assert (root / "etc/anjungan/fleet-config.json").read_text() == "{}\n"
    for keeper in ("anjungan-signer.service", "anjungan-crl-refresh.service", "anjungan-crl-refresh.timer"):
        text = (root / "etc/systemd/system" / keeper).read_text()  # installed, not copied by hand
        assert "/opt/anjungan" not in text
    assert not (root / "etc/udev/rules.d").exists() and not (root / UNIT).exists()
    assert "dialout:x:20:\n" in (root / "etc/group").read_text()


def test_rollback_without_a_previous_release_is_one_line(root: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["install", "rollback", "--root", str(root)]) == 1
    assert capsys.readouterr().err == f"anjungan: error: no previous release under {root}/opt/anjungan to roll back to\n"
