"""The fleet monitor's service layer: MQTT messages in, core + store + metrics updated.

`FleetService` is the one object the central service wires in. It is thread-safe: paho's
network thread calls `handle()`, the dashboard's threads read `overview()`, and the
service's own housekeeping thread (`start()`) ticks the core every second, commits the
pending batch to the store a few times a second (one transaction for hundreds of kiosks'
messages), samples the relay queue, and prunes old history. Bad messages are logged and
skipped; nothing a kiosk sends can stop the service. Feedback is acked to its kiosk
(`on_feedback_stored`) only once it is committed, so the kiosk keeps and re-sends it until then.
A help request opens a help alert and is answered `received` (`on_help_answer`) once that
alert is committed; when staff acknowledge it (`acknowledge_help`) the kiosk is told `coming`.

Several monitors may share one store (one per centre instance, each with its own identity,
each subscribed to every kiosk's status and health so its dashboard is live). One of them
writes: whoever holds the store's `fleet-writer` lease (renewed at every flush, `lead_ttl_s`).
The others follow in memory and store only feedback (stored once by its id, then acked). So
each health point is stored once and each alert opened once, whichever instance saw it. A
follower that takes the lease over first makes the store's open alerts its own
(`FleetCore.adopt`): it opens only what is not open there yet.

    service = FleetService(store, clock=time.time)
    attach(mqtt_client, service)     # subscribes to status, health, feedback, help (and capture)
    service.start()
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from anjungan import topics
from anjungan.errors import AnjunganError
from anjungan.messages import Feedback, Health, HelpReason, HelpRequest, HelpState, KioskStatus
from anjungan.nik import redact
from anjungan.topics import TopicKind
from broker.fleet.core import FleetCore
from broker.fleet.localtime import SiteTime
from broker.fleet.metrics import FleetMetrics
from broker.fleet.model import (
    Alert,
    AlertAction,
    AlertChange,
    AlertKey,
    AlertKind,
    CentreSample,
    Thresholds,
)
from broker.fleet.rows import KioskRow
from broker.fleet.store import Batch, FeedbackRecord, FleetStore, HealthPoint, Site

log = logging.getLogger("anjungan.fleet")

WRITER_LEASE = "fleet-writer"
HELP_SYNC_ENTRIES = 200  # the latest alert-log entries read each tick for help acknowledged elsewhere

Clock = Callable[[], float]
# kiosk id -> registry state ("active" | "revoked"), e.g. broker.trust.TrustSource's `kiosks`;
# called for every message, so it must be cheap (same mapping object until the registry changes)
Registry = Callable[[], Mapping[str, str] | None]
CentreSampler = Callable[[float], CentreSample]
# kiosk id -> Site as given at signing (the fleet registry, `fleet_sites`); re-read with the
# store's sites, which win (`anjungan fleet set-site` corrects what signing said)
SiteSource = Callable[[], Mapping[str, Site]]


@dataclass(frozen=True, kw_only=True)
class FleetSettings:
    thresholds: Thresholds = Thresholds()
    history_every_s: float = 60.0  # at most one stored health point per kiosk per this
    retention_s: float = 14 * 86400.0
    flush_every_s: float = 0.25
    tick_every_s: float = 1.0
    sample_every_s: float = 10.0
    local_time: SiteTime = SiteTime()  # the zone the dashboard shows times in (config "timezone")
    lead_ttl_s: float = 10.0  # a writer silent this long hands the store to another monitor


class FleetService:
    def __init__(self, store: FleetStore, *, clock: Clock = time.time,
                 settings: FleetSettings | None = None,
                 sampler: CentreSampler | None = None,
                 registry: Registry | None = None,
                 sites: SiteSource | None = None, instance: str = "") -> None:
        self.store = store
        self.instance = instance or f"fleet-{uuid.uuid4().hex[:12]}"  # who holds the writer lease
        self.leading = False  # this monitor writes health, kiosks, alerts and samples
        self._renew_at = 0.0  # when the writer lease is renewed even with nothing to write
        self.site_source = sites
        self.registry = registry
        self._registry_seen: Mapping[str, str] | None = None
        self.clock = clock
        self.settings = settings or FleetSettings()
        self.sampler = sampler
        self.core = FleetCore(self.settings.thresholds)
        self.core.restore(store.kiosks(), store.open_alerts())
        self.metrics = FleetMetrics(self)
        self._lock = threading.Lock()
        self._batch = Batch()
        self._last_point: dict[str, float] = {}
        self._sites = self._with_signed(store.sites())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # told (kiosk id, feedback id) for every feedback committed, to ack it to its kiosk
        self.on_feedback_stored: Callable[[list[tuple[str, str]]], None] | None = None
        # told (kiosk id, request id, state) to answer a help request on the kiosk's ack topic
        self.on_help_answer: Callable[[str, str, HelpState], None] | None = None
        self._help_answers: list[tuple[str, str, HelpState]] = []  # sent after the next commit

    # -- inputs (any thread) --------------------------------------------------------------
    def handle(self, topic_name: str, payload: bytes) -> bool:
        """One MQTT message. False (logged, counted) when it is off the contract."""
        try:
            kiosk_id, kind = topics.parse(topic_name)
            if kind is not TopicKind.CAPTURE and self._is_revoked(kiosk_id):
                self.metrics.messages.labels(kind=kind, outcome="revoked").inc()
                log.info("refused a %s from revoked kiosk %s", kind, kiosk_id)
                return False
            if kind is TopicKind.STATUS:
                self._status(kiosk_id, KioskStatus.from_json(payload))
            elif kind is TopicKind.HEALTH:
                self._health(kiosk_id, Health.from_json(payload))
            elif kind is TopicKind.FEEDBACK:
                self._feedback(kiosk_id, Feedback.from_json(payload))
            elif kind is TopicKind.HELP:
                self._help(kiosk_id, HelpRequest.from_json(payload))
            elif kind is TopicKind.CAPTURE:
                self._capture(payload)
            else:
                raise topics.TopicError(f"fleet does not handle {kind!r}")
        except AnjunganError as exc:
            self.metrics.messages.labels(kind="unknown", outcome="bad").inc()
            log.warning("skipped a bad message on %.120s: %s", topic_name, exc)
            return False
        except Exception as exc:  # a message we did not foresee must not stop the monitor
            self.metrics.messages.labels(kind="unknown", outcome="bad").inc()
            log.warning("skipped a message on %.120s that failed: %s", topic_name, type(exc).__name__)
            return False
        return True

    def _is_revoked(self, kiosk_id: str) -> bool:
        return kiosk_id in self.sync_registry()

    def sync_registry(self) -> frozenset[str]:
        """The kiosks the registry revoked. Asked on every message and tick; a change reaches
        the core at once (their alerts clear, the dashboard shows them revoked)."""
        if self.registry is None:
            return self.core.revoked
        try:
            states = self.registry()
        except Exception as exc:  # noqa: BLE001 - keep the last known registry
            log.warning("could not read the fleet registry: %s", exc)
            states = self._registry_seen
        if states is not None and states is not self._registry_seen:
            revoked = frozenset(k for k, state in states.items() if state == "revoked")
            with self._lock:
                self._registry_seen = states
                self._record(self.core.set_revoked(revoked, self.clock()))
        return self.core.revoked

    def _check_sender(self, topic_kiosk: str, msg_kiosk: str) -> None:
        if topic_kiosk != msg_kiosk:
            raise topics.TopicError(f"message for {msg_kiosk!r} on {topic_kiosk!r}'s topic")

    def _status(self, kiosk_id: str, msg: KioskStatus) -> None:
        self._check_sender(kiosk_id, msg.kiosk_id)
        with self._lock:
            now = self.clock()
            accepted, changes = self.core.status(msg, now)
            self._record(changes)
            if accepted:
                self._batch.kiosks[kiosk_id] = self.core.kiosks[kiosk_id]
        self.metrics.messages.labels(kind="status", outcome="ok" if accepted else "stale").inc()
        if not accepted:
            log.info("ignored a stale %s from %s (old session)", msg.state, kiosk_id)

    def _health(self, kiosk_id: str, msg: Health) -> None:
        self._check_sender(kiosk_id, msg.kiosk_id)
        with self._lock:
            now = self.clock()
            self._record(self.core.health(msg, now))
            state = self.core.kiosks[kiosk_id]
            self._batch.kiosks[kiosk_id] = state
            if now - self._last_point.get(kiosk_id, -1e18) >= self.settings.history_every_s:
                self._last_point[kiosk_id] = now
                self._batch.health.append(HealthPoint(
                    kiosk_id=kiosk_id, at=now, online=state.online, outbox_depth=msg.outbox_depth,
                    outbox_oldest_s=msg.outbox_oldest_s, disk_free_pct=msg.disk_free_pct,
                    temperature_c=msg.temperature_c,
                    faults=len(msg.faults())))
        self.metrics.messages.labels(kind="health", outcome="ok").inc()

    def _feedback(self, kiosk_id: str, msg: Feedback) -> None:
        self._check_sender(kiosk_id, msg.kiosk_id)
        # A resident may type a NIK into free text: it is masked before it is ever stored.
        msg = replace(msg, text=redact(msg.text), ticket=redact(msg.ticket))
        with self._lock:
            self._batch.feedback.append(FeedbackRecord(feedback=msg, received_at=self.clock()))
        self.metrics.messages.labels(kind="feedback", outcome="ok").inc()

    def _help(self, kiosk_id: str, msg: HelpRequest) -> None:
        self._check_sender(kiosk_id, msg.kiosk_id)
        with self._lock:
            now = self.clock()  # the centre's clock, not the kiosk's, says when
            why = "" if msg.reason is HelpReason.HELP else f" ({msg.reason.value})"
            detail = f"help requested at {kiosk_id}, screen: {msg.screen}{why}, " \
                     f"{self.settings.local_time.clock(now)}"
            state, changes = self.core.help(kiosk_id, msg.request_id, detail, now)
            self._record(changes)
            self._help_answers.append((kiosk_id, msg.request_id, state))
        self.metrics.messages.labels(kind="help", outcome="ok").inc()

    def acknowledge_help(self, kiosk_id: str, request_id: str, *, by: str) -> bool:
        """A staff member is on their way: the alert clears and the kiosk is told at once.
        False for a request that is not open (already acknowledged, unknown)."""
        with self._lock:
            changes = self.core.acknowledge_help(kiosk_id, request_id, self.clock())
        if not changes:
            return False
        try:  # stored at once, by whichever monitor staff used: the others read it (`_sync_help`)
            self.store.commit(Batch(changes=changes))
            self._report(changes)
        except AnjunganError as exc:
            log.error("could not store that help at %s was acknowledged: %s", kiosk_id, exc)
            with self._lock:
                self._record(changes)  # the writer's next flush stores it
        log.info("help at %s acknowledged by %s", kiosk_id, by)
        if self.on_help_answer is not None:
            self.on_help_answer(kiosk_id, request_id, HelpState.COMING)
        return True

    def _capture(self, payload: bytes) -> None:
        # Counted for the captures-per-hour plot only; ingest verifies and commits packets.
        from anjungan.packet.codec import decode_packet

        self.record_capture(int(decode_packet(payload).header.priority))
        self.metrics.messages.labels(kind="capture", outcome="ok").inc()

    def record_capture(self, priority: int, at: float | None = None) -> None:
        """The central service's ingest may call this for every committed packet instead."""
        with self._lock:
            self._batch.captures.append((self.clock() if at is None else at, priority))

    def record_sample(self, sample: CentreSample) -> None:
        """Relay backlog per class and the SIAK breaker state, from the relay side."""
        with self._lock:
            self._record(self.core.sample(sample))
            self._batch.samples.append(sample)

    def set_site(self, site: Site) -> None:
        self.store.set_site(site)
        with self._lock:
            self._sites[site.kiosk_id] = site

    def _with_signed(self, stored: dict[str, Site]) -> dict[str, Site]:
        if self.site_source is None:
            return stored
        try:
            signed = self.site_source()
        except Exception as exc:  # noqa: BLE001 - the store's sites still show
            log.warning("could not read the kiosks' sites from the fleet registry: %s", exc)
            return stored
        return {**signed, **stored}

    def _record(self, changes: list[AlertChange]) -> None:
        self._batch.changes += changes  # reported once stored, by the writer (`_report`)

    def _report(self, changes: list[AlertChange]) -> None:
        for c in changes:
            a = c.alert
            log.warning("alert %s %s: %s", c.action.value, a.key.text, a.detail)
            self.metrics.alert_changes.labels(kind=a.key.kind.value, action=c.action.value).inc()

    # -- housekeeping -----------------------------------------------------------------------
    def tick(self) -> None:
        self.sync_registry()  # a revocation shows even if the kiosk stays silent
        self._sync_help()
        with self._lock:
            self._record(self.core.tick(self.clock()))

    def _sync_help(self) -> None:
        """Help that staff acknowledged on another monitor's dashboard (its clear is in the
        store's alert log) closes here too, without a second clear. No open request here: no
        read (this runs every tick)."""
        with self._lock:
            if not any(k.help for k in self.core.kiosks.values()):
                return
        try:
            cleared = [AlertKey.parse(e.key) for e in self.store.alert_log(limit=HELP_SYNC_ENTRIES)
                       if e.action == AlertAction.CLEAR.value and e.key.startswith(f"{AlertKind.HELP.value}:")]
        except (AnjunganError, ValueError) as exc:
            log.warning("could not read acknowledged help from the fleet store: %s", exc)
            return
        with self._lock:
            now = self.clock()
            for key in cleared:
                self.core.acknowledge_help(key.kiosk_id, key.subject, now)  # already stored

    def flush(self) -> int:
        """Commit what is pending. Returns how many messages' worth went in."""
        with self._lock:
            batch, self._batch = self._batch, Batch()
            answers, self._help_answers = self._help_answers, []
        if not batch and not answers and self.clock() < self._renew_at:
            return 0
        try:
            batch = self._as_writer_or_follower(batch)
            if batch:
                self.store.commit(batch)
        except AnjunganError as exc:
            log.error("fleet store commit failed, will retry: %s", exc)
            with self._lock:  # put it back in front of what came since
                self._batch = _merge(batch, self._batch)
                self._help_answers[:0] = answers
            return 0
        if self.on_help_answer is not None:  # the alert is committed: the kiosk may stop re-sending
            for kiosk_id, request_id, state in answers:
                if state is HelpState.RECEIVED and not self.leading:
                    continue  # only the writer stored it; the kiosk re-sends until it says so
                self.on_help_answer(kiosk_id, request_id, state)
        if not batch:
            return 0
        self._report(batch.changes)  # a follower's batch has none: the writer reports them
        if batch.feedback and self.on_feedback_stored is not None:
            self.on_feedback_stored([(r.feedback.kiosk_id, r.feedback.feedback_id) for r in batch.feedback])
        return len(batch.health) + len(batch.kiosks) + len(batch.feedback)

    def _as_writer_or_follower(self, batch: Batch) -> Batch:
        """Renew (or take) the writer lease: the writer commits all of `batch`; a follower only
        the feedback, which is stored once by its id and must be acked whoever stores it."""
        now = self.clock()
        leading = self.store.claim(WRITER_LEASE, self.instance, now=now, ttl_s=self.settings.lead_ttl_s)
        self._renew_at = now + self.settings.lead_ttl_s / 3
        if leading and not self.leading:
            stored = self.store.open_alerts()
            with self._lock:
                now = self.clock()
                changes = self.core.adopt(stored, now)
                kiosks = dict(self.core.kiosks)
            log.info("fleet monitor %s writes the fleet store now (%d alert changes to catch up)",
                     self.instance, len(changes))
            batch = replace(batch, changes=changes, kiosks=kiosks)
        elif not leading:
            if self.leading:
                log.warning("fleet monitor %s lost the writer lease; following", self.instance)
            batch = Batch(feedback=batch.feedback)
        self.leading = leading
        return batch

    def sample_centre(self) -> None:
        try:  # sites may be set by `anjungan fleet set-site` while the service runs
            sites = self._with_signed(self.store.sites())
            with self._lock:
                self._sites = sites
        except AnjunganError as exc:
            log.warning("could not read kiosk sites: %s", exc)
        if self.sampler is None:
            return
        try:
            self.record_sample(self.sampler(self.clock()))
        except (AnjunganError, ValueError) as exc:
            log.warning("could not sample the relay queue: %s", exc)

    def prune(self) -> None:
        try:
            self.store.prune(before=self.clock() - self.settings.retention_s)
        except AnjunganError as exc:
            log.warning("pruning fleet history failed: %s", exc)

    def start(self) -> FleetService:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fleet-housekeeping", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()
        if self.leading:  # hand over at once rather than after the lease runs out
            try:
                self.store.claim(WRITER_LEASE, self.instance, now=self.clock() - 1.0, ttl_s=0.0)
            except AnjunganError as exc:
                log.warning("could not hand over the fleet store: %s", exc)
            self.leading = False

    def _run(self) -> None:
        s = self.settings
        due = {"tick": 0.0, "sample": 0.0, "prune": 0.0}
        self.prune()
        while not self._stop.wait(s.flush_every_s):
            try:
                self._housekeeping(due)
            except Exception:  # keep flushing and alerting; the next round may succeed
                log.exception("fleet housekeeping failed; going on")

    def _housekeeping(self, due: dict[str, float]) -> None:
        s = self.settings
        mono = time.monotonic()
        if mono >= due["tick"]:
            due["tick"] = mono + s.tick_every_s
            self.tick()
        if mono >= due["sample"]:
            due["sample"] = mono + s.sample_every_s
            self.sample_centre()
        if mono >= due["prune"]:
            due["prune"] = mono + 3600.0
            self.prune()
        self.flush()

    # -- queries (any thread) -----------------------------------------------------------
    def overview(self) -> list[KioskRow]:
        with self._lock:
            now = self.clock()
            return [KioskRow(
                kiosk_id=k.kiosk_id, up=self.core.is_up(k.kiosk_id, now), last_seen=k.last_seen,
                site=self._sites.get(k.kiosk_id) or Site(kiosk_id=k.kiosk_id, office="", kecamatan=""),
                alerts=tuple(self.core.open_alerts(k.kiosk_id)), state=k,
                revoked=k.kiosk_id in self.core.revoked)
                for k in sorted(self.core.kiosks.values(), key=lambda k: k.kiosk_id)]

    def kiosk(self, kiosk_id: str) -> KioskRow | None:
        with self._lock:
            k = self.core.kiosks.get(kiosk_id)
            if k is None:
                return None
            now = self.clock()
            site = self._sites.get(kiosk_id) or Site(kiosk_id=kiosk_id, office="", kecamatan="")
            return KioskRow(kiosk_id=kiosk_id, up=self.core.is_up(kiosk_id, now),
                            last_seen=k.last_seen, site=site,
                            alerts=tuple(self.core.open_alerts(kiosk_id)), state=k,
                            revoked=kiosk_id in self.core.revoked)

    def counts(self) -> tuple[int, int]:
        """(kiosks known, kiosks up)."""
        with self._lock:
            now = self.clock()
            return len(self.core.kiosks), sum(1 for kid in self.core.kiosks if self.core.is_up(kid, now))

    def open_alerts(self) -> list[Alert]:
        with self._lock:
            return self.core.open_alerts()

    def centre(self) -> CentreSample | None:
        with self._lock:
            return self.core.centre


def _merge(first: Batch, then: Batch) -> Batch:
    return Batch(health=first.health + then.health, kiosks={**first.kiosks, **then.kiosks},
                 changes=first.changes + then.changes, feedback=first.feedback + then.feedback,
                 samples=first.samples + then.samples, captures=first.captures + then.captures)
