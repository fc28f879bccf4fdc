"""Per-message isolation in the centre's MQTT shell: a message whose handling raises is set
aside on its own; only a failing store pauses ingest (and then nothing is lost)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass

import pytest

from anjungan.logs import SafeFormatter, escape
from anjungan.messages import Ack, AckOutcome
from broker.errors import QueueError
from broker.ingest import Inbound, Outcome
from broker.mqtt import CentreMqtt, MqttSettings
from broker.queue import store_failure
from provisioning.fleet import centre_tls
from tests.broker.kit import make_fleet


@dataclass
class FakeDelivery:  # what paho hands the shell: an id to ack and a QoS
    mid: int
    qos: int = 1


class RecordingClient:
    """Stands in for the paho client: records acks and publishes."""

    def __init__(self) -> None:
        self.acked: list[int] = []
        self.published: list[str] = []

    def ack(self, mid: int, qos: int) -> None:
        self.acked.append(mid)

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        self.published.append(topic)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    fleet_dir, _ = make_fleet(tmp_path_factory.mktemp("fleet"), ())
    return centre_tls(fleet_dir)


def shell(tls, on_batch, on_poison=None) -> tuple[CentreMqtt, RecordingClient]:  # type: ignore[no-untyped-def]
    kw = {"on_poison": on_poison} if on_poison else {}
    settings = MqttSettings(url="mqtts://127.0.0.1:1", ca_file=tls.ca_file, cert_file=tls.cert_file,
                            key_file=tls.key_file, share_group="anjungan-ingest-test")
    centre = CentreMqtt(settings, on_batch, is_store_failure=store_failure, **kw)
    client = RecordingClient()
    centre.client = client  # type: ignore[assignment]
    return centre, client


def inbound(i: int, payload: bytes = b"ok") -> Inbound:
    return Inbound(topic="anjungan/v1/kiosk/kiosk-01/capture", payload=payload, token=FakeDelivery(i))


def accepted(batch: list[Inbound]) -> list[Outcome]:
    return [Outcome(token=m.token, kiosk_id="kiosk-01", ack=Ack(packet_id="0" * 36, outcome=AckOutcome.ACCEPTED))
            for m in batch]


def test_one_poison_message_is_set_aside_and_the_rest_of_its_batch_is_committed(tls) -> None:  # type: ignore[no-untyped-def]
    committed: list[int] = []
    poisoned: list[int] = []

    def on_batch(batch: list[Inbound]) -> list[Outcome]:
        if any(m.payload == b"poison" for m in batch):
            raise sqlite3.IntegrityError("NOT NULL constraint failed")  # one bad row
        committed.extend(m.token.mid for m in batch)
        return accepted(batch)

    def on_poison(msg: Inbound, exc: BaseException) -> Outcome:
        poisoned.append(msg.token.mid)
        return Outcome(token=msg.token, kiosk_id="", ack=None, reason="internal_error")

    centre, client = shell(tls, on_batch, on_poison)
    batch = [inbound(1), inbound(2, b"poison"), inbound(3)]
    centre._handle([m.token for m in batch], batch)
    assert committed == [1, 3] and poisoned == [2]
    assert sorted(client.acked) == [1, 2, 3]  # the poison is acked too: never redelivered


def test_a_failing_store_pauses_ingest_and_loses_nothing(tls) -> None:  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def on_batch(batch: list[Inbound]) -> list[Outcome]:
        calls["n"] += 1
        if calls["n"] <= 4:
            raise QueueError("cannot store packet bodies: No space left on device")
        return accepted(batch)

    def on_poison(msg: Inbound, exc: BaseException) -> Outcome:
        raise AssertionError("a failing store is not poison")

    centre, client = shell(tls, on_batch, on_poison)
    batch = [inbound(1), inbound(2)]
    centre._handle([m.token for m in batch], batch)
    assert client.acked == [1, 2] and calls["n"] == 6  # 1 batch + 3 failed retries + 2 commits


def test_stopping_while_the_store_is_down_acks_nothing(tls) -> None:  # type: ignore[no-untyped-def]
    def on_batch(batch: list[Inbound]) -> list[Outcome]:
        raise sqlite3.OperationalError("database or disk is full")

    centre, client = shell(tls, on_batch)
    timer = threading.Timer(0.3, centre._stop.set)
    timer.start()
    batch = [inbound(1)]
    centre._handle([m.token for m in batch], batch)
    timer.join()
    assert client.acked == []  # not committed, so not acked: the broker redelivers it


@pytest.mark.parametrize("exc,store", [
    (QueueError("PostgreSQL failed"), True), (OSError(28, "No space left"), True),
    (sqlite3.OperationalError("database is locked"), True), (sqlite3.IntegrityError("x"), False),
    (ValueError("x"), False), (RecursionError(), False), (KeyError("x"), False),
])
def test_what_counts_as_a_store_failure(exc: BaseException, store: bool) -> None:
    assert store_failure(exc) is store


def test_a_newline_from_a_kiosk_cannot_forge_a_log_line() -> None:
    record = logging.LogRecord("anjungan.fleet", logging.WARNING, __file__, 1,
                               "peripheral %s failed", ("printer\n2026-12-01 INFO forged: ok\x1b[31m",), None)
    line = SafeFormatter("%(levelname)s %(message)s").format(record)
    assert "\n" not in line and "\x1b" not in line
    assert line == "WARNING peripheral printer\\n2026-12-01 INFO forged: ok\\x1b[31m failed"
    assert escape("a\u2028b\rc") == "a\\u2028b\\rc"


def test_a_traceback_keeps_its_lines() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = SafeFormatter("%(message)s").format(record)
    assert text.startswith("failed\nTraceback")


@pytest.mark.parametrize("topic,payload", [
    ("anjungan/v1/kiosk/kiosk-01/capture", b"not a packet"),
    ("anjungan/v1/kiosk/kiosk-01/query", b"{}"),
    ("elsewhere/entirely", b""),
])
def test_the_centre_sets_a_failing_message_aside_once(topic: str, payload: bytes) -> None:
    import types

    from broker.queue import open_queue
    from broker.service import POISON, CentralService

    queue = open_queue("memory://")
    from broker.observe import NULL

    centre = types.SimpleNamespace(queue=queue, observer=NULL)  # all `_set_aside` uses of the service
    out = CentralService._set_aside(centre, Inbound(topic=topic, payload=payload, token=FakeDelivery(7)),  # type: ignore[arg-type]
                                    RuntimeError("a handler bug"))
    assert out.token.mid == 7 and out.reason == POISON and out.ack is None  # no id readable: no answer
    recorded = queue.rejections()
    assert [(r.kiosk_id, r.reason) for r in recorded] == ([("kiosk-01", POISON)] if "kiosk-01" in topic else [])
