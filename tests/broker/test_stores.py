"""`stores.json`, the one rule for where a centre's stores are (anjungan/stores.py): every
command given `--fleet DIR` reads it; garbage in it is one line and a non-zero exit."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from anjungan.stores import STORES_FILE, Store, parse, render
from broker.paths import default_fleet_store_url, fleet_store_url, queue_url, split_schema
from entrypoints.cli import main
from provisioning.fleet import init_fleet

GARBAGE = [
    b"",
    b"\xff\xfe not utf-8",
    b'{"queue": "sqlite:///q.db"',  # truncated
    b'{"queue": NaN}',
    b'{"queue": 1e999}',
    b'{"queue": "sqlite:///a.db", "queue": "sqlite:///b.db"}',  # a duplicate key
    b"[" * 10_000 + b"]" * 10_000,  # deeply nested
    b'{"queue": "' + b"x" * 100_000 + b'"}',  # huge
    b'{"queue": ""}',
    b'{"queue": "sqlite:///q.db\\nforged log line"}',
    b'{"fleet_store": {"url": "sqlite:///f.db"}}',
    b'{"queue_url": "sqlite:///q.db"}',  # a typo: not silently the default
    b'["sqlite:///q.db"]',
]


def test_the_file_names_both_stores_and_flags_still_win(tmp_path: Path) -> None:
    assert queue_url(tmp_path) == f"sqlite://{tmp_path.parent / 'centre' / 'queue.db'}"  # no file: defaults
    assert fleet_store_url(tmp_path) == default_fleet_store_url(tmp_path)
    stores = {Store.QUEUE: "postgresql:///anjungan", Store.FLEET: "sqlite:///var/lib/anjungan/fleet-health.db"}
    (tmp_path / STORES_FILE).write_bytes(render(stores))
    assert parse(render(stores), "x") == stores
    assert queue_url(tmp_path) == "postgresql:///anjungan"
    assert fleet_store_url(tmp_path) == "sqlite:///var/lib/anjungan/fleet-health.db"
    assert queue_url(tmp_path, "sqlite:///q.db") == "sqlite:///q.db"
    assert fleet_store_url(tmp_path, fleet_db="sqlite:///f.db") == "sqlite:///f.db"
    (tmp_path / STORES_FILE).write_bytes(render({Store.QUEUE: "sqlite:///srv/q/queue.db"}))
    assert fleet_store_url(tmp_path) == "sqlite:///srv/q/fleet-health.db"  # beside the queue it names


@pytest.mark.parametrize("raw", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_is_one_line_from_every_command(raw: bytes, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path / "run"))
    init_fleet(tmp_path / "fleet")
    (tmp_path / "fleet" / STORES_FILE).write_bytes(raw)
    folder = str(tmp_path / "fleet")
    for argv in (["broker", "queue", "--fleet", folder],
                 ["broker", "run", "--fleet", folder, "--allow-ca-key", "--siak", "http://127.0.0.1:9",
                  "--siak-insecure-http"],
                 ["fleet", "add-staff", "ayu", "--fleet", folder, "--password-stdin"],
                 ["fleet", "set-site", "k-01", "--office", "o", "--kecamatan", "k", "--fleet", folder]):
        monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-enough-password\n"))
        assert main(argv) != 0, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err and len(err) < 400, (argv, err)
        assert STORES_FILE in err, (argv, err)
    assert not list(tmp_path.rglob("*.db"))  # nothing created from a file it could not read


def test_a_local_socket_url_keeps_its_empty_host() -> None:
    """postgresql:///anjungan (the installed centre's queue: the local socket, peer auth) was
    once handed to libpq as postgresql:/anjungan, which it refuses."""
    assert split_schema("postgresql:///anjungan") == ("postgresql:///anjungan", "anjungan")
    assert split_schema("postgresql:///anjungan?schema=q2", "x") == ("postgresql:///anjungan", "q2")
    assert split_schema("postgresql://u@h:5432/db?sslmode=require&schema=s") == (
        "postgresql://u@h:5432/db?sslmode=require", "s")
