"""Operator commands against a real SQLite queue, through the `anjungan` entry point."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from anjungan.packet.model import PriorityClass
from broker.queue import Envelope, open_queue
from entrypoints.cli import main


def seed(db: str) -> list[str]:
    q = open_queue(db)
    ids = [str(uuid.UUID(int=n)) for n in (1, 2, 3)]
    q.enqueue([Envelope(packet_id=pid, kiosk_id="kiosk-01", sequence=n, priority=PriorityClass(n - 1),
                        captured_at=0.0, packet=b"x") for n, pid in enumerate(ids, 1)], now=0.0)
    q.dead_letter(ids[2], now=1.0, reason="SIAK 422: bad")
    q.close()
    return ids


def test_queue_and_dead_letters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite://{tmp_path / 'q.db'}"
    ids = seed(db)
    assert main(["broker", "queue", "--db", db, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(c["priority"], c["depth"]) for c in out["classes"]] == [
        ("vulnerable", 1), ("first_recording", 1), ("routine", 0),
    ]
    assert out["dead_letters"] == 1
    assert main(["broker", "dead-letters", "list", "--db", db, "--json"]) == 0
    assert [d["packet_id"] for d in json.loads(capsys.readouterr().out)] == [ids[2]]
    assert main(["broker", "dead-letters", "retry", "--db", db, ids[2]]) == 0
    assert capsys.readouterr().out.strip() == "1 dead letter(s) queued again"
    assert main(["broker", "dead-letters", "purge", "--db", db, "--all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"purged": 0}


def test_bad_arguments_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["broker", "queue"]) == 2
    assert capsys.readouterr().err.strip() == "anjungan: error: give --db URL or --fleet DIR"
    assert main(["broker", "dead-letters", "retry", "--db", f"sqlite://{tmp_path / 'q.db'}"]) == 2
    assert main(["broker", "queue", "--db", "ftp://x"]) == 1
    assert "unsupported queue URL scheme" in capsys.readouterr().err
