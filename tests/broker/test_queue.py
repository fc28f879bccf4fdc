"""One suite for every queue implementation (memory twin, SQLite, PostgreSQL)."""

from __future__ import annotations

import threading
import uuid

from anjungan.messages import SiakState
from anjungan.packet.model import PriorityClass
from broker.queue import Admission, EntryState, Envelope, PacketQueue, Rejection, open_queue

V, F, R = PriorityClass.VULNERABLE, PriorityClass.FIRST_RECORDING, PriorityClass.ROUTINE


def env(seq: int, prio: PriorityClass = R, kiosk: str = "kiosk-01", pid: str | None = None) -> Envelope:
    return Envelope(
        packet_id=pid or str(uuid.UUID(int=seq)), kiosk_id=kiosk, sequence=seq, priority=prio,
        captured_at=1000.0 + seq, packet=b"sealed-%d" % seq,
    )


def test_enqueue_is_idempotent_by_packet_id(queue: PacketQueue) -> None:
    first = env(1)
    assert queue.enqueue([first, env(2)], now=2000.0) == [Admission.NEW, Admission.NEW]
    assert queue.enqueue([first], now=2001.0) == [Admission.DUPLICATE]
    assert [e.packet_id for e in queue.entries()] == [first.packet_id, env(2).packet_id]
    assert queue.get(first.packet_id).committed_at == 2000.0  # type: ignore[union-attr]


def test_duplicate_inside_one_batch_is_stored_once(queue: PacketQueue) -> None:
    assert queue.enqueue([env(1), env(1)], now=1.0) == [Admission.NEW, Admission.DUPLICATE]
    assert len(queue.entries()) == 1


def test_reused_sequence_with_another_id_is_a_replay(queue: PacketQueue) -> None:
    queue.enqueue([env(5)], now=1.0)
    other = env(5, pid=str(uuid.uuid4()))
    assert queue.enqueue([other], now=2.0) == [Admission.REPLAYED_SEQUENCE]
    assert queue.enqueue([env(5, kiosk="kiosk-02", pid=str(uuid.uuid4()))], now=2.0) == [Admission.NEW]


def test_lease_order_is_priority_then_commit_time(queue: PacketQueue) -> None:
    queue.enqueue([env(1, R), env(2, F), env(3, V), env(4, V)], now=10.0)
    got = queue.lease(owner="w", now=10.0, lease_s=30.0, limit=10)
    assert [le.packet_id for le in got] == [env(n).packet_id for n in (3, 4, 2, 1)]
    assert [le.attempts for le in got] == [1, 1, 1, 1]
    assert got[0].packet == b"sealed-3"


def test_aging_lets_an_old_routine_packet_pass_fresh_urgent_ones(queue: PacketQueue) -> None:
    # aging_s=100: a routine packet (class 2) outranks vulnerable ones committed > 200 s later.
    queue.enqueue([env(1, R)], now=0.0)
    queue.enqueue([env(2, V)], now=150.0)
    queue.enqueue([env(3, V)], now=250.0)
    got = queue.lease(owner="w", now=300.0, lease_s=30.0, limit=3)
    assert [le.packet_id for le in got] == [env(2).packet_id, env(1).packet_id, env(3).packet_id]


def test_leased_packet_is_hidden_until_the_lease_expires(queue: PacketQueue) -> None:
    queue.enqueue([env(1)], now=0.0)
    assert len(queue.lease(owner="a", now=1.0, lease_s=10.0)) == 1
    assert queue.lease(owner="b", now=5.0, lease_s=10.0) == []
    again = queue.lease(owner="b", now=11.0, lease_s=10.0)
    assert [(le.owner, le.attempts) for le in again] == [("b", 2)]
    # the crashed worker's late report no longer holds the lease
    assert queue.retry_later(env(1).packet_id, owner="a", visible_at=20.0, reason="x") is False


def test_retry_later_hides_until_visible_at(queue: PacketQueue) -> None:
    queue.enqueue([env(1)], now=0.0)
    queue.lease(owner="a", now=0.0, lease_s=10.0)
    assert queue.retry_later(env(1).packet_id, owner="a", visible_at=5.0, reason="503") is True
    assert queue.lease(owner="a", now=4.0, lease_s=10.0) == []
    assert len(queue.lease(owner="a", now=5.0, lease_s=10.0)) == 1
    assert queue.get(env(1).packet_id).reason == "503"  # type: ignore[union-attr]


def test_release_held_puts_priority_before_backoff_luck(queue: PacketQueue) -> None:
    low, high = env(1, PriorityClass.ROUTINE), env(2, PriorityClass.VULNERABLE)
    queue.enqueue([low, high], now=0.0)
    queue.lease(owner="a", now=0.0, lease_s=10.0, limit=2)
    queue.retry_later(low.packet_id, owner="a", visible_at=1.0, reason="503")
    queue.retry_later(high.packet_id, owner="a", visible_at=9.0, reason="503")
    assert queue.lease(owner="b", now=0.5, lease_s=10.0) == []  # both held back
    assert queue.release_held(now=0.6) == 2  # SIAK is back: both visible now
    assert [le.packet_id for le in queue.lease(owner="d", now=0.6, lease_s=10.0)] == [high.packet_id]


def test_accept_is_final_and_idempotent(queue: PacketQueue) -> None:
    queue.enqueue([env(1)], now=0.0)
    queue.lease(owner="a", now=0.0, lease_s=10.0)
    assert queue.accept(env(1).packet_id, now=3.0, siak_state=SiakState.SENT_FOR_ENROLLMENT)
    assert not queue.accept(env(1).packet_id, now=4.0, siak_state=SiakState.SENT_FOR_ENROLLMENT)
    e = queue.get(env(1).packet_id)
    assert e is not None and (e.state, e.accepted_at) == (EntryState.ACCEPTED, 3.0)
    assert queue.lease(owner="a", now=100.0, lease_s=10.0) == []
    assert queue.enqueue([env(1)], now=5.0) == [Admission.DUPLICATE]


def test_siak_state_changes_and_enrollment_listing(queue: PacketQueue) -> None:
    queue.enqueue([env(1), env(2)], now=0.0)
    for n in (1, 2):
        queue.accept(env(n).packet_id, now=1.0, siak_state=SiakState.SENT_FOR_ENROLLMENT)
    assert queue.set_siak_state(env(1).packet_id, SiakState.PRINT_READY, now=2.0) is True
    assert queue.set_siak_state(env(1).packet_id, SiakState.PRINT_READY, now=3.0) is False
    assert [e.packet_id for e in queue.in_enrollment()] == [env(2).packet_id]


def test_dead_letters_list_retry_purge(queue: PacketQueue) -> None:
    queue.enqueue([env(1), env(2), env(3)], now=0.0)
    for n in (1, 2, 3):
        assert queue.dead_letter(env(n).packet_id, now=1.0, reason="siak 422: bad nik")
    dead = queue.entries(state=EntryState.DEAD)
    assert [(e.packet_id, e.reason) for e in dead][0] == (env(1).packet_id, "siak 422: bad nik")
    assert queue.retry_dead([env(1).packet_id], now=2.0) == 1
    assert [le.packet_id for le in queue.lease(owner="w", now=2.0, lease_s=5.0)] == [env(1).packet_id]
    assert queue.purge_dead([env(2).packet_id]) == 1
    assert queue.purge_dead(None) == 1
    assert queue.retry_dead(None, now=3.0) == 0
    assert queue.get(env(2).packet_id).state is EntryState.PURGED  # type: ignore[union-attr]
    assert queue.enqueue([env(2)], now=4.0) == [Admission.DUPLICATE]


def test_depth_per_class(queue: PacketQueue) -> None:
    queue.enqueue([env(1, V), env(2, V)], now=10.0)
    queue.enqueue([env(3, R)], now=40.0)
    queue.lease(owner="w", now=50.0, lease_s=100.0, limit=1)
    rows = queue.depth(now=70.0)
    assert [(d.priority, d.depth, d.leased, d.oldest_age_s) for d in rows] == [
        (V, 2, 1, 60.0), (F, 0, 0, 0.0), (R, 1, 0, 30.0),
    ]


def test_rejections_are_recorded_newest_first(queue: PacketQueue) -> None:
    queue.reject(Rejection(kiosk_id="kiosk-01", packet_id="", reason="malformed", at=1.0))
    queue.reject(Rejection(kiosk_id="kiosk-02", packet_id="p", reason="bad_signature", at=2.0))
    assert [(r.kiosk_id, r.reason) for r in queue.rejections()] == [
        ("kiosk-02", "bad_signature"), ("kiosk-01", "malformed"),
    ]


def test_concurrent_workers_never_lease_the_same_packet(queue_url: str) -> None:
    setup = open_queue(queue_url)
    setup.enqueue([env(n) for n in range(1, 61)], now=0.0)
    seen: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        q = setup  # one queue object, a connection per thread
        while got := q.lease(owner=name, now=1.0, lease_s=60.0, limit=3):
            with lock:
                seen.extend(le.packet_id for le in got)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    setup.close()
    assert sorted(seen) == sorted(env(n).packet_id for n in range(1, 61))


def test_state_survives_reopening(queue_url: str) -> None:
    if queue_url.startswith("memory"):
        return  # the twin is not durable by design
    q = open_queue(queue_url)
    q.enqueue([env(1, V)], now=0.0)
    q.close()
    again = open_queue(queue_url)
    assert [le.packet_id for le in again.lease(owner="w", now=1.0, lease_s=1.0)] == [env(1).packet_id]
    again.close()


def test_staging_ahead_commits_the_same(queue: PacketQueue) -> None:
    staged = queue.stage([env(1), env(2), env(1)])
    assert [e.packet_id for e in staged] == [env(n).packet_id for n in (1, 2, 1)]
    assert queue.enqueue(staged, now=1.0) == [Admission.NEW, Admission.NEW, Admission.DUPLICATE]
    assert queue.enqueue(queue.stage([env(2)]), now=2.0) == [Admission.DUPLICATE]
    got = queue.lease(owner="w", now=3.0, lease_s=5.0, limit=5)
    assert [le.packet for le in got] == [b"sealed-1", b"sealed-2"]
