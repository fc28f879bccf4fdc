"""A kiosk re-enrolled under its old id must not reuse sequences the centre has seen."""

from kiosk.outbox import MemoryOutbox, SqliteOutbox
from provisioning.bundle import complete, load_bundle, request
from provisioning.fleet import init_fleet, revoke


def test_reenrolled_kiosk_starts_above_its_old_sequences(tmp_path):
    fleet = init_fleet(tmp_path / "fleet")
    request(tmp_path / "first", "dps-01")
    complete(fleet, tmp_path / "first", now=1_800_000_000.0)
    first = load_bundle(tmp_path / "first")
    old = SqliteOutbox(tmp_path / "first" / "outbox.db", sequence_floor=first.sequence_floor)
    used = [old.reserve_sequence() for _ in range(5)]
    old.close()
    revoke(fleet, "dps-01")
    request(tmp_path / "second", "dps-01")  # the Pi's disk was replaced: a new device key
    complete(fleet, tmp_path / "second", now=1_800_000_060.0)
    second = load_bundle(tmp_path / "second")
    new = SqliteOutbox(tmp_path / "second" / "outbox.db", sequence_floor=second.sequence_floor)
    assert new.reserve_sequence() > max(used)
    new.close()
    # a restart never goes back below what was already used
    again = SqliteOutbox(tmp_path / "second" / "outbox.db", sequence_floor=0)
    assert again.reserve_sequence() == second.sequence_floor + 2
    again.close()
    assert MemoryOutbox(sequence_floor=7).reserve_sequence() == 8
