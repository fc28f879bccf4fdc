"""Where the central service keeps its data when not told: one definition, read by
`broker run` and by every operator command (`broker queue`, `broker backup`, `fleet
add-staff`, `fleet set-site`, `fleet serve`), so a command given the same `--fleet` (and
`--db`) as the running service finds the same files.

    queue        sqlite://<parent of the fleet folder>/centre/queue.db
    fleet store  fleet-health.db beside a SQLite queue; beside the default queue otherwise
"""

from __future__ import annotations

from pathlib import Path

FLEET_STORE_NAME = "fleet-health.db"


def default_db_url(fleet_dir: str | Path) -> str:
    return f"sqlite://{Path(fleet_dir).resolve().parent / 'centre' / 'queue.db'}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite queue URL (`sqlite://PATH` or a bare path); None for any other."""
    if url.startswith("sqlite://"):
        return Path(url.removeprefix("sqlite://"))
    if url and "://" not in url:
        return Path(url)
    return None


def queue_folder(db_url: str, fleet_dir: str | Path) -> Path:
    """The folder of the SQLite queue `db_url`; the default queue's folder for any other."""
    path = sqlite_path(db_url) or sqlite_path(default_db_url(fleet_dir))
    assert path is not None
    return path.parent


def default_fleet_store_url(fleet_dir: str | Path, db_url: str = "") -> str:
    """The fleet health store (staff, sites, history) of `broker run --fleet DIR [--db URL]`."""
    return f"sqlite://{queue_folder(db_url, fleet_dir) / FLEET_STORE_NAME}"
