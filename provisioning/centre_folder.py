"""The centre's own folder: what the central service needs from the fleet, without the CA key.

The fleet folder is the technician's: it holds `ca.key`, which can mint a kiosk. The
central service reads MQTT from every kiosk and talks to the network, so it never runs
beside that key. `export_centre` copies what it needs — fleet settings, the CA certificate,
the CRL, the kiosk registry, its MQTT identities, the gateway's key pair — into a folder of
its own (0700, keys 0600). Run again after an enrollment or a revocation (or give
`--centre-dir` to `provision revoke` / `refresh-crl` / `crl-keeper`): only files that changed
are rewritten, so the service's trust reloads them within seconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from provisioning.errors import ProvisioningError
from provisioning.files import write_atomic
from provisioning.fleet import Fleet, open_fleet

PUBLIC = ("fleet.json", "ca.pem", "issuing.pem", "crl.pem", "registry.json", "gateway.pub", "centre.pem")
PRIVATE = ("centre.key", "gateway.key")
FOLDERS = ("centres", "gateway-keys")  # further centre identities, retired gateway keys
NEVER = ("ca.key", "issuing.key")  # the root stays with the technician, the issuing key with the signer


def export_centre(fleet: Fleet, out: str | Path) -> list[str]:
    """Make or refresh the centre's folder; returns the names that changed."""
    dest = Path(out)
    if dest.resolve() == fleet.root.resolve():
        raise ProvisioningError("the centre's folder must not be the fleet folder (it holds ca.key)")
    try:
        dest.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(dest, 0o700)
    except OSError as exc:
        raise ProvisioningError(f"cannot make the centre's folder {dest}: {exc.strerror}") from exc
    changed = []
    names = [(n, False) for n in PUBLIC] + [(n, True) for n in PRIVATE]
    for folder in FOLDERS:
        if fleet.path(folder).is_dir():
            names += [(f"{folder}/{p.name}", p.suffix == ".key") for p in sorted(fleet.path(folder).iterdir())
                      if not p.name.startswith(".") and not _destroyed_here(dest, folder, p)]
    for name, private in names:
        src = fleet.path(name)
        if not src.is_file():
            if name in PRIVATE or name in ("fleet.json", "ca.pem"):
                raise ProvisioningError(f"the fleet folder lacks {name}: is {fleet.root} a fleet folder?")
            continue
        data = src.read_bytes()
        target = dest / name
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(target, data, private=private)
        _owned_like(dest, target)
        changed.append(name)
    if _merge_book(fleet, dest):
        _owned_like(dest, dest / "gateway-keys" / "retired.json")
        changed.append("gateway-keys/retired.json")
    for name in NEVER:
        (dest / name).unlink(missing_ok=True)  # a copy made by hand earlier: not here
    return changed


def _destroyed_here(dest: Path, folder: str, path: Path) -> bool:
    """A retired gateway key the centre destroyed (and its book) is never copied back."""
    if folder != "gateway-keys":
        return False
    if path.name == "retired.json":
        return True  # merged by _merge_book
    return _book(dest / folder / "retired.json").get(path.stem, {}).get("state") == "destroyed"


def _book(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _merge_book(fleet: Fleet, dest: Path) -> bool:
    """The fleet's book of retired gateway keys, with what the centre destroyed kept so."""
    source = fleet.path("gateway-keys/retired.json")
    if not source.is_file():
        return False
    here = _book(dest / "gateway-keys" / "retired.json")
    merged = {k: here[k] if here.get(k, {}).get("state") == "destroyed" else v for k, v in _book(source).items()}
    if merged == here:
        return False
    (dest / "gateway-keys").mkdir(mode=0o700, exist_ok=True)
    write_atomic(dest / "gateway-keys" / "retired.json", (json.dumps(merged, indent=2, sort_keys=True) + "\n").encode())
    return True


def _owned_like(dest: Path, path: Path) -> None:
    """Run as root (the CRL timer, a technician's sudo), a written file goes to whoever owns
    the centre's folder — the service's user — or the service could not read it."""
    if os.geteuid() != 0:
        return
    owner = dest.stat()
    for p in (path, path.parent):
        os.chown(p, owner.st_uid, owner.st_gid)


def holds_ca_key(folder: str | Path) -> bool:
    return (Path(folder) / "ca.key").exists()


def sync_centre(fleet_dir: str | Path, centre_dir: str | Path | None) -> str:
    """`export_centre` for a command's `--centre-dir`; a line saying what happened."""
    if not centre_dir:
        return ""
    changed = export_centre(open_fleet(fleet_dir), centre_dir)
    return (f"centre folder {centre_dir}: {', '.join(changed)} updated" if changed
            else f"centre folder {centre_dir} is current")
