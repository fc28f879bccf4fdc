"""Bringing a root folder to a plan: the system user, then folders and files with owners
and modes. Every step looks first and changes only what differs, and says what it changed,
so a second run changes nothing and reports nothing.

`root` is "/" on a real host; tests and image builders pass a folder (the user is then made
with `useradd --root`, which needs that folder's /etc/passwd and /etc/group).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from deploy.errors import InstallError
from deploy.plan import USER, Dir, File, Link


def under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _ids(root: Path, table: str, name: str) -> int | None:
    """A name's id from root's own /etc/passwd or /etc/group (not the host's, under --root)."""
    try:
        lines = under(root, f"/etc/{table}").read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        fields = line.split(":")
        if len(fields) > 3 and fields[0] == name:
            return int(fields[2])
    return None


def _members(root: Path, group: str) -> list[str] | None:
    for line in under(root, "/etc/group").read_text().splitlines():
        fields = line.split(":")
        if len(fields) == 4 and fields[0] == group:
            return [m for m in fields[3].split(",") if m]
    return None


def _tool(name: str) -> str:
    for folder in ("/usr/sbin", "/sbin", "/usr/bin"):
        if os.access(f"{folder}/{name}", os.X_OK):
            return f"{folder}/{name}"
    found = shutil.which(name)
    if not found:
        raise InstallError(f"{name} not found (Debian package passwd)")
    return found


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise InstallError(f"{' '.join(argv)} failed: {last[0]}")


def ensure_user(root: Path, groups: tuple[str, ...]) -> list[str]:
    """The system user `anjungan` (no login, home = the data folder), in those of `groups`
    that exist on the host."""
    changes = []
    at_root = [] if root == Path("/") else ["--root", str(root)]
    if _ids(root, "passwd", USER) is None:
        _run([_tool("useradd"), *at_root, "--system", "--user-group", "--home-dir", "/var/lib/anjungan",
              "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "Anjungan", USER])
        changes.append(f"created system user {USER}")
    for group in groups:
        members = _members(root, group)
        if members is not None and USER not in members:
            _run([_tool("usermod"), *at_root, "--append", "--groups", group, USER])
            changes.append(f"added {USER} to group {group}")
    return changes


def owner_ids(root: Path, owner: str, group: str) -> tuple[int, int]:
    uid, gid = _ids(root, "passwd", owner), _ids(root, "group", group)
    if uid is None or gid is None:
        raise InstallError(f"{owner}:{group} unknown in {under(root, '/etc/passwd')}")
    return uid, gid


def _fix_owner_mode(target: Path, uid: int, gid: int, mode: int) -> list[str]:
    changes = []
    st = target.lstat()
    if (st.st_uid, st.st_gid) != (uid, gid):
        os.chown(target, uid, gid)
        changes.append("owner")
    if st.st_mode & 0o7777 != mode:
        target.chmod(mode)
        changes.append("mode")
    return changes


def apply(root: Path, entries: Sequence[Dir | File | Link]) -> list[str]:
    changes: list[str] = []
    for entry in entries:
        target = under(root, entry.path)
        if isinstance(entry, Link):
            if not target.is_symlink() or os.readlink(target) != entry.target:
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.new")
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(entry.target)
                os.replace(tmp, target)
                changes.append(f"linked {entry.path} -> {entry.target}")
            continue
        uid, gid = owner_ids(root, entry.owner, entry.group)
        what = f"{entry.owner}:{entry.group} {entry.mode:04o}"
        if isinstance(entry, Dir) and not target.is_dir():
            target.mkdir(parents=True, mode=0o700)
            _fix_owner_mode(target, uid, gid, entry.mode)
            changes.append(f"created {entry.path} ({what})")
        elif isinstance(entry, File) and not target.exists():
            _write(target, entry.data, uid, gid, entry.mode)
            changes.append(f"created {entry.path} ({what})")
        else:
            if isinstance(entry, File) and entry.replace and target.read_bytes() != entry.data:
                _write(target, entry.data, uid, gid, entry.mode)
                changes.append(f"updated {entry.path}")
            fixed = _fix_owner_mode(target, uid, gid, entry.mode)
            if fixed:
                changes.append(f"set {' and '.join(fixed)} of {entry.path} ({what})")
    return changes


def _write(target: Path, data: bytes, uid: int, gid: int, mode: int) -> None:
    """Atomically: a power cut leaves the old file or the new one, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chown(tmp, uid, gid)
    tmp.chmod(mode)
    os.replace(tmp, target)
