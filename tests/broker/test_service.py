"""End to end over real Mosquitto (TLS), the real service process and the SIAK simulator:
ingest, bad input, and fault tests that count what SIAK received."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anjungan.messages import AckOutcome
from anjungan.packet import decode_packet, encode_packet
from anjungan.packet.model import PriorityClass
from broker.queue import EntryState, open_queue
from broker.siak.ledger import Ledger
from broker.siak.sim import SiakSimulator, SimConfig, SimServer
from provisioning.bundle import KioskBundle
from tests.broker.harness import Mosquitto, Service, TestKiosk, drive
from tests.broker.kit import make_fleet, packet_bytes, small_body
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


class Stack:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.fleet_dir, self.bundles = make_fleet(root, ("kiosk-01", "kiosk-02"))
        self.mosquitto = Mosquitto(self.fleet_dir, root).start()
        self.sim = SimServer(SiakSimulator(SimConfig(capacity_rps=300.0, concurrency=8, latency_s=0.005),
                                           Ledger(bio_after_s=0.0, print_after_s=0.0))).__enter__()
        self.service = Service(self.fleet_dir, root, mqtt_url=self.mosquitto.url, siak_url=self.sim.url)
        self.kiosks: dict[str, TestKiosk] = {}

    def kiosk(self, kid: str) -> TestKiosk:
        if kid not in self.kiosks:
            self.kiosks[kid] = TestKiosk(self.bundles[kid], self.mosquitto.port)
            assert self.kiosks[kid].connected.wait(10)
        return self.kiosks[kid]

    def siak(self) -> dict:
        return httpx.get(self.sim.url + "/_sim/accepted").json()

    def faults(self, **kw: object) -> None:
        httpx.post(self.sim.url + "/_sim/faults", json=kw).raise_for_status()

    def accepted_keys(self) -> list[str]:
        return [a["idempotency_key"] for a in self.siak()["accepted"]]

    def close(self) -> None:
        for k in self.kiosks.values():
            k.close()
        self.service.stop()
        self.sim.__exit__()
        self.mosquitto.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    yield s
    s.close()


def publish(kiosk: TestKiosk, bundle: KioskBundle, seqs: range,
            prio: PriorityClass = PriorityClass.ROUTINE) -> list[str]:
    ids = []
    for seq in seqs:
        pid, raw = packet_bytes(bundle, seq, priority=prio)
        kiosk.send(pid, raw)
        ids.append(pid)
    return ids


def exactly_once(stack: Stack, ids: list[str]) -> None:
    keys = stack.accepted_keys()
    assert sorted(keys) == sorted(ids), "SIAK must receive every packet exactly once"


def test_ingest_acks_after_commit_and_relays_once_with_bad_input(stack: Stack) -> None:
    stack.faults(down=True)  # SIAK down: ingest must not care
    stack.service.start()
    k1, b1 = stack.kiosk("kiosk-01"), stack.bundles["kiosk-01"]
    ids = publish(k1, b1, range(1, 11))
    assert drive([k1], lambda: not k1.outbox, timeout=30)
    assert {k1.acks[p].outcome for p in ids} == {AckOutcome.ACCEPTED}
    assert stack.accepted_keys() == []

    # bad input: garbage, forged signature, a replayed sequence, an oversized message
    k1.publish_raw(b"\x00garbage\xff")
    forged_id, raw = packet_bytes(b1, 11)
    p = decode_packet(raw)
    forged = encode_packet(type(p)(header=p.header, sealed_body=p.sealed_body,
                                   signature=bytes(64), certificate=p.certificate))
    k1.send(forged_id, forged, keep=False)
    replay_id, replay = packet_bytes(b1, 3, nik_index=99)  # new id, old sequence 3
    k1.send(replay_id, replay, keep=False)
    k1.publish_raw(b"\xa0" * (8 * 1024 * 1024 + 1))
    k1.send(ids[0], k1.sent[ids[0]], keep=False)  # a duplicate: acked again, stored once
    assert wait_until(lambda: forged_id in k1.acks and replay_id in k1.acks, timeout=20)
    assert (k1.acks[forged_id].outcome, k1.acks[forged_id].reason) == (AckOutcome.REJECTED, "bad_signature")
    assert (k1.acks[replay_id].outcome, k1.acks[replay_id].reason) == (AckOutcome.REJECTED, "replayed_sequence")
    assert wait_until(lambda: k1.acks[ids[0]].outcome is AckOutcome.DUPLICATE, timeout=20)

    stack.faults(down=False)
    assert wait_until(lambda: len(stack.accepted_keys()) == 10, timeout=30)
    assert stack.service.alive()
    q = open_queue(stack.service.db)
    reasons = sorted(r.reason for r in q.rejections())
    assert reasons == ["bad_signature", "malformed", "replayed_sequence", "too_large"]
    assert len(q.entries()) == 10
    q.close()
    exactly_once(stack, ids)




def test_sigkill_during_ingest_loses_and_duplicates_nothing(stack: Stack) -> None:
    stack.service.start()
    k1, k2 = stack.kiosk("kiosk-01"), stack.kiosk("kiosk-02")
    ids = publish(k1, stack.bundles["kiosk-01"], range(1, 21))
    ids += publish(k2, stack.bundles["kiosk-02"], range(1, 21))
    assert drive([k1, k2], lambda: len(k1.acks) + len(k2.acks) >= 1, timeout=30, resend_every=3)
    # more in flight at the moment of the kill: ingest is fast enough to have finished the
    # first batch by the time anyone looks
    ids += publish(k1, stack.bundles["kiosk-01"], range(21, 41))
    ids += publish(k2, stack.bundles["kiosk-02"], range(21, 41))
    stack.service.kill()  # mid-stream: some committed and acked, some not
    assert len(k1.outbox) + len(k2.outbox) > 0
    ids += publish(k1, stack.bundles["kiosk-01"], range(41, 51))  # while the centre is dead
    stack.service.start()
    assert drive([k1, k2], lambda: not k1.outbox and not k2.outbox, timeout=60)
    assert wait_until(lambda: len(stack.accepted_keys()) >= len(ids), timeout=60)
    exactly_once(stack, ids)


def body_files(stack: Stack) -> set[str]:
    folder = Path(stack.service.db[len("sqlite://"):] + "-bodies")
    return {p.name for p in folder.iterdir() if p.name != ".lock"}


def test_sigkill_while_bodies_are_written_leaves_no_orphan(stack: Stack) -> None:
    stack.faults(down=True)  # keep every body on disk until the end
    stack.service.start()
    k1, b1 = stack.kiosk("kiosk-01"), stack.bundles["kiosk-01"]
    ids = []
    for seq in range(1, 61):  # ~400 KB each: the kill lands while bodies are being written
        pid, raw = packet_bytes(b1, seq, body=small_body(seq, image_bytes=400_000))
        k1.send(pid, raw)
        ids.append(pid)
    assert drive([k1], lambda: len(k1.acks) >= 3, timeout=30, resend_every=3)
    stack.service.kill()
    assert k1.outbox
    stack.service.start()  # the sole user of the store again: sweeps what no row names
    assert drive([k1], lambda: not k1.outbox, timeout=60)
    q = open_queue(stack.service.db)
    pending = q.entries(state=EntryState.PENDING)
    assert sorted(e.packet_id for e in pending) == sorted(ids)  # each stored once
    # re-sends still in the pipeline may have bodies staged; once they commit as duplicates
    # those go too, leaving exactly one body per stored packet: no orphan
    assert wait_until(lambda: sorted(n.split(".")[0] for n in body_files(stack)) == sorted(ids), timeout=30)
    stack.faults(down=False)
    assert wait_until(lambda: len(q.entries(state=EntryState.ACCEPTED)) == 60, timeout=60)
    q.close()
    exactly_once(stack, ids)
    assert body_files(stack) == set()  # shredded once SIAK has them


def test_sigkill_during_relay_loses_and_duplicates_nothing(stack: Stack) -> None:
    stack.faults(latency_s=0.3)  # slow SIAK: the kill lands with submissions in flight
    stack.service.start()
    k1 = stack.kiosk("kiosk-01")
    ids = publish(k1, stack.bundles["kiosk-01"], range(1, 31))
    assert drive([k1], lambda: not k1.outbox, timeout=30)
    assert wait_until(lambda: len(stack.accepted_keys()) >= 4, timeout=30)
    stack.service.kill()
    assert len(stack.accepted_keys()) < 30
    stack.faults(latency_s=0.005)
    stack.service.start()  # leases of the dead process expire (3 s) and come back
    assert wait_until(lambda: len(stack.accepted_keys()) >= 30, timeout=60)
    q = open_queue(stack.service.db)
    assert wait_until(lambda: len(q.entries(state=EntryState.ACCEPTED)) == 30, timeout=30)
    q.close()
    exactly_once(stack, ids)


def test_mosquitto_restart_mid_stream(stack: Stack) -> None:
    stack.service.start()
    k1 = stack.kiosk("kiosk-01")
    b1 = stack.bundles["kiosk-01"]
    ids = publish(k1, b1, range(1, 21))
    stack.mosquitto.proc.kill()  # SIGKILL the broker mid-stream
    ids += publish(k1, b1, range(21, 31))  # paho queues these while it is gone
    stack.mosquitto.start()
    assert drive([k1], lambda: not k1.outbox, timeout=60)
    assert wait_until(lambda: len(stack.accepted_keys()) >= 30, timeout=60)
    exactly_once(stack, ids)


def test_after_an_outage_higher_classes_drain_first(stack: Stack) -> None:
    stack.faults(down=True)
    stack.service.args[stack.service.args.index("--workers") + 1] = "1"
    stack.service.start()
    k1 = stack.kiosk("kiosk-01")
    b1 = stack.bundles["kiosk-01"]
    routine = publish(k1, b1, range(1, 11), PriorityClass.ROUTINE)
    first = publish(k1, b1, range(11, 21), PriorityClass.FIRST_RECORDING)
    vulnerable = publish(k1, b1, range(21, 31), PriorityClass.VULNERABLE)
    assert drive([k1], lambda: not k1.outbox, timeout=30)
    # SIAK stays down until the relay has been refused at least once (its breaker probes)
    assert wait_until(lambda: stack.siak()["counts"].get("503", 0) > 0, timeout=30)
    stack.faults(down=False)
    assert wait_until(lambda: len(stack.accepted_keys()) >= 30, timeout=60)
    cls = {**dict.fromkeys(vulnerable, 0), **dict.fromkeys(first, 1), **dict.fromkeys(routine, 2)}
    order = [cls[k] for k in stack.accepted_keys()]
    # the probe that reopened SIAK may be any class; after it, strict class order
    assert order[1:] == sorted(order[1:])
    exactly_once(stack, vulnerable + first + routine)


def test_sigkill_with_feedback_in_flight_loses_and_duplicates_nothing(stack: Stack) -> None:
    """A resident's complaint is acked only after the centre has committed it; the kiosk
    keeps it and sends it again until then."""
    from broker.fleet.store import open_store

    stack.service = Service(stack.fleet_dir, stack.root, mqtt_url=stack.mosquitto.url,
                            siak_url=stack.sim.url, extra=("--http", "127.0.0.1:0"))
    stack.service.start()  # with fleet health and the dashboard, which take the feedback
    k1 = stack.kiosk("kiosk-01")
    wanted = [f"fb-{n:03d}" for n in range(60)]
    for fid in wanted[:30]:
        k1.send_feedback(fid, f"antrean lama ({fid})")
    assert drive([k1], lambda: len(k1.feedback) < 30, timeout=30, resend_every=3)
    for fid in wanted[30:]:
        k1.send_feedback(fid, f"antrean lama ({fid})")
    stack.service.kill()  # some stored and acked, the rest received or not, but unacked
    assert k1.feedback, "the kill came too late to test anything"
    stack.service.start()
    assert drive([k1], lambda: not k1.feedback, timeout=60, resend_every=3)
    store = open_store(f"sqlite://{stack.root / 'fleet-health.db'}")
    try:
        stored = [r.feedback.feedback_id for r in store.feedback(limit=1000)]
    finally:
        store.close()
    assert sorted(stored) == wanted  # every one, once


def test_a_receipt_from_another_kiosk_is_answered_over_the_real_broker(stack: Stack) -> None:
    """Through the generated ACL: kiosk-01 may ask on its own query topic, and hears on its
    own ack topic about a packet kiosk-02 captured."""
    stack.service.start()
    k1, k2 = stack.kiosk("kiosk-01"), stack.kiosk("kiosk-02")
    ids = publish(k2, stack.bundles["kiosk-02"], range(1, 3))
    assert drive([k2], lambda: not k2.outbox, timeout=30)
    assert wait_until(lambda: len(stack.accepted_keys()) == 2, timeout=30)
    k1.ask("q-1", ids[0])
    k1.ask("q-2", "01a21f8d-7cc7-73ef-8861-e7964dd646c3")  # no such packet
    assert wait_until(lambda: len(k1.replies) == 2, timeout=20)
    assert k1.replies["q-1"].state in ("SENT_FOR_ENROLLMENT", "BIO_CAPTURED", "PRINT_READY")
    assert k1.replies["q-2"].state == "UNKNOWN"
    assert not k2.replies  # the answer goes to the asker only
