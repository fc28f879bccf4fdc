"""The centre's ingest shell, whatever the broker: a two-stage pipeline that acks only
what is committed. One small interface for the transports (`broker.mqtt` on Mosquitto,
`broker.nats` on a NATS cluster): a transport calls `deliver` for each message it
receives, and implements `settle` (ack one delivery to the broker), `notify` (answer a
kiosk on its `ack` topic), `open` and `close`.

Messages are handled in arrival order, in batches (one durable commit per batch): the
`verify` thread runs `prepare` (decode + verify, no writes) on batch N+1 while the
`ingest` thread runs `on_batch` (the commit) on batch N; hashing, signature checks and
fsync release the GIL, so the stages overlap. The broker ack and the application ack are
sent only after `on_batch` returns, i.e. after the commit: anything not committed when the
process dies is redelivered by the broker or re-sent by the kiosk's outbox.
"""

from __future__ import annotations

import logging
import queue as stdqueue
import threading
import time
from collections.abc import Callable

from anjungan.messages import Ack, PacketStatus, StatusReply
from broker.ingest import Inbound, Outcome

log = logging.getLogger("anjungan.ingest.shell")

BatchHandler = Callable[[list[Inbound]], list[Outcome]]
Preparer = Callable[[list[Inbound]], list[Inbound]]
_Staged = tuple[list[Inbound], list[Inbound]]
PoisonHandler = Callable[[Inbound, BaseException], Outcome]
REPORT_S = 5.0  # how often an instance logs what it received (its share of the work)


def skip_poison(msg: Inbound, exc: BaseException) -> Outcome:
    """The least a poison message gets: logged, acked, answered with nothing."""
    log.warning("set aside a message on %.120s that failed: %s", msg.topic, type(exc).__name__)
    return Outcome(token=msg.token, kiosk_id="", ack=None, reason="internal_error")


class IngestShell:
    """The pipeline; subclasses are the transports."""

    def __init__(self, on_batch: BatchHandler, *, batch: int, prepare: Preparer | None = None,
                 on_poison: PoisonHandler = skip_poison,
                 is_store_failure: Callable[[BaseException], bool] = lambda _e: True) -> None:
        self.on_batch, self.prepare, self.batch = on_batch, prepare, batch
        self.on_poison, self.is_store_failure = on_poison, is_store_failure
        self.inbox: stdqueue.Queue[Inbound | None] = stdqueue.Queue(maxsize=10_000)
        self.connected = threading.Event()
        self._stop = threading.Event()
        self.received, self.received_bytes = 0, 0  # since start: this instance's share
        self._reported_at = time.monotonic()
        # one batch verified ahead of the one committing: bounded, so memory stays bounded
        self._staged: stdqueue.Queue[_Staged | None] = stdqueue.Queue(maxsize=1)
        self._verifier = threading.Thread(target=self._verify, name="verify", daemon=True)
        self._worker = threading.Thread(target=self._work, name="ingest", daemon=True)

    # -- what a transport implements ------------------------------------------------------
    def open(self) -> None:
        """Connect (asynchronously) and start receiving."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def settle(self, token: object) -> None:
        """Ack one delivery to the broker: it is committed (or set aside)."""
        raise NotImplementedError

    def notify(self, kiosk_id: str, message: Ack | PacketStatus | StatusReply) -> None:
        raise NotImplementedError

    # -- what a transport calls -----------------------------------------------------------
    def deliver(self, msg: Inbound) -> None:
        """One message received (from the transport's thread); blocks while the inbox is full."""
        self.received += 1
        self.received_bytes += len(msg.payload)
        self.inbox.put(msg)

    def _report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._reported_at >= REPORT_S:
            self._reported_at = now
            log.info("received %d messages, %d bytes since start", self.received, self.received_bytes)

    # -- the pipeline: verify (stage 1), commit + ack (stage 2) ---------------------------
    def _verify(self) -> None:
        try:
            while not self._stop.is_set():
                batch = self._next_batch()
                if not batch:
                    break
                inbound = raw = batch
                if self.prepare is not None:
                    try:
                        inbound = self.prepare(inbound)
                    except Exception:  # noqa: BLE001 - the commit stage checks what is unchecked
                        log.exception("verifying a batch of %d failed; the commit stage re-checks", len(batch))
                        inbound = raw
                self._staged.put((batch, inbound))
        finally:
            self._staged.put(None)

    def _next_batch(self) -> list[Inbound]:
        first = self.inbox.get()
        if first is None:
            return []
        batch = [first]
        while len(batch) < self.batch:
            try:
                more = self.inbox.get_nowait()
            except stdqueue.Empty:
                break
            if more is None:
                self._stop.set()
                break
            batch.append(more)
        return batch

    def _work(self) -> None:
        while True:
            staged = self._staged.get()
            if staged is None:
                break
            self._handle(*staged)
            self._report()

    def _handle(self, _batch: object, inbound: list[Inbound]) -> None:
        self._commit(inbound)

    def _commit(self, inbound: list[Inbound]) -> bool:
        """Commit and answer a batch. A batch that fails is halved, and each half tried on
        its own, down to single messages (`_handle_one`): one poison message costs about
        log2(batch) extra commits, never holds back another, and never makes the rest of
        its batch commit one by one. False when stopping."""
        if len(inbound) == 1:
            one = self._handle_one(inbound[0])
            if one is None:
                return False
            self._send(one)
            return True
        try:
            outcomes = self.on_batch(inbound)
        except Exception as exc:  # noqa: BLE001 - not committed, so not acked: isolate it
            log.warning("ingest batch of %d failed (%s); splitting it", len(inbound), type(exc).__name__)
            half = len(inbound) // 2
            return self._commit(inbound[:half]) and self._commit(inbound[half:])
        self._send(outcomes)
        return True

    def _handle_one(self, msg: Inbound) -> list[Outcome] | None:
        """Commit one message; a message that fails while the store works is poison and is
        set aside (`on_poison`); a failing store (disk full, database down) pauses ingest
        and retries until it works, so nothing is lost. None when stopping."""
        delay = 0.1
        while True:
            try:
                return self.on_batch([msg])
            except Exception as exc:  # noqa: BLE001 - classified below
                if not self.is_store_failure(exc):
                    return [self.on_poison(msg, exc)]
                # the broker redelivers unacked messages late (Mosquitto: only after a
                # reconnect), and its in-flight window would fill: retry until it commits
                log.error("the store failed (%s: %s); ingest paused, retrying in %.1f s",
                          type(exc).__name__, exc, delay)
                if self._stop.wait(delay):
                    return None
                delay = min(delay * 2, 5.0)

    def _send(self, outcomes: list[Outcome]) -> None:
        for out in outcomes:
            if out.ack is not None and out.kiosk_id:
                self.notify(out.kiosk_id, out.ack)
            self.settle(out.token)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._verifier.start()
        self._worker.start()
        self.open()

    def alive(self) -> bool:
        """The verifier and the committing worker still run (for systemd's watchdog)."""
        return self._verifier.is_alive() and self._worker.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self.inbox.put(None)
        self._verifier.join(timeout=10)
        self._worker.join(timeout=10)
        self._report(force=True)
        self.close()
