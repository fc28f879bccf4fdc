"""Relay workers: queue -> gateway -> SIAK, with pacing, backoff and a circuit breaker.

N worker threads (N = SIAK's concurrency) share one token bucket (SIAK's rate) and one
circuit breaker. Each leases the best-ranked packet, has the gateway open it, submits it
with the packet id as the idempotency key, then:
  accepted        -> queue.accept (body dropped), PacketStatus to the kiosk
  429             -> back in the queue after Retry-After (SIAK is alive: breaker untouched)
  5xx / timeout   -> back after backoff with full jitter; the breaker counts the failure
  4xx / unopenable-> dead letter, for an operator
A worker that dies mid-call loses only its lease: the packet comes back when it expires,
and SIAK's idempotency makes the second submission harmless. `stop` ends the same way, in
moments: the workers' waits are on one Event, a SIAK call in flight is abandoned
(`SiakClient.abandon`) and its packet keeps its lease, so it is sent once more, under the
same key, when the lease lapses (by this instance after a restart, or by another).
A status poller follows accepted enrollments to their final state and tells the kiosk.

Several instances on one PostgreSQL queue (`broker.coordination`) share one token bucket
(SIAK's rate for the whole deployment) and one status poller (the leader), and each beats
a heartbeat every `heartbeat_s`, releasing the leases of instances whose heartbeat stopped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from anjungan.messages import Ack, PacketStatus, SiakState
from anjungan.packet.model import PacketError
from broker.coordination import Coordination, LocalCoordination
from broker.errors import SiakAbandoned, SiakError, SiakRejected, SiakThrottled
from broker.gateway import Gateway
from broker.observe import DEAD_LETTERED, NULL, RETRIED, SENT, CentreObserver
from broker.policy import BreakerState, CircuitBreaker, backoff_delay
from broker.queue import Lease, PacketQueue, store_failure
from broker.siak.client import SiakClient

log = logging.getLogger("anjungan.relay")
STOP_JOIN_S = 5.0  # how long `stop` waits for all threads together (a call ends within moments)


class Notifier(Protocol):
    def notify(self, kiosk_id: str, message: Ack | PacketStatus) -> None: ...


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    workers: int = 4  # match SIAK's concurrency
    rate_rps: float = 50.0  # match SIAK's capacity
    lease_s: float = 60.0  # longer than the SIAK timeout
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 2.0
    idle_s: float = 0.05
    status_poll_s: float = 2.0  # 0 = do not follow enrollments
    max_failures: int = 5  # a packet whose relay itself keeps failing (a bug) -> dead letter
    heartbeat_s: float = 1.0  # shared coordination only: how often this instance says it lives


class Relay:
    def __init__(
        self,
        queue: PacketQueue,
        gateway: Gateway,
        siak: SiakClient,
        notifier: Notifier,
        cfg: RelayConfig,
        *,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        name: str = "relay",
        observer: CentreObserver = NULL,
        coordination: Coordination | None = None,
    ) -> None:
        self.queue, self.gateway, self.siak, self.notifier, self.cfg = queue, gateway, siak, notifier, cfg
        self.observer = observer  # told every packet's relay outcome (metrics)
        self.clock, self.rand, self.name = clock, rand, name
        self.breaker = CircuitBreaker(threshold=cfg.breaker_threshold,
                                      cooldown_s=cfg.breaker_cooldown_s,
                                      probe_timeout_s=cfg.lease_s)
        self.coordination = coordination or LocalCoordination()
        self.bucket = self.coordination.bucket(rate=cfg.rate_rps, burst=max(1.0, cfg.workers / 2))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        for i in range(self.cfg.workers):
            t = threading.Thread(target=self._work, args=(f"{self.name}-{i}",), daemon=True,
                                 name=f"{self.name}-{i}")
            self._threads.append(t)
        if self.cfg.status_poll_s > 0:
            self._threads.append(threading.Thread(target=self._poll_status, daemon=True))
        if self.coordination.shared:
            self._beat()  # before the first lease: an instance without a heartbeat looks dead
            self._threads.append(threading.Thread(target=self._keep_alive, daemon=True, name="heartbeat"))
        for t in self._threads:
            t.start()

    def alive(self) -> bool:
        """Every worker thread still runs (for systemd's watchdog)."""
        return all(t.is_alive() for t in self._threads)

    def stop(self) -> None:
        """End every thread within moments: waits wake, SIAK calls in flight are abandoned
        (their packets keep their leases), and no new lease is taken."""
        self._stop.set()
        siak = self.siak  # None in tests of the relay's bookkeeping alone
        if siak is not None:
            siak.abandon()
        until = time.monotonic() + STOP_JOIN_S
        for t in self._threads:
            t.join(timeout=max(0.0, until - time.monotonic()))
            if t.is_alive():
                log.warning("relay thread %s still busy at shutdown; leaving it", t.name)
        self._threads.clear()
        if siak is not None:
            siak.abandon(False)  # the client is usable again (poll_status_once, a restart)
        self.coordination.leave()

    def _keep_alive(self) -> None:
        while not self._stop.wait(self.cfg.heartbeat_s):
            self._beat()

    def _beat(self) -> None:
        try:
            self.coordination.beat(now=self.clock())
        except Exception as exc:  # noqa: BLE001 - the next beat tries again
            log.warning("heartbeat failed: %s", exc)

    # -- one worker ----------------------------------------------------------------------
    def _reserve(self) -> float | None:
        """Ask the breaker, then take a token: the monotonic time the call may go, or None
        if the caller should idle instead."""
        with self._lock:
            if not self.breaker.allow(self.clock()):
                return None
            now = time.monotonic()
            return now + self.bucket.reserve(now)

    def _pace(self) -> bool:
        """Wait for the breaker and a token; False if the caller should idle instead."""
        go_at = self._reserve()
        if go_at is None:
            return False
        self._wait_until(go_at)
        return True

    def _wait_until(self, go_at: float) -> None:
        wait = go_at - time.monotonic()
        if wait > 0:
            self._stop.wait(wait)

    def _work(self, owner: str) -> None:
        while not self._stop.is_set():
            try:
                if not self.step(owner):
                    self._stop.wait(self.cfg.idle_s)
            except Exception:  # noqa: BLE001 - a worker never dies; the lease brings it back
                log.exception("relay worker %s: unexpected failure", owner)
                self._stop.wait(1.0)

    def step(self, owner: str) -> bool:
        """Relay at most one packet. True if one was handled.

        The breaker is asked first, then a packet leased, and only then a token reserved (an
        idle worker costs one query, not a token and its refund, which on a shared bucket
        are two more); the document is built while the token matures: the request leaves on
        time and SIAK's capacity is not idled by our own preparation."""
        with self._lock:
            if not self.breaker.allow(self.clock()):
                return False
        leases = self.queue.lease(owner=owner, now=self.clock(), lease_s=self.cfg.lease_s)
        if not leases:
            with self._lock:
                self.breaker.release_probe()
            return False
        try:
            with self._lock:
                now = time.monotonic()
                go_at = now + self.bucket.reserve(now)
        except Exception:  # the shared rate's store failed: not this packet's fault
            self.queue.retry_later(leases[0].packet_id, owner=owner, visible_at=self.clock(),
                                   reason="no SIAK token: the rate store failed")
            raise
        try:
            self.relay(leases[0], go_at=go_at)
        except Exception as exc:  # not SIAK's doing: our own failure on this packet
            self._failed(leases[0], exc)
        return True

    def _failed(self, lease: Lease, exc: Exception) -> None:
        """Retry a packet our own code failed on, a few times; then park it with the dead
        letters for an operator instead of failing on it forever."""
        log.exception("relay of packet %s failed (attempt %d)", lease.packet_id, lease.attempts)
        with self._lock:
            self.breaker.release_probe()  # whatever was sent on it, it did not answer
        reason = f"relay failure: {type(exc).__name__}"
        if lease.attempts >= self.cfg.max_failures:
            self.queue.dead_letter(lease.packet_id, now=self.clock(), reason=reason)
            self.observer.relayed(DEAD_LETTERED)
            return
        delay = backoff_delay(lease.attempts, base_s=self.cfg.backoff_base_s,
                              cap_s=self.cfg.backoff_cap_s, rand=min(self.rand(), 0.999999))
        self.queue.retry_later(lease.packet_id, owner=lease.owner, visible_at=self.clock() + delay,
                               reason=reason)
        self.observer.relayed(RETRIED)

    def relay(self, lease: Lease, *, go_at: float = 0.0) -> None:
        """Open, wait for `go_at` (monotonic; the paced departure), submit, record."""
        pid = lease.packet_id
        try:
            header, document = self.gateway.submission(lease.packet)
        except PacketError as exc:
            log.warning("packet %s cannot be opened (%s): dead letter", pid, exc.reason)
            self.queue.dead_letter(pid, now=self.clock(), reason=f"gateway: {exc.reason}")
            self.observer.relayed(DEAD_LETTERED)
            if go_at:
                with self._lock:
                    self.bucket.reserve_refund()  # nothing was sent on this token
                    self.breaker.release_probe()
            return
        self._wait_until(go_at)
        try:
            view = self.siak.submit(pid, document)
        except SiakThrottled as exc:
            self.queue.retry_later(pid, owner=lease.owner, reason=str(exc),
                                   visible_at=self.clock() + exc.retry_after)
            self.observer.relayed(RETRIED)
            return
        except SiakAbandoned:
            log.info("packet %s: SIAK call abandoned at shutdown; it keeps its lease", pid)
            return
        except SiakRejected as exc:
            with self._lock:
                self.breaker.on_success(self.clock())  # SIAK is up; it refused this one
            log.warning("packet %s rejected by SIAK (%s): dead letter", pid, exc.status)
            self.queue.dead_letter(pid, now=self.clock(), reason=str(exc))
            self.observer.relayed(DEAD_LETTERED)
            return
        except SiakError as exc:
            now = self.clock()
            with self._lock:
                self.breaker.on_failure(now)
            delay = backoff_delay(lease.attempts, base_s=self.cfg.backoff_base_s,
                                  cap_s=self.cfg.backoff_cap_s, rand=min(self.rand(), 0.999999))
            log.info("packet %s: %s; retry in %.2fs", pid, exc, delay)
            self.queue.retry_later(pid, owner=lease.owner, visible_at=now + delay, reason=str(exc))
            self.observer.relayed(RETRIED)
            return
        now = self.clock()
        with self._lock:
            recovered = self.breaker.state is not BreakerState.CLOSED
            self.breaker.on_success(now)
        if recovered:  # the probe got through: drain the backlog in priority order
            released = self.queue.release_held(now=now)
            log.info("SIAK is back; %d held packets released in priority order", released)
        self._accept(pid, now=now, siak_state=view.state)
        self.observer.relayed(SENT)
        self._tell(header.kiosk_id, PacketStatus(packet_id=pid, state=view.state, at=now))

    def _accept(self, packet_id: str, *, now: float, siak_state: SiakState) -> None:
        """Record SIAK's acceptance. SIAK has the packet now: while the store fails (database
        restarting) keep trying for up to half the lease, rather than let the lease lapse
        and send the packet again."""
        delay, give_up = 0.1, time.monotonic() + self.cfg.lease_s / 2
        while True:
            try:
                self.queue.accept(packet_id, now=now, siak_state=siak_state)
                return
            except Exception as exc:
                if not store_failure(exc) or time.monotonic() + delay > give_up or self._stop.is_set():
                    raise
                log.warning("packet %s: SIAK has it, the store failed (%s); recording again in %.1f s",
                            packet_id, type(exc).__name__, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)

    def _tell(self, kiosk_id: str, message: Ack | PacketStatus) -> None:
        try:
            self.notifier.notify(kiosk_id, message)
        except Exception:  # noqa: BLE001 - a lost status is re-sent by the next change
            log.warning("could not notify kiosk %s", kiosk_id)

    # -- enrollment follow-up ------------------------------------------------------------
    def _poll_status(self) -> None:
        while not self._stop.wait(self.cfg.status_poll_s):
            try:
                if self.coordination.leads():  # one poller for the whole deployment
                    self.poll_status_once()
            except Exception:  # noqa: BLE001
                log.exception("status poller: unexpected failure")

    def poll_status_once(self, limit: int = 50) -> int:
        changed = 0
        for entry in self.queue.in_enrollment(limit=limit):
            if not self._pace():
                break
            try:
                view = self.siak.status(entry.packet_id)
            except SiakError:
                break
            if view is not None and view.state is not entry.siak_state:
                now = self.clock()
                if self.queue.set_siak_state(entry.packet_id, view.state, now=now):
                    self._tell(entry.kiosk_id, PacketStatus(packet_id=entry.packet_id,
                                                            state=view.state, at=now))
                    changed += 1
        return changed
