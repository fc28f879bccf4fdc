"""Where a running fleet service says where it is: `fleet.url` and `fleet.token` (0600).

The folder is $ANJUNGAN_RUNTIME_DIR, else $XDG_RUNTIME_DIR/anjungan, else
/tmp/anjungan-<uid>. `anjungan fleet status` without --url reads them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from broker.fleet.errors import FleetConfigError, ServiceNotFound


def runtime_dir() -> Path:
    if os.environ.get("ANJUNGAN_RUNTIME_DIR"):
        return Path(os.environ["ANJUNGAN_RUNTIME_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "anjungan"
    return Path(f"/tmp/anjungan-{os.getuid()}")


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def _private_dir() -> Path:
    """The runtime folder, made or checked to be ours alone: in /tmp another user could have
    made it first to read the API token we are about to write."""
    d = runtime_dir()
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = d.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise FleetConfigError(f"runtime folder {d} is not owned by this user; remove it or "
                               "set ANJUNGAN_RUNTIME_DIR")  # fmt: skip
    if st.st_mode & 0o077:
        d.chmod(0o700)
    return d


def publish(url: str, token: str) -> Path:
    d = _private_dir()
    _write_private(d / "fleet.token", token)
    _write_private(d / "fleet.url", url)
    return d / "fleet.url"


def withdraw(url: str) -> None:
    """Remove the files if they still name this service (a newer one may have replaced them)."""
    d = runtime_dir()
    try:
        if (d / "fleet.url").read_text().strip() == url:
            (d / "fleet.url").unlink()
            (d / "fleet.token").unlink(missing_ok=True)
    except OSError:
        pass


def discover() -> tuple[str, str]:
    d = runtime_dir()
    try:
        return (d / "fleet.url").read_text().strip(), (d / "fleet.token").read_text().strip()
    except OSError:
        raise ServiceNotFound(
            f"no running fleet service found (no {d / 'fleet.url'}); start one with "
            "`anjungan fleet serve` or pass --url"
        ) from None
