"""The status desk answers a kiosk's query about a receipt printed elsewhere."""

from __future__ import annotations

import uuid

from anjungan import topics
from anjungan.messages import SiakState, StatusQuery, StatusReply
from anjungan.packet.model import PriorityClass
from broker.desk import StatusDesk
from broker.ingest import Inbound
from broker.queue import Envelope, open_queue


def env(seq: int) -> Envelope:
    return Envelope(packet_id=str(uuid.UUID(int=seq)), kiosk_id="kiosk-02", sequence=seq,
                    priority=PriorityClass.ROUTINE, captured_at=1.0, packet=b"p")


def ask(desk: StatusDesk, packet_id: str, *, kiosk: str = "kiosk-01") -> StatusReply | None:
    q = StatusQuery(query_id=f"q-{packet_id[-4:]}", packet_id=packet_id)
    (out,) = desk.answer([Inbound(topic=topics.topic(kiosk, "query"), payload=q.to_json(), token=7)])
    assert out.token == 7  # acked to the broker whatever the answer
    if out.ack is None:
        return None
    assert out.kiosk_id == kiosk and isinstance(out.ack, StatusReply) and out.ack.query_id == q.query_id
    return out.ack


def test_states_a_resident_may_be_told(tmp_path):
    queue = open_queue(f"sqlite://{tmp_path / 'q.db'}")
    try:
        queue.enqueue([env(1), env(2), env(3)], now=1.0)
        queue.accept(env(2).packet_id, now=2.0, siak_state=SiakState.PRINT_READY)
        queue.dead_letter(env(3).packet_id, now=2.0, reason="422 from SIAK")
        desk = StatusDesk(queue)
        assert ask(desk, env(1).packet_id).state == "QUEUED"
        assert ask(desk, env(2).packet_id).state == "PRINT_READY"
        assert ask(desk, env(3).packet_id).state == "REJECTED"  # never the reason itself
        assert ask(desk, str(uuid.UUID(int=99))).state == "UNKNOWN"
    finally:
        queue.close()


def test_a_malformed_query_is_skipped_without_an_answer(tmp_path):
    queue = open_queue(f"sqlite://{tmp_path / 'q.db'}")
    try:
        desk = StatusDesk(queue)
        (out,) = desk.answer([Inbound(topic=topics.topic("kiosk-01", "query"), payload=b"{", token=1)])
        assert out.ack is None and out.reason == "malformed"
        (out,) = desk.answer([Inbound(topic="elsewhere/query", payload=b"{}", token=2)])
        assert out.ack is None
    finally:
        queue.close()
