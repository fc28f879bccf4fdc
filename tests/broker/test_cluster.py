"""The centre on a 3-node NATS cluster (`provision nats`): three kiosks stream (spread over
the nodes' MQTT listeners) to two real `broker run --broker cluster` instances on one
PostgreSQL while (b) one node of three is SIGKILLed and later restarted, rejoining the
cluster from its store. Counted at SIAK: nothing lost, nothing enrolled twice, never more
than SIAK's rate + 5%. The run is `anjungan bench scale --broker cluster`'s own
(`broker.bench_scale.measure_scale`), with the faults scheduled into it."""

from __future__ import annotations

from typing import Any

import pytest

from broker.bench_scale import Brokers, measure_scale
from broker.brokers import BrokerKind
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

VICTIM = 0  # node n1: kiosk 1's MQTT listener, and whichever centre or stream leader it holds


def test_a_node_killed_mid_stream_rejoins_and_nothing_is_lost_or_sent_twice(pg_url: str) -> None:
    done: list[str] = []

    def kill(b: Brokers) -> None:
        b.cluster.kill(VICTIM)
        done.append("killed")

    def rejoin(b: Brokers) -> None:
        b.cluster.restart(VICTIM)  # back in the cluster: it sees the meta leader
        done.append("rejoined")

    def caught_up(b: Brokers) -> None:  # the ingest stream and consumer current on all three again
        if wait_until(b.cluster.ingest_current, 60.0):
            done.append("caught up")

    r: dict[str, Any] = measure_scale(
        2, db_base=pg_url, kiosks=3, per_kiosk=30, rate=10.0, resend_s=3.0, small=True, timeout_s=150.0,
        broker=BrokerKind.CLUSTER, pace_s=0.1, faults=((1.0, kill), (6.0, rejoin), (8.0, caught_up)))
    print(r)  # the numbers, with -s
    assert done == ["killed", "rejoined", "caught up"]
    assert (r["packets"], r["lost"], r["duplicates_at_siak"]) == (90, 0, 0)
    assert r["siak_over_rate_pct"] <= 5.0
    assert len(r["share_by_instance"]) == 2 and all(r["share_by_instance"].values())  # competing consumers
