"""The SIAK gateway's HPKE keys over time: rotate, keep the retired ones while any packet
may need them, then destroy them.

    gateway.key / gateway.pub     the current key pair: what kiosks seal to
    gateway-keys/ID.key           a retired private key, ID = its key id (`gateway_key_id`)
    gateway-keys/retired.json     {ID: {"retired_at": t, "state": "kept" | "destroyed"}}

`rotate` makes a new current pair; kiosks receive its public half with their next renewal
(`provisioning.signer`) and name it in every packet header (v2 `key_id`). A kiosk keeps
sealing to the old key until then, at most one certificate lifetime (`kiosk_days`), and the
centre accepts a packet up to the acceptance window after it was made. So a key retired at
R can be needed by a new packet only until R + kiosk_days + window; after that, only by
packets already at the centre and not yet delivered. `destroyable` says which keys have
passed that point with no such packet left (the broker's `retire-gateway-keys` command
asks its queue); `destroy` deletes the file and records it, so `provision centre-folder`
never copies it back.
"""

from __future__ import annotations

import time
from pathlib import Path

from anjungan.packet.seal import (
    GatewayPrivateKey,
    dump_gateway_private,
    dump_gateway_public,
    gateway_key_id,
    generate_gateway_parts,
    load_gateway_private,
)
from provisioning.crl import fleet_lock
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes, read_json, write_atomic, write_json
from provisioning.fleet import Fleet

FOLDER = "gateway-keys"
RETIRED = f"{FOLDER}/retired.json"


def current_id(root: Path) -> str:
    return gateway_key_id(read_bytes(root / "gateway.pub", "gateway public key"))


def retired(root: Path) -> dict[str, dict]:
    path = root / RETIRED
    return read_json(path, "retired gateway keys") if path.is_file() else {}


def rotate(fleet: Fleet, *, now: float | None = None) -> tuple[str, str]:
    """A new current gateway key; the old one is kept under gateway-keys/. (old id, new id)."""
    now = time.time() if now is None else now
    with fleet_lock(fleet):
        old_id = current_id(fleet.root)
        folder = fleet.path(FOLDER)
        folder.mkdir(mode=0o700, exist_ok=True)
        write_atomic(folder / f"{old_id}.key", read_bytes(fleet.path("gateway.key"), "gateway private key"),
                     private=True)
        book = retired(fleet.root)
        book[old_id] = {"retired_at": now, "state": "kept"}
        write_json(fleet.path(RETIRED), book)
        parts = generate_gateway_parts(fleet.suite)
        write_atomic(fleet.path("gateway.key"), dump_gateway_private(parts), private=True)
        write_atomic(fleet.path("gateway.pub"), dump_gateway_public(parts))
        return old_id, current_id(fleet.root)


def load_keyring(root: str | Path) -> dict[str, GatewayPrivateKey]:
    """Every private key the gateway holds, by key id; the current one first."""
    root = Path(root)
    ring = {current_id(root): load_gateway_private(read_bytes(root / "gateway.key", "gateway private key"))}
    for key_id, item in sorted(retired(root).items()):
        path = root / FOLDER / f"{key_id}.key"
        if item.get("state") == "kept" and path.is_file():
            ring[key_id] = load_gateway_private(read_bytes(path, "retired gateway key"))
    return ring


def destroyable(root: Path, *, now: float, kiosk_days: int, window_s: float,
                oldest_undelivered: float | None) -> list[str]:
    """Retired keys no packet can need any more: past retired_at + kiosk_days + window, and
    the centre holds no undelivered packet made before retired_at + kiosk_days (after that,
    every kiosk holding a valid certificate seals to a newer key)."""
    out = []
    for key_id, item in retired(root).items():
        if item.get("state") != "kept":
            continue
        last_sealed = float(item["retired_at"]) + kiosk_days * 86400.0
        if now < last_sealed + window_s:
            continue
        if oldest_undelivered is not None and oldest_undelivered < last_sealed:
            continue
        out.append(key_id)
    return sorted(out)


def destroy(root: Path, key_ids: list[str], *, now: float | None = None) -> None:
    book = retired(root)
    for key_id in key_ids:
        if key_id not in book:
            raise ProvisioningError(f"no retired gateway key {key_id!r} in {root}")
        (root / FOLDER / f"{key_id}.key").unlink(missing_ok=True)
        book[key_id] = {**book[key_id], "state": "destroyed", "destroyed_at": time.time() if now is None else now}
    write_json(root / RETIRED, book)
