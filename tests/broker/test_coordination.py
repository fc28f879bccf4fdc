"""Centre instances on one PostgreSQL: one SIAK rate for all, one status poller (with
failover), and a dead instance's leases released at its first missed heartbeats; on MQTT,
one share group that only holders of the gateway key can name."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import psycopg
import pytest

from anjungan import topics
from broker.coordination import LocalCoordination, lease_owner, open_coordination
from broker.errors import ConfigError
from broker.mqtt import MqttSettings, share_group
from broker.policy import TokenBucket
from broker.queue import open_queue, split_schema
from broker.queue.coordination import PgCoordination
from broker.queue.postgres import PostgresQueue
from broker.relay import Relay, RelayConfig
from tests.waiting import wait_until

from .conftest import pg_schema
from .test_queue import env


@pytest.fixture
def url(pg_url: str) -> Iterator[str]:
    schema = pg_schema()
    yield f"{pg_url}?schema={schema}"
    q = PostgresQueue(pg_url, schema=schema)
    q.drop()
    q.close()


def instance(url: str, name: str, dead_after_s: float = 5.0) -> PgCoordination:
    c = open_coordination(url, instance=name, dead_after_s=dead_after_s)
    assert isinstance(c, PgCoordination)
    return c


def test_one_instance_alone_coordinates_with_nobody(tmp_path) -> None:
    for url in ("memory://", f"sqlite://{tmp_path / 'q.db'}"):
        c = open_coordination(url, instance="anjungan-centre", dead_after_s=5.0)
        assert isinstance(c, LocalCoordination) and not c.shared
        assert isinstance(c.bucket(rate=5.0, burst=1.0), TokenBucket) and c.leads()


def test_two_instances_share_one_rate(url: str) -> None:
    open_queue(url).close()
    rate, n = 20.0, 20
    a, b = instance(url, "centre-a"), instance(url, "centre-b")
    buckets = [a.bucket(rate=rate, burst=1.0), b.bucket(rate=rate, burst=1.0)]
    start = time.monotonic()
    waits = []
    for i in range(n):  # interleaved: each instance alone would grant twice as fast
        waits.append(buckets[i % 2].reserve(0.0))
        elapsed = time.monotonic() - start
        # the i-th token of the deployment leaves no earlier than i / rate after the first
        assert waits[-1] + elapsed >= i / rate - 1e-3
    assert waits[0] == 0.0 and waits == sorted(waits)
    buckets[0].reserve_refund()  # an unused token is given back to everybody
    assert buckets[1].reserve(0.0) <= waits[-1] + 1 / rate
    a.close()
    b.close()


def test_one_status_poller_and_the_next_takes_over(url: str) -> None:
    a, b = instance(url, "centre-a"), instance(url, "centre-b")
    assert a.leads() and not b.leads()
    assert a.leads() and not b.leads()  # asked again: unchanged
    a.close()  # the leader's session ends (its process died): the lock goes with it,
    assert wait_until(b.leads, timeout=10)  # once the server has ended that session
    c = instance(url, "centre-c")
    assert not c.leads()
    b.close()
    c.close()


def test_a_dead_instance_leases_are_released_at_once(url: str) -> None:
    queue = open_queue(url)
    queue.enqueue([env(1), env(2), env(3)], now=100.0)
    a, b = instance(url, "centre-a", dead_after_s=1.0), instance(url, "centre-b", dead_after_s=1.0)
    dsn, schema = split_schema(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        uptime = "SELECT extract(epoch from now() - pg_postmaster_start_time())"
        assert wait_until(lambda: conn.execute(uptime).fetchone()[0] > 1.0)  # type: ignore[index]
        assert a.beat(now=100.0) == 0 and b.beat(now=100.0) == 0  # first beats release nothing
        held = queue.lease(owner=lease_owner("centre-a", "relay-0"), now=100.0, lease_s=60.0, limit=2)
        mine = queue.lease(owner=lease_owner("centre-b", "relay-0"), now=100.0, lease_s=60.0)
        assert len(held) == 2 and len(mine) == 1
        a.beat(now=101.0)
        assert b.beat(now=101.0) == 0  # a is alive: nothing moves
        # a stops beating (SIGKILL): its last heartbeat grows older than dead_after_s
        a.close()
        conn.execute(f"UPDATE {schema}.instances SET beat_at = beat_at - 6 WHERE name = 'centre-a'")
        assert b.beat(now=102.0) == 2
    again = queue.lease(owner=lease_owner("centre-b", "relay-1"), now=102.0, lease_s=60.0, limit=5)
    assert sorted(le.packet_id for le in again) == sorted(le.packet_id for le in held)  # b's own lease stays
    assert b.beat(now=103.0) == 0
    b.leave()
    b.close()
    queue.close()


def test_after_an_outage_that_silenced_everybody_nobody_is_declared_dead(url: str) -> None:
    queue = open_queue(url)
    queue.enqueue([env(1)], now=100.0)
    a, b = instance(url, "centre-a", dead_after_s=1.0), instance(url, "centre-b", dead_after_s=1.0)
    a.beat(now=100.0)
    b.beat(now=100.0)
    assert len(queue.lease(owner=lease_owner("centre-a", "relay-0"), now=100.0, lease_s=60.0)) == 1
    dsn, schema = split_schema(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE {schema}.instances SET beat_at = beat_at - 6")  # nobody got through
    b._beat_ok_at = time.monotonic() - 6  # b's own heartbeats failed as long
    assert b.beat(now=106.0) == 0  # so a's silence proves nothing yet
    assert queue.lease(owner=lease_owner("centre-b", "relay-0"), now=106.0, lease_s=60.0) == []
    for c in (a, b):
        c.close()
    queue.close()


def test_the_share_group_is_the_same_for_every_holder_of_the_secret_only() -> None:
    group = share_group(b"k" * 32)
    assert group == share_group(b"k" * 32) and group != share_group(b"j" * 32)
    assert re.fullmatch(r"anjungan-ingest-[0-9a-f]{24}", group)
    assert topics.shared_subscription("capture", group).startswith(f"$share/{group}/anjungan/v1/kiosk/+/")
    with pytest.raises(ConfigError):
        share_group(b"short")


def test_the_session_expiry_fits_mqtt() -> None:
    def settings(**kw: int) -> MqttSettings:
        return MqttSettings(url="mqtts://h:1", ca_file="", cert_file="", key_file="",
                            share_group=share_group(b"k" * 32), **kw)

    assert settings().session_expiry_s == 30
    with pytest.raises(ConfigError):
        settings(session_expiry_s=-1)


class CountingCoordination(LocalCoordination):
    """The local twin, counting the tokens its bucket hands out."""

    shared = True

    def __init__(self) -> None:
        self.reserved, self.beats = 0, 0

    def bucket(self, *, rate: float, burst: float) -> TokenBucket:
        outer = self

        class Counted(TokenBucket):
            def reserve(self, now: float) -> float:
                outer.reserved += 1
                return super().reserve(now)

        return Counted(rate=rate, burst=burst)

    def beat(self, *, now: float) -> int:
        self.beats += 1
        return 0


def test_an_idle_worker_takes_no_token_and_a_shared_relay_beats_before_it_leases() -> None:
    coord = CountingCoordination()
    relay = Relay(open_queue("memory://"), None, None, None, RelayConfig(status_poll_s=0),  # type: ignore[arg-type]
                  name=lease_owner("centre-a", "relay"), coordination=coord)
    assert [relay.step("centre-a/relay-0") for _ in range(20)] == [False] * 20
    assert coord.reserved == 0  # one lease query per idle step, no token and no refund
    relay.start()
    try:
        assert coord.beats >= 1  # the first heartbeat precedes the first lease
    finally:
        relay.stop()
