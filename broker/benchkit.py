"""What the ingest benchmarks share: a throwaway fleet with one kiosk, its realistic
packets (synthetic bodies of e-KTP size), and TLS MQTT clients on the private broker."""

from __future__ import annotations

import ssl
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from anjungan.packet import build_packet, encode_packet
from anjungan.packet.model import (
    BiometricRecord,
    CaptureBody,
    Demographics,
    Modality,
    PriorityClass,
    Service,
)
from anjungan.packet.sample import synthetic_body
from broker.errors import BrokerError


def _nik(i: int) -> str:
    return f"517101010190{i % 10000:04d}"


def _small_body(i: int) -> CaptureBody:
    """A 2 KB capture (`bench scale --small`): the work per message without the bytes."""
    return CaptureBody(demographics=Demographics(nik=_nik(i), name="Warga Bench"),
                       biometrics=(BiometricRecord(modality=Modality.FACE, position="face", image_format="jpeg2000",
                                                   image=bytes([i % 251]) * 2000, quality=80),))


def bench_packets(bundle: Any, n: int, *, start: int = 1, small: bool = False) -> list[tuple[str, PriorityClass, bytes]]:
    out = []
    classes = (PriorityClass.VULNERABLE, PriorityClass.FIRST_RECORDING, PriorityClass.ROUTINE,
               PriorityClass.ROUTINE, PriorityClass.FIRST_RECORDING)
    for i in range(start, start + n):
        prio = classes[i % len(classes)]
        body = _small_body(i) if small else synthetic_body(nik=_nik(i), seed=i)
        p = build_packet(body, identity=bundle.identity,
                         gateway_public_key=bundle.gateway_public_key, suite_name=bundle.suite,
                         sequence=i, service=Service.REPLACEMENT, priority=prio, now=time.time())
        out.append((p.packet_id, prio, encode_packet(p)))
    return out


def bench_client(client_id: str, port: int, ca: str, cert: str, key: str) -> tuple[mqtt.Client, threading.Event]:
    ready = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    c.tls_set(ca_certs=ca, certfile=cert, keyfile=key, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    c.on_connect = lambda *_a: ready.set()
    c.connect("127.0.0.1", port)
    c.loop_start()
    if not ready.wait(10):
        raise BrokerError("bench: could not connect to the private Mosquitto")
    return c, ready


def bench_fleet(root: Path) -> tuple[Path, Any]:
    from provisioning.bundle import complete, load_bundle, request
    from provisioning.fleet import init_fleet

    fleet = init_fleet(root / "fleet", broker_port=0)
    request(root / "kiosk-bench", "kiosk-bench")
    complete(fleet, root / "kiosk-bench")
    return fleet.root, load_bundle(root / "kiosk-bench")


