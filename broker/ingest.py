"""Verified ingest: MQTT messages in, durable commits and acks out.

Pure of I/O but for the queue it commits to: the MQTT shell (mqtt.py) feeds batches and
sends what `process` returns, *after* it returns, i.e. after the commit. Per message:
  topic outside the contract / not `capture`  -> logged, skipped (no ack possible)
  oversized, undecodable                        -> rejection recorded, logged, skipped
  fails verification or replays a sequence      -> rejection recorded, Ack(REJECTED, reason)
  new                                           -> committed, Ack(ACCEPTED)
  seen before                                   -> Ack(DUPLICATE), stored once

Two stages, so the shell can pipeline them: `prepare` (decode + verify + the queue's
`stage`, which may write bodies aside but commits nothing) may run on another thread, for
the next batch, while `process` commits the current one. `process` alone does both.
Replay is decided at the commit (the queue's keys), never in `prepare`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from anjungan import topics
from anjungan.messages import Ack, AckOutcome, StatusReply
from anjungan.packet import DEFAULT_WINDOW_S, FleetTrust, decode_packet, verify_packet
from anjungan.packet.codec import MAX_PACKET_BYTES
from anjungan.packet.model import PacketError
from anjungan.topics import TopicKind
from broker.errors import QueueError
from broker.queue import Admission, Envelope, PacketQueue, Rejection

log = logging.getLogger("anjungan.ingest")


@dataclass(frozen=True, kw_only=True)
class Inbound:
    topic: str
    payload: bytes
    token: Any = None  # the shell's handle to acknowledge the MQTT delivery
    checked: Envelope | Outcome | None = None  # set by `Ingest.prepare`


@dataclass(frozen=True, kw_only=True)
class Outcome:
    token: Any
    kiosk_id: str  # "" when the topic named none
    ack: Ack | StatusReply | None  # the answer to publish on the kiosk's ack topic, if any
    admission: Admission | None = None
    reason: str = ""


_ADMITTED = {Admission.NEW: AckOutcome.ACCEPTED, Admission.DUPLICATE: AckOutcome.DUPLICATE}


class Ingest:
    def __init__(
        self,
        queue: PacketQueue,
        trust: Callable[[], FleetTrust],
        *,
        clock: Callable[[], float],
        window_s: float = DEFAULT_WINDOW_S,
    ) -> None:
        self.queue, self.trust, self.clock, self.window_s = queue, trust, clock, window_s

    def prepare(self, batch: Sequence[Inbound]) -> list[Inbound]:
        """Stage 1: decode, verify and stage the bodies (nothing visible: the queue may
        write them aside, unsynced); `process` then commits what it returns."""
        now = self.clock()
        trust = self.trust()
        checked = [self._check(m, trust, now) for m in batch]
        good = [c for c in checked if isinstance(c, Envelope)]
        if good:
            try:
                staged = iter(self.queue.stage(good))
                checked = [next(staged) if isinstance(c, Envelope) else c for c in checked]
            except QueueError as exc:  # `process` stores them itself (and fails loudly)
                log.warning("staging %d packet bodies failed: %s", len(good), exc)
        return [dataclasses.replace(m, checked=c) for m, c in zip(batch, checked, strict=True)]

    def process(self, batch: Sequence[Inbound]) -> list[Outcome]:
        """Stage 2: commit the batch (one transaction) and say what to ack; verifies what
        `prepare` has not."""
        now = self.clock()
        trust: FleetTrust | None = None
        outcomes: list[Outcome | None] = [None] * len(batch)
        accepted: list[tuple[int, Envelope]] = []
        rejections: list[Rejection] = []
        for i, msg in enumerate(batch):
            result = msg.checked
            if result is None:
                trust = trust or self.trust()
                result = self._check(msg, trust, now)
            if isinstance(result, Envelope):
                accepted.append((i, result))
            else:
                outcomes[i] = result
                if result.reason and result.kiosk_id:
                    pid = result.ack.packet_id if result.ack else ""
                    rejections.append(Rejection(kiosk_id=result.kiosk_id, packet_id=pid,
                                                reason=result.reason, at=now))
        admissions = self.queue.enqueue([env for _i, env in accepted], now=now) if accepted else []
        for (i, env), adm in zip(accepted, admissions, strict=True):
            if adm is Admission.REPLAYED_SEQUENCE:
                reason = "replayed_sequence"
                rejections.append(Rejection(kiosk_id=env.kiosk_id, packet_id=env.packet_id,
                                            reason=reason, at=now))
                log.warning("kiosk %s: packet %s reuses sequence %d", env.kiosk_id, env.packet_id, env.sequence)
                ack = Ack(packet_id=env.packet_id, outcome=AckOutcome.REJECTED, reason=reason)
            else:
                ack = Ack(packet_id=env.packet_id, outcome=_ADMITTED[adm])
            outcomes[i] = Outcome(token=batch[i].token, kiosk_id=env.kiosk_id, ack=ack,
                                  admission=adm, reason="" if ack.outcome is not AckOutcome.REJECTED else ack.reason)
        for rej in rejections:
            self.queue.reject(rej)
        return [o for o in outcomes if o is not None]

    def _check(self, msg: Inbound, trust: FleetTrust, now: float) -> Envelope | Outcome:
        try:
            kiosk_id, kind = topics.parse(msg.topic)
        except topics.TopicError as exc:
            log.warning("skipped message: %s", exc)
            return Outcome(token=msg.token, kiosk_id="", ack=None, reason="")
        if kind is not TopicKind.CAPTURE:
            log.warning("skipped %s message from %s on the capture path", kind, kiosk_id)
            return Outcome(token=msg.token, kiosk_id="", ack=None, reason="")
        if len(msg.payload) > MAX_PACKET_BYTES:
            log.warning("kiosk %s: %d-byte message over the limit, skipped", kiosk_id, len(msg.payload))
            return Outcome(token=msg.token, kiosk_id=kiosk_id, ack=None, reason="too_large")
        try:
            packet = decode_packet(msg.payload)
        except PacketError as exc:
            log.warning("kiosk %s: undecodable packet (%s), skipped", kiosk_id, exc.reason)
            return Outcome(token=msg.token, kiosk_id=kiosk_id, ack=None, reason=exc.reason)
        pid = packet.packet_id
        try:
            header = verify_packet(packet, trust, now=now, window_s=self.window_s)
            if header.kiosk_id != kiosk_id:
                raise PacketError("packet published on another kiosk's topic", "topic_mismatch")
        except PacketError as exc:
            known = self.queue.get(pid)
            if exc.reason == "stale" and known is not None and known.kiosk_id == kiosk_id:
                # a re-send of something committed long ago: still a duplicate, still ack it
                return Outcome(token=msg.token, kiosk_id=kiosk_id, admission=Admission.DUPLICATE,
                               ack=Ack(packet_id=pid, outcome=AckOutcome.DUPLICATE))
            log.warning("kiosk %s: packet %s rejected: %s", kiosk_id, pid, exc.reason)
            return Outcome(token=msg.token, kiosk_id=kiosk_id, reason=exc.reason,
                           ack=Ack(packet_id=pid, outcome=AckOutcome.REJECTED, reason=exc.reason))
        return Envelope(packet_id=pid, kiosk_id=kiosk_id, sequence=header.sequence,
                        priority=header.priority, captured_at=header.created_at,
                        packet=msg.payload)
