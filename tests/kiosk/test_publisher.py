"""The publisher: against its in-memory twin, then a real Mosquitto (plain TCP and TLS)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from anjungan import topics
from anjungan.messages import (
    Ack,
    AckOutcome,
    Feedback,
    FeedbackAck,
    Health,
    HelpAck,
    HelpRequest,
    HelpState,
    KioskStatus,
    PacketStatus,
    SiakState,
)
from kiosk.outbox import MemoryOutbox, OutboxEntry, SqliteOutbox
from kiosk.publisher import Publisher, offline_will
from kiosk.transport import MemoryTransport, MqttTransport, TlsFiles
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import KioskBundle
from provisioning.fleet import centre_tls, load_trust, open_fleet
from provisioning.mosquitto import write_config
from tests.kiosk.centre import Centre, PlainBroker
from tests.kiosk.helpers import NOW
from tests.waiting import wait_until

KIOSK = "kiosk-01"


def pid(seq: int) -> str:
    return f"00000000-0000-7000-8000-{seq:012d}"


def entry(seq: int, prio: int) -> OutboxEntry:
    return OutboxEntry(sequence=seq, packet_id=pid(seq), priority=prio, created_at=NOW, data=b"p%d" % seq)


def health(now: float) -> Health:
    return Health(kiosk_id=KIOSK, session_id="s1", at=now)


def make(outbox: MemoryOutbox) -> tuple[Publisher, MemoryTransport]:
    t = MemoryTransport()
    return Publisher(kiosk_id=KIOSK, session_id="s1", outbox=outbox, transport=t, health=health,
                     resend_after_s=30, health_interval_s=60), t


def test_twin_connect_status_priority_order_resend_ack_and_health() -> None:
    box = MemoryOutbox()
    for seq, prio in [(1, 2), (2, 0), (3, 1)]:
        box.store(entry(seq, prio), ticket=f"t{seq}")
    pub, t = make(box)
    assert t.subscriptions == [topics.topic(KIOSK, "ack")]
    pub.pump(NOW)  # offline: nothing
    assert t.published == []
    pub.start()
    pub.pump(NOW)
    kinds = [(topics.parse(tp)[1], payload, retain) for tp, payload, retain in t.published]
    assert kinds[0] == ("status", KioskStatus(kiosk_id=KIOSK, state="online", session_id="s1", at=NOW).to_json(), True)
    assert [p for k, p, _ in kinds if k == "capture"] == [b"p2", b"p3", b"p1"]
    assert [k for k, _, _ in kinds][-1] == "health"
    t.published.clear()
    pub.pump(NOW + 10)
    assert t.published == []  # not yet due again, no health yet
    t.inject(topics.topic(KIOSK, "ack"), Ack(packet_id=pid(2), outcome=AckOutcome.ACCEPTED).to_json())
    t.inject(topics.topic(KIOSK, "ack"), Ack(packet_id=pid(1), outcome=AckOutcome.REJECTED, reason="bad_chain").to_json())
    t.inject(topics.topic(KIOSK, "ack"), b"not json")
    pub.pump(NOW + 31)
    assert [p for tp, p, _ in t.published if tp.endswith("/capture")] == [b"p3"]  # re-sent after 30 s
    assert box.ticket_state("t2") == "QUEUED" and box.ticket_state("t1") == "REJECTED"
    t.inject(topics.topic(KIOSK, "ack"),
             PacketStatus(packet_id=pid(2), state=SiakState.PRINT_READY, at=NOW).to_json())
    pub.pump(NOW + 61)
    assert box.ticket_state("t2") == "PRINT_READY"
    assert t.published[-1][0] == topics.topic(KIOSK, "health")


def feedback(n: int) -> bytes:
    return Feedback(kiosk_id=KIOSK, feedback_id=f"fb-{n}", at=NOW, category="waiting", text=f"antri {n}").to_json()


def test_twin_feedback_waits_for_the_centres_ack_and_reconnect_resends_everything() -> None:
    box = MemoryOutbox()
    box.store(entry(1, 1), ticket="t1")
    box.add_message("feedback", feedback(1), NOW)
    pub, t = make(box)
    pub.start()
    pub.pump(NOW)
    pub.pump(NOW + 1)  # the broker's PUBACK is not enough: the centre may not have stored it
    assert len(box.messages()) == 1
    assert sum(1 for tp, _p, _r in t.published if tp.endswith("/feedback")) == 1  # not re-sent yet
    pub.pump(NOW + 31)  # no ack within resend_after_s: sent again
    assert sum(1 for tp, _p, _r in t.published if tp.endswith("/feedback")) == 2
    t.inject(topics.topic(KIOSK, "ack"), FeedbackAck(feedback_id="fb-9").to_json())  # not ours
    pub.pump(NOW + 32)
    assert len(box.messages()) == 1
    t.inject(topics.topic(KIOSK, "ack"), FeedbackAck(feedback_id="fb-1").to_json())
    pub.pump(NOW + 33)
    assert box.messages() == []
    t.set_connected(False)
    pub.pump(NOW + 34)
    box.add_message("feedback", feedback(2), NOW)
    pub.pump(NOW + 35)
    assert len(box.messages()) == 1  # offline: kept
    t.published.clear()
    t.set_connected(True)
    pub.pump(NOW + 36)
    sent = [(topics.parse(tp)[1], p) for tp, p, _ in t.published]
    assert ("capture", b"p1") in sent and ("feedback", feedback(2)) in sent


def test_feedback_waiting_for_acks_never_holds_back_newer_feedback() -> None:
    box = MemoryOutbox()
    pub, t = make(box)  # batch 16
    pub.start()
    for n in range(20):
        box.add_message("feedback", feedback(n), NOW)
    pub.pump(NOW)
    pub.pump(NOW + 1)  # nothing acked yet: the first 16 wait, the last 4 go now
    sent = [Feedback.from_json(p).feedback_id for tp, p, _r in t.published if tp.endswith("/feedback")]
    assert sorted(sent) == sorted(f"fb-{n}" for n in range(20))


def test_twin_help_request_waits_for_received_and_coming_is_handed_to_the_app() -> None:
    box = MemoryOutbox()
    request = HelpRequest(kiosk_id=KIOSK, request_id="h-1", screen="nik", at=NOW)
    box.add_message("help", request.to_json(), NOW)
    box.add_message("feedback", feedback(1), NOW)
    pub, t = make(box)
    pub.start()
    pub.pump(NOW)
    assert (topics.topic(KIOSK, "help"), request.to_json(), False) in t.published
    pub.pump(NOW + 31)  # no answer: sent again
    assert sum(1 for tp, _p, _r in t.published if tp.endswith("/help")) == 2
    t.inject(topics.topic(KIOSK, "ack"), HelpAck(request_id="h-1", state=HelpState.RECEIVED).to_json())
    pub.pump(NOW + 32)
    assert [m.kind for m in box.messages()] == ["feedback"] and pub.help_coming == set()
    t.inject(topics.topic(KIOSK, "ack"), b'{"type":"help_ack","request_id":"h-1","state":"soon"}')
    t.inject(topics.topic(KIOSK, "ack"), HelpAck(request_id="h-1", state=HelpState.COMING).to_json())
    pub.pump(NOW + 33)
    assert pub.help_coming == {"h-1"}


def test_offline_will_is_retained_offline_status_with_session() -> None:
    will = offline_will(KIOSK, "s9", NOW)
    assert will.topic == topics.topic(KIOSK, "status")
    assert KioskStatus.from_json(will.payload) == KioskStatus(kiosk_id=KIOSK, state="offline", session_id="s9", at=NOW)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PlainBroker]:
    b = PlainBroker(tmp_path).start()
    yield b
    b.stop()


def real_publisher(port: int, box: SqliteOutbox | MemoryOutbox, tls: TlsFiles | None = None,
                   session: str = "s1") -> Publisher:
    transport = MqttTransport(client_id=KIOSK, host="127.0.0.1", port=port,
                              will=offline_will(KIOSK, session, time.time()), tls=tls)
    return Publisher(kiosk_id=KIOSK, session_id=session, outbox=box, transport=transport,
                     health=health, resend_after_s=2, health_interval_s=60)


def test_real_mosquitto_delivers_acks_and_shreds(broker: PlainBroker, tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.db")
    for seq in (1, 2, 3):
        box.store(entry(seq, 1), ticket=f"t{seq}")
    centre = Centre(broker.port, trust=None)
    centre.ack = False  # these are not real packets: ack by hand below
    centre.c.on_message = lambda c, _u, m: (
        topics.parse(m.topic)[1] == "capture" and c.publish(
            topics.topic(KIOSK, "ack"),
            Ack(packet_id=pid(int(m.payload[1:])), outcome=AckOutcome.ACCEPTED).to_json(), qos=1))
    pub = real_publisher(broker.port, box)
    pub.start()
    try:
        assert wait_until(lambda: box.depth() == 0, step=lambda: pub.pump(time.time()))
        assert [a.packet_id for a in pub.acked] == [pid(1), pid(2), pid(3)]
    finally:
        pub.stop(time.time())
        centre.close()
        box.close()


def test_last_will_on_kiosk_death_and_clean_offline(broker: PlainBroker, tmp_path: Path) -> None:
    centre = Centre(broker.port)
    pub = real_publisher(broker.port, MemoryOutbox(), session="sess-a")
    pub.start()
    assert wait_until(lambda: any(s.state == "online" for s in centre.statuses), step=lambda: pub.pump(time.time()))
    assert wait_until(lambda: len(centre.health) >= 1, step=lambda: pub.pump(time.time()))
    pub.stop(time.time())
    assert wait_until(lambda: centre.statuses[-1].state == "offline")
    assert centre.statuses[-1].session_id == "sess-a"
    centre.close()


def test_tls_with_the_bundle_certificate_and_fleet_broker(
    tmp_path: Path, fleet_dir: Path, bundle: KioskBundle
) -> None:
    from anjungan.packet import encode_packet
    from anjungan.packet.model import PriorityClass, Service
    from anjungan.packet.sample import synthetic_body
    from anjungan.packet.seal import build_packet

    port = free_port()
    conf = write_config(open_fleet(fleet_dir), tmp_path / "conf", port=port, persistence=False)
    mosq = BrokerProcess(conf, port).start()
    centre = Centre(port, load_trust(fleet_dir), tls=centre_tls(fleet_dir),
                    client_id="anjungan-centre")
    box = MemoryOutbox()
    packet = build_packet(synthetic_body(seed=1), identity=bundle.identity,
                          gateway_public_key=bundle.gateway_public_key, suite_name=bundle.suite,
                          sequence=box.reserve_sequence(), service=Service.REPLACEMENT,
                          priority=PriorityClass.ROUTINE, now=time.time())
    box.store(OutboxEntry(sequence=1, packet_id=packet.packet_id, priority=2, created_at=NOW,
                          data=encode_packet(packet)), ticket="t1")
    tls = TlsFiles(ca_file=bundle.ca_file, cert_file=bundle.cert_file, key_file=bundle.key_file)
    pub = real_publisher(port, box, tls=tls)
    pub.start()
    try:
        assert wait_until(lambda: box.depth() == 0, step=lambda: pub.pump(time.time()))
        assert centre.packets == {packet.packet_id: 1} and centre.errors == []
    finally:
        pub.stop(time.time())
        centre.close()
        mosq.stop()
