"""The status desk: answers a kiosk's `StatusQuery` from the queue.

A resident may check a receipt at any kiosk. The kiosk that printed it knows the ticket;
any other kiosk sends the receipt QR's packet id here and shows the `StatusReply`. The
answer names a state only, never anything about the resident.
"""

from __future__ import annotations

import logging

from anjungan import topics
from anjungan.errors import AnjunganError
from anjungan.messages import STATUS_REJECTED, STATUS_UNKNOWN, StatusQuery, StatusReply
from broker.ingest import Inbound, Outcome
from broker.queue import EntryState, PacketQueue
from broker.queue.model import Entry

log = logging.getLogger("anjungan.desk")


def state_of(entry: Entry | None) -> str:
    """What a resident may be told about a packet."""
    if entry is None:
        return STATUS_UNKNOWN
    if entry.state in (EntryState.DEAD, EntryState.PURGED):
        return STATUS_REJECTED  # refused for good: the desk can help
    return entry.siak_state.value


class StatusDesk:
    def __init__(self, queue: PacketQueue) -> None:
        self.queue = queue

    def answer(self, batch: list[Inbound]) -> list[Outcome]:
        out = []
        for msg in batch:
            try:
                kiosk_id, _kind = topics.parse(msg.topic)
                query = StatusQuery.from_json(msg.payload)
            except AnjunganError as exc:
                log.warning("skipped a bad status query on %.120s: %s", msg.topic, exc)
                out.append(Outcome(token=msg.token, kiosk_id="", ack=None, reason="malformed"))
                continue
            reply = StatusReply(query_id=query.query_id, packet_id=query.packet_id,
                                state=state_of(self.queue.get(query.packet_id)))
            out.append(Outcome(token=msg.token, kiosk_id=kiosk_id, ack=reply))
        return out
