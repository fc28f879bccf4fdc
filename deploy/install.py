"""The installer's use cases: install (or upgrade) a kiosk or a centre, and roll back.

Order matters for a host that is serving: the new release is built beside the running one,
the links are flipped, and only then are the units and rules rewritten; a build that fails
leaves the host as it was.
"""

from __future__ import annotations

import importlib.resources
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy import host, releases
from deploy.errors import InstallError
from deploy.plan import KIOSK_GROUPS, UDEV_RULES, UNIT_DIR, Dir, Role, host_plan
from deploy.releases import BuildOptions


@dataclass(frozen=True, kw_only=True)
class Target:
    root: Path = Path("/")
    prefix: str = "/opt/anjungan"

    @property
    def prefix_dir(self) -> Path:
        return host.under(self.root, self.prefix)


def running_code(package: str, path: str) -> bytes:
    """The shipped files of the code running this installer (a source tree or a wheel); the
    files installed are always those of the release made current."""
    return importlib.resources.files(package).joinpath(path).read_bytes()


def install(role: Role, target: Target, build: BuildOptions, *, release: str | None = None,
            upgrade: bool = False) -> list[str]:
    name = releases.check_name(release or releases.source_version(build.source))
    changes = host.ensure_user(target.root, KIOSK_GROUPS if role is Role.KIOSK else ())
    folders = [e for e in host_plan(role, target.prefix, running_code) if isinstance(e, Dir)]
    changes += host.apply(target.root, folders)
    prefix = target.prefix_dir
    current = releases.linked(prefix, "current")
    if current is not None:
        installed_as = (releases.read_marker(prefix / "releases" / current) or {}).get("role")
        if installed_as not in (None, role.value):
            raise InstallError(f"this host is installed as a {installed_as}, not a {role.value}")
    if current not in (None, name) and not upgrade:
        raise InstallError(f"release {current} is installed; --upgrade installs {name} "
                           f"and keeps {current} for `install rollback`")
    changes += releases.build(prefix, name, role, build)
    if current != name:
        if current is not None:
            releases.set_link(prefix, "previous", current)
        releases.set_link(prefix, "current", name)
        changes.append(f"current release: {name}" + (f" (previous: {current})" if current else ""))
        changes += releases.prune(prefix)
    # the units and rules of the release now current (an upgrade runs the old installer)
    plan = host_plan(role, target.prefix, releases.shipped_from(prefix / "releases" / name))
    changes += host.apply(target.root, plan)
    return changes + _reload(target.root, changes)


def rollback(target: Target) -> list[str]:
    prefix = target.prefix_dir
    current, previous = releases.linked(prefix, "current"), releases.linked(prefix, "previous")
    marker = releases.read_marker(prefix / "releases" / previous) if previous else None
    if current is None or previous is None or marker is None:
        raise InstallError(f"no previous release under {prefix} to roll back to")
    if marker.get("role") not in {r.value for r in Role}:
        raise InstallError(f"release {previous} does not say whether it is a kiosk or a centre")
    role = Role(marker["role"])
    releases.set_link(prefix, "current", previous)
    releases.set_link(prefix, "previous", current)
    changes = [f"current release: {previous} (previous: {current})"]
    # the units and rules of the release now running, not of the one rolled back from
    plan = host_plan(role, target.prefix, releases.shipped_from(prefix / "releases" / previous))
    changes += host.apply(target.root, plan)
    return changes + _reload(target.root, changes)


def _reload(root: Path, changes: list[str]) -> list[str]:
    """On a live host, tell systemd and udev about new units and rules (never under --root,
    nor where systemd is not running, as in a chroot)."""
    if root != Path("/") or not os.path.isdir("/run/systemd/system"):
        return []
    done = []
    if any(UNIT_DIR in c for c in changes):
        subprocess.run(["systemctl", "daemon-reload"], check=False)
        done.append("systemctl daemon-reload")
    if any(UDEV_RULES in c for c in changes):
        subprocess.run(["udevadm", "control", "--reload-rules"], check=False)
        subprocess.run(["udevadm", "trigger", "--subsystem-match=tty"], check=False)
        done.append("udev rules reloaded")
    return done
