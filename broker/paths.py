"""Where the central service keeps its data: one rule, read by `broker run` and by every
operator command (`broker queue`, `broker backup`, `fleet add-staff`, `fleet set-site`,
`fleet serve`), so a command given the same `--fleet DIR` finds the same stores as the
service, running or not:

    1. an explicit --db / --fleet-db
    2. what DIR/stores.json names (`anjungan.stores`; the installer seeds it on a centre)
    3. the defaults:
       queue        sqlite://<parent of the fleet folder>/centre/queue.db
       fleet store  fleet-health.db beside a SQLite queue; beside the default queue otherwise
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from anjungan.stores import Store, read_stores

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


def queue_url(fleet_dir: str | Path, db: str = "") -> str:
    """The queue of `broker run --fleet DIR [--db URL]`."""
    return db or read_stores(fleet_dir).get(Store.QUEUE) or default_db_url(fleet_dir)


def fleet_store_url(fleet_dir: str | Path, db: str = "", fleet_db: str = "") -> str:
    """The fleet store of `broker run --fleet DIR [--db URL] [--fleet-db URL]`."""
    return (fleet_db or read_stores(fleet_dir).get(Store.FLEET)
            or default_fleet_store_url(fleet_dir, queue_url(fleet_dir, db)))


def split_schema(url: str, default: str = "anjungan") -> tuple[str, str]:
    """A PostgreSQL URL's connection string and its `schema=` (else `default`): the URL as
    given, less `schema=`. Not urlunsplit, which turns postgresql:///db (the local socket,
    no host: the installed centre's queue) into postgresql:/db, which libpq refuses."""
    query = parse_qs(urlsplit(url).query)
    schema = query.pop("schema", [default])[0]
    rest = urlencode(query, doseq=True)
    return url.split("?", 1)[0].split("#", 1)[0] + (f"?{rest}" if rest else ""), schema
