"""The central service's NATS transport, for a NATS cluster (`provisioning.nats`).

Kiosks publish over MQTT (QoS 1) to the cluster's MQTT listeners; their captures and
queries land in INGEST_STREAM, a work-queue stream replicated on up to three nodes. Every
`broker run` instance pulls from the one durable consumer INGEST_CONSUMER (nats-py, over
the NATS protocol, TLS with its centre certificate): competing consumers, so each message
goes to one instance, and an instance acks a message only after `broker.shell` committed
it. An unacked message is redelivered after ACK_WAIT_S (to any instance); at most
MAX_ACK_PENDING are out at once, which bounds what a dead instance holds. Answers go to
the kiosk's `ack` subject as core NATS messages, which the MQTT listener hands to the
kiosk's subscription at QoS 0: a kiosk that misses one re-sends its capture and gets a
`duplicate` ack (durability rests on the kiosk's outbox, not on the broker).

nats-py is asyncio: one event loop in its own thread; the pipeline's threads hand it acks
and answers with `run_coroutine_threadsafe`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError

from anjungan import topics
from anjungan.messages import Ack, PacketStatus, StatusReply
from anjungan.topics import TopicKind
from broker.errors import ConfigError
from broker.ingest import Inbound
from broker.shell import BatchHandler, IngestShell, PoisonHandler, Preparer, skip_poison
from provisioning.centres import CENTRE_ID
from provisioning.nats import INGEST_CONSUMER, INGEST_STREAM, INGEST_SUBJECTS, MAX_PAYLOAD

log = logging.getLogger("anjungan.nats")

ACK_WAIT_S = 30.0  # an unacked message goes to another instance after this long
MAX_ACK_PENDING = 200  # messages out to all instances at once, unacked
STREAM_MAX_BYTES = 4 * 1024**3  # past this the stream refuses captures; kiosks keep and re-send them
FETCH_WAIT_S = 1.0


@dataclass(frozen=True, kw_only=True)
class NatsSettings:
    urls: tuple[str, ...]  # tls://host:port of every node: the client fails over between them
    ca_file: str
    cert_file: str
    key_file: str
    name: str = CENTRE_ID  # the connection's name (the user is the certificate's subject)
    batch: int = 64

    def __post_init__(self) -> None:
        if not self.urls or any(not u.startswith("tls://") for u in self.urls):
            raise ConfigError(f"NATS URLs must be tls://HOST:PORT, got {','.join(self.urls)[:120]!r}")

    @property
    def replicas(self) -> int:
        """The ingest stream's replicas: one per node, at most three."""
        return min(3, len(self.urls))


def stream_config(replicas: int) -> StreamConfig:
    return StreamConfig(name=INGEST_STREAM, subjects=list(INGEST_SUBJECTS), retention=RetentionPolicy.WORK_QUEUE,
                        storage=StorageType.FILE, num_replicas=replicas, max_msg_size=MAX_PAYLOAD,
                        max_bytes=STREAM_MAX_BYTES, discard=DiscardPolicy.NEW)


def consumer_config() -> ConsumerConfig:
    return ConsumerConfig(durable_name=INGEST_CONSUMER, ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_S,
                          max_ack_pending=MAX_ACK_PENDING, max_waiting=64)


class CentreNats(IngestShell):
    def __init__(self, settings: NatsSettings, on_batch: BatchHandler, *,
                 prepare: Preparer | None = None, on_poison: PoisonHandler = skip_poison,
                 is_store_failure: Any = lambda _e: True) -> None:
        super().__init__(on_batch, batch=settings.batch, prepare=prepare, on_poison=on_poison,
                         is_store_failure=is_store_failure)
        self.settings = settings
        self.tls = ssl.create_default_context(cafile=settings.ca_file)
        self.tls.load_cert_chain(settings.cert_file, settings.key_file)
        self.loop = asyncio.new_event_loop()
        self.nc: Any = None
        self._closing: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="nats", daemon=True)

    # -- the event loop's thread ---------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except Exception:  # noqa: BLE001 - logged; the watchdog sees the shell stop
            log.exception("the NATS transport stopped")
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._closing = asyncio.Event()

        async def disconnected() -> None:
            self.connected.clear()
            if not self._stop.is_set():
                log.warning("NATS disconnected; reconnecting")

        async def reconnected() -> None:
            self.connected.set()
            log.info("NATS reconnected to %s", self.nc.connected_url.netloc if self.nc else "?")

        async def error(exc: Exception) -> None:
            log.warning("NATS: %s", type(exc).__name__)

        while self.nc is None and not self._closing.is_set():  # no node up yet: keep dialling
            try:
                self.nc = await nats.connect(
                    servers=list(self.settings.urls), tls=self.tls, name=self.settings.name, allow_reconnect=True,
                    max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=5,
                    disconnected_cb=disconnected, reconnected_cb=reconnected, error_cb=error)
            except Exception as exc:  # noqa: BLE001 - refused, unreachable, TLS: logged, tried again
                log.warning("NATS: cannot connect to any node (%s); retrying", type(exc).__name__)
                await asyncio.sleep(2)
        if self.nc is None:
            return
        js = self.nc.jetstream(timeout=10)
        while not self._closing.is_set():  # the cluster may still be electing the stream's leader
            try:
                await self._ensure(js)
                break
            except (NatsTimeout, nats.errors.Error) as exc:
                log.warning("NATS: the ingest stream is not ready (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1)
        sub = await js.pull_subscribe_bind(durable=INGEST_CONSUMER, stream=INGEST_STREAM)
        self.connected.set()
        log.info("NATS connected to %s", self.nc.connected_url.netloc)
        while not self._closing.is_set():
            try:
                msgs = await sub.fetch(self.settings.batch, timeout=FETCH_WAIT_S)
            except (NatsTimeout, TimeoutError):  # nothing to fetch within FETCH_WAIT_S
                continue
            except Exception as exc:  # noqa: BLE001 - a node gone, a leader moving: fetch again
                if not self._closing.is_set():
                    log.warning("NATS fetch failed (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(0.5)
                continue
            for m in msgs:
                self.deliver(Inbound(topic=topics.from_subject(m.subject), payload=bytes(m.data), token=m))
        await self.nc.drain() if self.nc.is_connected else await self.nc.close()

    async def _ensure(self, js: Any) -> None:
        cfg = stream_config(self.settings.replicas)
        try:
            await js.add_stream(cfg)
        except BadRequestError:  # it exists with another configuration: ours wins
            await js.update_stream(cfg)
        await js.add_consumer(INGEST_STREAM, consumer_config())

    # -- called from the pipeline's threads ------------------------------------------------
    def _call(self, coro: Any, what: str) -> None:
        if self.loop.is_closed():
            coro.close()
            return
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)

        def done(f: Future[Any]) -> None:
            if not f.cancelled() and f.exception() is not None:
                log.warning("NATS: could not %s (%s)", what, type(f.exception()).__name__)

        fut.add_done_callback(done)

    def settle(self, token: object) -> None:
        self._call(token.ack(), "ack a message")  # type: ignore[attr-defined]

    def notify(self, kiosk_id: str, message: Ack | PacketStatus | StatusReply) -> None:
        if self.nc is None:  # not connected yet: the kiosk re-sends and is answered then
            return
        subject = topics.subject(topics.topic(kiosk_id, TopicKind.ACK))
        self._call(self.nc.publish(subject, message.to_json()), "answer a kiosk")

    def alive(self) -> bool:
        return super().alive() and self._thread.is_alive()

    def open(self) -> None:
        self._thread.start()

    def close(self) -> None:
        if self._closing is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._closing.set)
        self._thread.join(timeout=10)
