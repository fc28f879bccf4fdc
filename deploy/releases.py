"""Releases side by side under the prefix, each a virtualenv, and two links choosing them:

    /opt/anjungan/releases/0.2.0/    a virtualenv with that version installed
    /opt/anjungan/current  -> releases/0.2.0     what the units run
    /opt/anjungan/previous -> releases/0.1.0     what `install rollback` goes back to

A release is complete only once its marker (`anjungan-release.json`, written last) exists;
a build cut short is removed and built again. Links are swapped atomically (a new link
renamed over the old), so a power cut leaves either release running, never neither.
Releases other than these two are removed after an upgrade: an SD card is small.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from deploy.errors import InstallError
from deploy.plan import Role, Shipped

MARKER = "anjungan-release.json"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
WHEEL = re.compile(r"anjungan-([^-]+)-.*\.whl")


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    source: Path  # a wheel or a source folder
    python: str = "/usr/bin/python3"
    system_site_packages: bool = False
    no_deps: bool = False
    find_links: Path | None = None  # offline: install only from this folder of wheels


def source_version(source: Path) -> str:
    if source.is_file():
        m = WHEEL.fullmatch(source.name)
        if not m:
            raise InstallError(f"{source} is not an anjungan wheel (anjungan-VERSION-...whl)")
        return m.group(1)
    try:
        with (source / "pyproject.toml").open("rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        raise InstallError(f"{source} is neither an anjungan wheel nor its source folder") from None


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InstallError(f"bad release name {name!r} (letters, digits, . _ + -)")
    return name


def read_marker(release: Path) -> dict[str, str] | None:
    try:
        data = json.loads((release / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def linked(prefix: Path, link: str) -> str | None:
    """The release name `current` or `previous` points at, if any."""
    try:
        return Path(os.readlink(prefix / link)).name
    except OSError:
        return None


def set_link(prefix: Path, link: str, name: str) -> None:
    tmp = prefix / f".{link}.new"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(f"releases/{name}")
    os.replace(tmp, prefix / link)


def build(prefix: Path, name: str, role: Role, opts: BuildOptions) -> list[str]:
    """Make `releases/NAME` unless it is already complete."""
    release = prefix / "releases" / name
    if read_marker(release) is not None:
        return []
    if release.exists():
        shutil.rmtree(release)  # a build cut short
    venv = [opts.python, "-m", "venv"]
    if opts.system_site_packages:
        venv.append("--system-site-packages")
    # With pip in this interpreter, the release needs none of its own (faster, and nothing
    # can later be pip-installed into a release by hand).
    own_pip = importlib.util.find_spec("pip") is not None
    _run([*venv, *([] if not own_pip else ["--without-pip"]), str(release)], "virtualenv")
    pip = [sys.executable, "-m", "pip", "--python", str(release / "bin" / "python")] if own_pip \
        else [str(release / "bin" / "python"), "-m", "pip"]
    args = ["install", "--quiet", "--disable-pip-version-check", "--no-cache-dir"]
    if opts.no_deps:
        args.append("--no-deps")
    if opts.find_links:
        args += ["--no-index", "--find-links", str(opts.find_links)]
    _run([*pip, *args, str(opts.source)], "pip install")
    (release / MARKER).write_text(json.dumps({"release": name, "role": role.value}) + "\n")
    return [f"built release {name} in {release}"]


def prune(prefix: Path) -> list[str]:
    keep = {linked(prefix, "current"), linked(prefix, "previous")}
    changes = []
    for release in sorted((prefix / "releases").iterdir()):
        if release.name not in keep:
            shutil.rmtree(release)
            changes.append(f"removed old release {release.name}")
    return changes


def shipped_from(release: Path) -> Shipped:
    """A release's own copy of the shipped files (units, rules), for a rollback."""
    sites = sorted(release.glob("lib/python3*/site-packages"))
    if not sites:
        raise InstallError(f"release {release.name} has no site-packages")

    def read(package: str, path: str) -> bytes:
        return (sites[-1] / package / path).read_bytes()

    return read


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise InstallError(f"{what} failed: {last[0]}")
