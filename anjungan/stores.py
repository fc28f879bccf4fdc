"""Where a centre keeps its data: `stores.json` in the folder `broker run --fleet` is given.

One file, one rule: `broker run` and every operator command given the same `--fleet DIR`
(`broker queue|backup|restore|dead-letters`, `fleet add-staff|set-site|serve`) read the
queue and the fleet store from `DIR/stores.json`, whether or not the service runs. An
explicit `--db` / `--fleet-db` still wins (a bench, a test); without the file the defaults
of `broker.paths` apply. The installer seeds it for a centre (`deploy.plan`), never
overwriting it; `provision centre-folder` leaves it alone.

    {"queue": "postgresql:///anjungan", "fleet_store": "sqlite:///var/lib/anjungan/fleet-health.db"}
"""

from __future__ import annotations

import enum
import json
from pathlib import Path

from anjungan.errors import AnjunganError
from anjungan.messages import MAX_MESSAGE_BYTES, MessageError, parse_json

STORES_FILE = "stores.json"
MAX_URL = 1000


class StoresError(AnjunganError):
    """`stores.json` cannot be read or is not what it should be."""


class Store(enum.StrEnum):
    QUEUE = "queue"  # the packet queue (`broker run --db`)
    FLEET = "fleet_store"  # staff, sites, health history (`broker run --fleet-db`)


def render(stores: dict[Store, str]) -> bytes:
    return (json.dumps({k.value: v for k, v in stores.items()}, indent=2) + "\n").encode()


def parse(raw: bytes, where: str) -> dict[Store, str]:
    """The stores a file names; StoresError (one line) on anything else."""
    try:
        data = parse_json(raw, where)
    except MessageError as exc:
        raise StoresError(str(exc)) from None
    if not isinstance(data, dict):
        raise StoresError(f"{where}: not a JSON object")
    unknown = sorted(set(data) - {s.value for s in Store})
    if unknown:
        raise StoresError(f"{where}: unknown key {unknown[0][:40]!r} (known: queue, fleet_store)")
    out: dict[Store, str] = {}
    for key, url in data.items():
        if not isinstance(url, str) or not url or len(url) > MAX_URL or not url.isprintable():
            raise StoresError(f"{where}: {key} must be a store URL (sqlite:///PATH or postgresql://…)")
        out[Store(key)] = url
    return out


def read_stores(folder: str | Path) -> dict[Store, str]:
    """The stores named in `folder/stores.json`; empty if it has none."""
    path = Path(folder) / STORES_FILE
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_MESSAGE_BYTES + 1)  # parse_json refuses what is over
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StoresError(f"cannot read {path}: {exc.strerror}") from None
    return parse(raw, str(path))
