"""`anjungan bench packet`: size and cost of the sample packet for each HPKE suite.

The baseline, measured in the same run, is plain CBOR encoding of the same body without
sealing or signing: `seal_ratio` says how many times that the full sign+seal costs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable

from anjungan.packet import (
    POST_QUANTUM_SUITE,
    CaptureBody,
    PriorityClass,
    Service,
    build_packet,
    decode_packet,
    encode_body,
    encode_packet,
    open_body,
    verify_packet,
)
from anjungan.packet.sample import synthetic_body


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _measure(root: str, *, post_quantum: bool, body: CaptureBody, rounds: int) -> dict[str, float]:
    from provisioning.bundle import complete, load_bundle, request
    from provisioning.fleet import init_fleet, load_gateway_key, load_trust

    fleet = init_fleet(f"{root}/fleet", post_quantum=post_quantum)
    request(f"{root}/kiosk", "bench-kiosk")
    complete(fleet, f"{root}/kiosk")
    bundle = load_bundle(f"{root}/kiosk")
    trust, gateway = load_trust(fleet.root), load_gateway_key(fleet.root)

    def make() -> bytes:
        return encode_packet(build_packet(
            body, identity=bundle.identity, gateway_public_key=bundle.gateway_public_key,
            suite_name=bundle.suite, sequence=1, service=Service.NEW_RECORDING,
            priority=PriorityClass.FIRST_RECORDING, now=time.time()))

    wire = make()
    baseline = _median_ms(lambda: encode_body(body), rounds)
    seal = _median_ms(make, rounds)
    verify = _median_ms(lambda: verify_packet(decode_packet(wire), trust, now=time.time()), rounds)
    opened = _median_ms(lambda: open_body(decode_packet(wire), gateway), rounds)
    return {
        "packet_bytes": len(wire), "body_cbor_ms": round(baseline, 2),
        "sign_seal_ms": round(seal, 2), "decode_verify_ms": round(verify, 2),
        "open_ms": round(opened, 2), "seal_ratio": round(seal / baseline, 2),
    }


def run(rounds: int = 20) -> dict[str, dict[str, float]]:
    body = synthetic_body()
    with tempfile.TemporaryDirectory() as tmp:
        return {
            "x25519": _measure(f"{tmp}/classic", post_quantum=False, body=body, rounds=rounds),
            POST_QUANTUM_SUITE: _measure(f"{tmp}/pq", post_quantum=True, body=body, rounds=rounds),
        }
