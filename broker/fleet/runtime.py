"""Where a running fleet service says where it is: one file per fleet, `fleet-KEY.json`
(0600: its URL, API token, fleet name, folder and pid).

KEY names the fleet, not the user: the first 12 hex digits of the SHA-256 of the fleet CA's
certificate (the same for the fleet folder and the centre's copy of it), or of the store URL
for a service without a fleet folder. Two fleets served on one host by one user therefore
never overwrite each other's file, and `anjungan fleet status --fleet DIR` finds its own.
Without --fleet, status takes the one service running and names them all when several do.

The file also names the service's fleet store: `fleet add-staff` and `fleet set-site` with
`--fleet DIR` find the store by `broker.paths` (DIR/stores.json), running or not, and refuse
if the running service was given another (`--fleet-db` by hand).

A service writes to $ANJUNGAN_RUNTIME_DIR, else $XDG_RUNTIME_DIR/anjungan, else
/tmp/anjungan-<uid>. Commands look there and in /run/anjungan, the installed unit's
RuntimeDirectory (readable by root and the `anjungan` user).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from broker.fleet.errors import FleetConfigError, ServiceNotFound


@dataclass(frozen=True, kw_only=True)
class Running:
    """One running service's runtime file."""

    key: str
    url: str
    token: str = field(repr=False)
    fleet: str = ""  # the fleet's name, for people
    folder: str = ""  # the folder it was given (--fleet), or its store URL
    pid: int = 0
    store: str = ""  # its fleet store URL

    def describe(self) -> str:
        return f"{self.fleet or 'fleet'} ({self.folder}) at {self.url}"


SYSTEM_RUNTIME_DIR = Path("/run/anjungan")  # the centre unit's RuntimeDirectory=anjungan


def runtime_dir() -> Path:
    if os.environ.get("ANJUNGAN_RUNTIME_DIR"):
        return Path(os.environ["ANJUNGAN_RUNTIME_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "anjungan"
    return Path(f"/tmp/anjungan-{os.getuid()}")


def fleet_key(fleet_dir: str | Path) -> str:
    """The key of the fleet whose folder (or centre folder) this is."""
    try:
        return hashlib.sha256((Path(fleet_dir) / "ca.pem").read_bytes()).hexdigest()[:12]
    except OSError as exc:
        raise FleetConfigError(f"{fleet_dir} is not a fleet folder (ca.pem: {exc.strerror})") from None


def store_key(store_url: str) -> str:
    """The key of a service run without a fleet folder (`fleet serve --mqtt --db`)."""
    return hashlib.sha256(store_url.encode()).hexdigest()[:12]


def _path(key: str) -> Path:
    return runtime_dir() / f"fleet-{key}.json"


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
                               "set ANJUNGAN_RUNTIME_DIR")
    if st.st_mode & 0o077:
        d.chmod(0o700)
    return d


def publish(running: Running) -> Path:
    _private_dir()
    path = _path(running.key)
    _write_private(path, json.dumps({"url": running.url, "token": running.token, "fleet": running.fleet,
                                     "folder": running.folder, "pid": running.pid or os.getpid(),
                                     "store": running.store}))
    return path


def withdraw(key: str, url: str) -> None:
    """Remove the file if it still names this service (a newer one may have replaced it)."""
    try:
        if _read(_path(key)).url == url:
            _path(key).unlink()
    except (OSError, ValueError):
        pass


def _read(path: Path) -> Running:
    data = json.loads(path.read_text())
    return Running(key=path.stem.removeprefix("fleet-"), url=str(data["url"]), token=str(data["token"]),
                   fleet=str(data.get("fleet", "")), folder=str(data.get("folder", "")),
                   pid=int(data.get("pid", 0)), store=str(data.get("store", "")))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True  # cannot tell: let the request say
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def search_dirs() -> list[Path]:
    own = runtime_dir()
    return [own] + ([SYSTEM_RUNTIME_DIR] if own != SYSTEM_RUNTIME_DIR else [])


def running() -> list[Running]:
    """Every service with a runtime file here whose process is alive (a killed one's is skipped)."""
    found: list[Running] = []
    paths = [p for d in search_dirs() for p in sorted(_glob(d))]
    for path in paths:
        try:
            entry = _read(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _alive(entry.pid) and all(f.key != entry.key or f.url != entry.url for f in found):
            found.append(entry)
    return found


def _glob(folder: Path) -> list[Path]:
    try:
        return list(folder.glob("fleet-*.json"))
    except OSError:  # not ours to read
        return []


def discover(key: str = "") -> Running:
    """The running service of fleet `key`; without a key, the only one running here."""
    d = runtime_dir()
    services = running()
    if key:
        services = [s for s in services if s.key == key]
        if not services:
            raise ServiceNotFound(f"no running fleet service of this fleet found (no live {_path(key)}); "
                                  "start `anjungan broker run --http` or `fleet serve`, or pass --url")
        return services[0]
    if not services:
        raise ServiceNotFound(f"no running fleet service found (no fleet-*.json in {d}); start one with "
                              "`anjungan fleet serve` or pass --url")
    if len(services) > 1:
        names = "; ".join(s.describe() for s in services)
        raise ServiceNotFound(f"{len(services)} fleet services run here: {names}; "
                              "give --fleet DIR (the folder the service was given) or --url")
    return services[0]
