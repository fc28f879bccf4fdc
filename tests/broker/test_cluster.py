"""The centre on a 3-node NATS cluster (`provision nats`): three kiosks stream (spread over
the nodes' MQTT listeners) to two real `broker run --broker cluster` instances on one
PostgreSQL while (b) one node of three is SIGKILLed and later restarted, rejoining the
cluster from its store, or one of the two instances is SIGKILLed. Counted at SIAK: nothing
lost, nothing enrolled twice, never more than SIAK's rate + 5%. The run is `anjungan bench
scale --broker cluster`'s own (`broker.bench_scale.measure_scale`), with the faults
scheduled into it."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from broker.bench_scale import Fault, Running, measure_scale
from broker.brokers import BrokerKind
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

VICTIM = 0  # node n1: kiosk 1's MQTT listener, and whichever centre or stream leader it holds


def stream(pg_url: str, faults: tuple[Fault, ...]) -> dict[str, Any]:
    r: dict[str, Any] = measure_scale(
        2, db_base=pg_url, kiosks=3, per_kiosk=30, rate=10.0, resend_s=3.0, small=True,
        timeout_s=150.0, broker=BrokerKind.CLUSTER, pace_s=0.1, faults=faults)
    print(r)  # the numbers, with -s
    assert (r["packets"], r["lost"], r["duplicates_at_siak"]) == (90, 0, 0)
    assert r["siak_over_rate_pct"] <= 5.0
    return r


def test_a_node_killed_mid_stream_rejoins_and_nothing_is_lost_or_sent_twice(pg_url: str) -> None:
    done: list[str] = []

    def kill(run: Running) -> None:
        run.brokers.cluster.kill(VICTIM)
        done.append("killed")

    def rejoin(run: Running) -> None:
        run.brokers.cluster.restart(VICTIM)  # back in the cluster: it sees the meta leader
        done.append("rejoined")

    def caught_up(run: Running) -> None:  # the ingest stream and consumer current on all three again
        if wait_until(run.brokers.cluster.ingest_current, 60.0):
            done.append("caught up")

    r = stream(pg_url, ((1.0, kill), (6.0, rejoin), (8.0, caught_up)))
    assert done == ["killed", "rejoined", "caught up"]
    assert len(r["share_by_instance"]) == 2 and all(r["share_by_instance"].values())  # competing consumers


def test_an_instance_killed_mid_stream_loses_nothing_it_had_not_acked(pg_url: str) -> None:
    """What the dead instance pulled and did not ack comes back from the stream (after the
    consumer's ack wait) or from the kiosks' re-sends; its queue leases come back at its
    missed heartbeats."""
    killed: list[int] = []

    def kill_instance(run: Running) -> None:
        run.instances[1].send_signal(signal.SIGKILL)
        killed.append(run.instances[1].wait())

    stream(pg_url, ((1.5, kill_instance),))
    assert killed == [-signal.SIGKILL]
