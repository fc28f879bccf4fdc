"""Sends the outbox to the centre and applies what comes back. Driven by `pump(now)`.

- On every (re)connect: retained `status` online (the Last Will says offline, with the same
  session id so the centre can discard a stale will), and every pending packet is due again.
- Pending packets go out oldest first within priority, QoS 1, and again after
  `resend_after_s` without the centre's `Ack`. An `Ack` accepted/duplicate shreds the entry;
  rejected keeps it for a technician. `PacketStatus` updates the resident's ticket.
- Feedback waits in the outbox until the centre's `FeedbackAck` (sent after its durable
  commit), re-sent after `resend_after_s` like a packet: a centre killed between receiving
  and storing it loses nothing.
- A help request ("Call an officer") waits in the outbox the same way, until the fleet
  monitor's `HelpAck` (received: the alert is open); a later `HelpAck` coming (staff
  acknowledged it) lands in `help_coming`, taken by the app.
- `health` every `health_interval_s`.
- `query(packet_id)`: a receipt from another kiosk; the centre's `StatusReply` lands in
  `replies`, taken by the app (the flow keeps the lookup's deadline; past it, the resident
  hears the centre is unreachable and the app `forget`s the query).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from anjungan import topics
from anjungan.messages import (
    Ack,
    Feedback,
    FeedbackAck,
    Health,
    HelpAck,
    HelpRequest,
    HelpState,
    KioskStatus,
    LinkState,
    MessageError,
    PacketStatus,
    StatusQuery,
    StatusReply,
    decode_ack_topic,
)
from anjungan.topics import TopicKind
from kiosk.outbox import Outbox
from kiosk.transport import LinkEventKind, Transport, Will

log = logging.getLogger("anjungan.kiosk.publisher")
MESSAGES_SCANNED = 1000  # queued feedback and help requests looked at per pump (a handful in practice)


class Extension(Protocol):
    """A background job sharing the kiosk's link (the renewer): its topic and its pump."""

    reply_topic: str

    def on_message(self, payload: bytes, now: float) -> None: ...
    def pump(self, now: float) -> None: ...


def offline_will(kiosk_id: str, session_id: str, now: float) -> Will:
    status = KioskStatus(kiosk_id=kiosk_id, state=LinkState.OFFLINE, session_id=session_id, at=now)
    return Will(topic=topics.topic(kiosk_id, TopicKind.STATUS), payload=status.to_json())


class Publisher:
    def __init__(self, *, kiosk_id: str, session_id: str, outbox: Outbox, transport: Transport,
                 health: Callable[[float], Health], resend_after_s: float = 30.0,
                 health_interval_s: float = 60.0, batch: int = 16) -> None:
        self.kiosk_id, self.session_id = kiosk_id, session_id
        self.outbox, self.transport, self._health = outbox, transport, health
        self.resend_after_s, self.health_interval_s, self.batch = resend_after_s, health_interval_s, batch
        self._next_health = 0.0
        self._message_sent: dict[int, float] = {}  # outbox message id -> when last sent
        self._message_ids: dict[str, int] = {}  # feedback or help request id -> outbox message id
        self.help_coming: set[str] = set()  # help requests staff acknowledged, taken by the app
        self.acked: list[Ack] = []  # for the app's log and the tests
        self._queries: set[str] = set()  # status queries awaiting their reply
        self.replies: dict[str, StatusReply] = {}  # query id -> reply, taken by the app
        self.extensions: list[Extension] = []
        self.transport.subscribe(topics.topic(kiosk_id, TopicKind.ACK))

    def start(self) -> None:
        self.transport.start()

    def pump(self, now: float) -> None:
        for ev in self.transport.poll():
            if ev.kind is LinkEventKind.CONNECTED:
                self._on_connected(now)
            elif ev.kind is LinkEventKind.MESSAGE:
                extension = next((x for x in self.extensions if x.reply_topic == ev.topic), None)
                if extension is not None:
                    extension.on_message(ev.payload, now)
                else:
                    self._on_message(ev.topic, ev.payload, now)
        if not self.transport.connected:
            return
        for extension in self.extensions:
            extension.pump(now)
        for entry in self.outbox.due(now, resend_after_s=self.resend_after_s, limit=self.batch):
            if self.transport.publish(topics.topic(self.kiosk_id, TopicKind.CAPTURE), entry.data) is None:
                return
            self.outbox.mark_sent(entry.packet_id, now)
            log.info("sent packet seq=%d id=%s attempt=%d", entry.sequence, entry.packet_id, entry.attempts + 1)
        due = [m for m in self.outbox.messages(MESSAGES_SCANNED)
               if now - self._message_sent.get(m.id, -1e18) >= self.resend_after_s]
        for msg in due[: self.batch]:  # those waiting for an ack never hold back newer ones
            if self.transport.publish(topics.topic(self.kiosk_id, TopicKind(msg.kind)), msg.payload) is None:
                return
            self._message_sent[msg.id] = now
            self._message_ids[_message_id(msg.kind, msg.payload)] = msg.id
        if now >= self._next_health:
            self._next_health = now + self.health_interval_s
            health = replace(self._health(now), link_failures=self.transport.failures,
                             link_error=self.transport.last_failure)
            self.transport.publish(topics.topic(self.kiosk_id, TopicKind.HEALTH), health.to_json())

    def _on_connected(self, now: float) -> None:
        status = KioskStatus(kiosk_id=self.kiosk_id, state=LinkState.ONLINE, session_id=self.session_id, at=now)
        self.transport.publish(topics.topic(self.kiosk_id, TopicKind.STATUS), status.to_json(), retain=True)
        self.outbox.mark_all_unsent()  # what was in flight may be lost: send it all again
        self._message_sent.clear()
        self._next_health = now

    def _on_message(self, topic: str, payload: bytes, now: float) -> None:
        try:
            message = decode_ack_topic(payload)
        except MessageError as exc:
            log.warning("ignored a malformed message on %s: %s", topic, exc)
            return
        if isinstance(message, PacketStatus):
            self.outbox.set_ticket_state(message.packet_id, message.state.value, now)
            return
        if isinstance(message, FeedbackAck):
            if self._delivered(message.feedback_id):
                log.info("feedback stored at the centre")
            return
        if isinstance(message, HelpAck):
            if self._delivered(message.request_id):
                log.info("help request on the staff dashboard")
            if message.state is HelpState.COMING:
                self.help_coming.add(message.request_id)
            return
        if isinstance(message, StatusReply):
            if message.query_id in self._queries:
                self._queries.discard(message.query_id)
                self.replies[message.query_id] = message
            return
        if self.outbox.ack(message.packet_id, message.outcome, now, message.reason):
            self.acked.append(message)
            log.info("ack %s %s", message.packet_id, message.outcome.value)

    def _delivered(self, message_key: str) -> bool:
        """The centre has a queued message (feedback, help request): drop the outbox's copy."""
        message_id = self._message_ids.pop(message_key, None)
        if message_id is None:
            return False
        self.outbox.remove_message(message_id)
        self._message_sent.pop(message_id, None)
        return True

    def query(self, packet_id: str) -> str | None:
        """Ask the centre for a packet's state (a receipt from another kiosk). The query id,
        whose `StatusReply` lands in `replies`; None when offline (nothing was sent)."""
        if not self.transport.connected:
            return None
        query = StatusQuery(query_id=str(uuid.uuid4()), packet_id=packet_id)
        if self.transport.publish(topics.topic(self.kiosk_id, TopicKind.QUERY), query.to_json()) is None:
            return None
        self._queries.add(query.query_id)
        return query.query_id

    def forget(self, query_id: str) -> None:
        """The kiosk stopped waiting (timeout, session wiped): a late reply is dropped."""
        self._queries.discard(query_id)
        self.replies.pop(query_id, None)

    def final_status(self, now: float) -> tuple[str, bytes]:
        status = KioskStatus(kiosk_id=self.kiosk_id, state=LinkState.OFFLINE, session_id=self.session_id, at=now)
        return topics.topic(self.kiosk_id, TopicKind.STATUS), status.to_json()

    def stop(self, now: float) -> None:
        self.transport.stop(final=self.final_status(now))


def _message_id(kind: str, payload: bytes) -> str:
    """The id inside a queued message (feedback or help request, written by this kiosk; ''
    if unreadable, which leaves the message to be re-sent until a technician looks)."""
    try:
        if kind == TopicKind.HELP:
            return HelpRequest.from_json(payload).request_id
        return Feedback.from_json(payload).feedback_id
    except MessageError:
        return ""
