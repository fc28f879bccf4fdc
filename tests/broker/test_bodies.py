"""SQLite keeps sealed bodies in files beside the database: written once, synced before the
row commits, shredded when SIAK has the packet or an operator purges it, orphans swept."""

from __future__ import annotations

import errno
import os
import sqlite3
import uuid
from pathlib import Path

import pytest

from anjungan.messages import SiakState
from anjungan.packet.model import PriorityClass
from broker.queue import Admission, EntryState, Envelope, open_queue
from broker.queue.bodies import BodyStore
from broker.queue.sqlite import SqliteQueue
from tests.broker.test_queue_schema import OLD_SQLITE


def env(seq: int, *, pid: str | None = None, size: int = 5000) -> Envelope:
    return Envelope(packet_id=pid or str(uuid.UUID(int=seq)), kiosk_id="kiosk-01", sequence=seq,
                    priority=PriorityClass.ROUTINE, captured_at=1.0,
                    packet=bytes([seq % 251]) * size)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


def files(db: Path) -> set[str]:
    return {p.name for p in Path(f"{db}-bodies").iterdir() if p.name != ".lock"}


def open_sqlite(db: Path) -> SqliteQueue:
    q = open_queue(f"sqlite://{db}")
    assert isinstance(q, SqliteQueue)
    return q


def test_each_body_is_one_file_and_not_in_the_database(db: Path) -> None:
    q = open_sqlite(db)
    assert q.enqueue([env(1), env(2), env(1)], now=1.0) == [Admission.NEW, Admission.NEW, Admission.DUPLICATE]
    assert q.enqueue([env(2), env(2, pid=str(uuid.uuid4()))], now=2.0) == [
        Admission.DUPLICATE, Admission.REPLAYED_SEQUENCE,
    ]
    names = files(db)
    assert sorted(n.split(".")[0] for n in names) == [env(1).packet_id, env(2).packet_id]
    for name in names:
        assert Path(f"{db}-bodies", name).read_bytes() == env(int(uuid.UUID(name.split(".")[0]))).packet
    inline = sqlite3.connect(db).execute("SELECT COUNT(*) FROM packets WHERE packet IS NOT NULL").fetchone()
    assert inline == (0,)
    assert [le.packet for le in q.lease(owner="w", now=3.0, lease_s=5.0, limit=5)] == [env(1).packet, env(2).packet]
    q.close()


def test_accept_and_purge_shred_the_body_dead_letters_keep_it(db: Path) -> None:
    q = open_sqlite(db)
    q.enqueue([env(1), env(2), env(3)], now=1.0)
    q.accept(env(1).packet_id, now=2.0, siak_state=SiakState.SENT_FOR_ENROLLMENT)
    q.dead_letter(env(2).packet_id, now=2.0, reason="siak 422")
    q.dead_letter(env(3).packet_id, now=2.0, reason="siak 422")
    assert sorted(n.split(".")[0] for n in files(db)) == [env(2).packet_id, env(3).packet_id]
    assert q.retry_dead([env(2).packet_id], now=3.0) == 1
    assert [le.packet for le in q.lease(owner="w", now=3.0, lease_s=5.0)] == [env(2).packet]
    assert q.purge_dead(None) == 1
    assert [n.split(".")[0] for n in files(db)] == [env(2).packet_id]
    q.accept(env(2).packet_id, now=4.0, siak_state=SiakState.SENT_FOR_ENROLLMENT)
    assert files(db) == set()
    q.close()


def test_shred_overwrites_before_unlinking(tmp_path: Path) -> None:
    store = BodyStore(tmp_path / "bodies")
    (ref,) = store.put([(str(uuid.UUID(int=1)), b"\xaa" * 300_000)])
    store.sync([ref])
    with open(tmp_path / "bodies" / ref.name, "rb") as still_open:  # the inode outlives the unlink
        assert store.shred([ref.name]) == 1
        assert not (tmp_path / "bodies" / ref.name).exists()
        assert still_open.read() == bytes(300_000)
    store.close()


def test_bodies_staged_but_never_committed_are_swept_at_the_next_open(db: Path) -> None:
    q = open_sqlite(db)
    q.enqueue([env(1)], now=1.0)
    staged = q.stage([env(2), env(3), env(1)])  # as if the process died before the commit
    assert [e.body_ref is not None for e in staged] == [True, True, False]  # 1 is stored already
    assert len(files(db)) == 3
    other = open_sqlite(db)  # not the sole user of the store: must not sweep
    assert len(files(db)) == 3
    other.close()
    q.close()
    again = open_sqlite(db)
    assert [n.split(".")[0] for n in files(db)] == [env(1).packet_id]
    assert [le.packet for le in again.lease(owner="w", now=2.0, lease_s=5.0)] == [env(1).packet]
    again.close()


def test_staged_duplicates_leave_nothing_behind(db: Path) -> None:
    q = open_sqlite(db)
    first = q.stage([env(1)])
    second = q.stage([env(1)])  # redelivered while the first was still committing
    assert q.enqueue(first, now=1.0) == [Admission.NEW]
    assert q.enqueue(second, now=1.0) == [Admission.DUPLICATE]
    assert [n.split(".")[0] for n in files(db)] == [env(1).packet_id]
    q.close()


def test_a_damaged_body_becomes_a_dead_letter_not_a_bad_submission(db: Path) -> None:
    q = open_sqlite(db)
    q.enqueue([env(1), env(2)], now=1.0)
    victim = next(n for n in files(db) if n.startswith(env(1).packet_id))
    with open(Path(f"{db}-bodies", victim), "r+b") as f:
        f.write(b"\x00")
    got = q.lease(owner="w", now=2.0, lease_s=5.0, limit=5)
    assert [le.packet_id for le in got] == [env(2).packet_id]
    dead = q.get(env(1).packet_id)
    assert dead is not None and (dead.state, dead.reason) == (EntryState.DEAD, "stored body lost")
    q.close()


def test_a_body_unreadable_for_now_is_retried_after_its_lease_not_dead_lettered(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import broker.queue.bodies as bodies

    q = open_sqlite(db)
    q.enqueue([env(1), env(2)], now=1.0)
    name = next(n for n in files(db) if n.startswith(env(1).packet_id))

    def flaky_disk(path, *args, **kwargs):  # EIO for that one file, as a failing disk gives
        if Path(path).name == name:
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(bodies, "open", flaky_disk, raising=False)
    got = q.lease(owner="w", now=2.0, lease_s=5.0, limit=5)
    assert [le.packet_id for le in got] == [env(2).packet_id]
    entry = q.get(env(1).packet_id)
    assert entry is not None and entry.state is not EntryState.DEAD
    monkeypatch.undo()  # the disk recovers
    again = {le.packet_id: le for le in q.lease(owner="w", now=8.0, lease_s=5.0, limit=5)}
    assert again[env(1).packet_id].packet == env(1).packet  # back after its lease ran out
    q.close()


def test_a_body_that_will_not_become_readable_is_a_dead_letter(db: Path) -> None:
    q = open_sqlite(db)
    q.enqueue([env(1)], now=1.0)
    name = next(iter(files(db)))
    path = Path(f"{db}-bodies", name)
    path.unlink()
    path.mkdir()  # EISDIR: no retry will fix it
    assert q.lease(owner="w", now=2.0, lease_s=5.0, limit=5) == []
    dead = q.get(env(1).packet_id)
    assert dead is not None and dead.state is EntryState.DEAD
    path.rmdir()
    q.close()


def test_a_queue_from_before_bodies_moved_to_files_still_relays(db: Path) -> None:
    old = sqlite3.connect(db)
    old.executescript(OLD_SQLITE)  # the queue as it was made before bodies moved to files
    old.execute("INSERT INTO packets VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (env(1).packet_id, "kiosk-01", 1, 2, "pending", 1.0, 1.0, None, 0, "queued", "",
                 1.0, 1.0, "", env(1).packet))
    old.commit()
    old.close()
    q = open_sqlite(db)
    assert q.enqueue([env(2)], now=2.0) == [Admission.NEW]
    assert [le.packet for le in q.lease(owner="w", now=3.0, lease_s=5.0, limit=5)] == [env(1).packet, env(2).packet]
    assert q.accept(env(1).packet_id, now=4.0, siak_state=SiakState.SENT_FOR_ENROLLMENT)
    row = sqlite3.connect(db).execute("SELECT packet FROM packets WHERE packet_id = ?", (env(1).packet_id,))
    assert row.fetchone() == (None,)
    q.close()


def test_files_are_private(db: Path) -> None:
    q = open_sqlite(db)
    q.enqueue([env(1)], now=1.0)
    assert os.stat(f"{db}-bodies").st_mode & 0o077 == 0
    assert all(os.stat(Path(f"{db}-bodies", n)).st_mode & 0o077 == 0 for n in files(db))
    q.close()


def test_where_bodies_live_is_chosen_apart_from_the_database(db: Path) -> None:
    from broker.queue.body_storage import InlineBodies

    q = open_sqlite(db)
    q.storage.close()
    q.storage = InlineBodies()  # SQLite with PostgreSQL's choice: bodies in the row
    assert q.enqueue([env(1)], now=1.0) == [Admission.NEW]
    row = sqlite3.connect(db).execute("SELECT packet, body_file FROM packets").fetchone()
    assert row == (env(1).packet, None) and files(db) == set()
    q.close()
    q = open_sqlite(db)  # files again: the inline row still relays beside a file one
    assert q.enqueue([env(2)], now=2.0) == [Admission.NEW] and len(files(db)) == 1
    assert [le.packet for le in q.lease(owner="w", now=3.0, lease_s=5.0, limit=5)] == [env(1).packet, env(2).packet]
    q.close()
