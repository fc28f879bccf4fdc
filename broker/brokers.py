"""Which broker the centre talks to (`broker run --broker`, `bench scale --broker`).

    mosquitto  one Mosquitto (the embedded default for one site): MQTT 5 shared
               subscription, `broker.mqtt`
    cluster    a NATS cluster of three nodes (`anjungan provision nats`): kiosks on its
               MQTT listeners, the centre on a replicated JetStream work queue, `broker.nats_ingest`
"""

from __future__ import annotations

import enum


class BrokerKind(enum.StrEnum):
    MOSQUITTO = "mosquitto"
    CLUSTER = "cluster"
