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


def run(rounds: int = 20) -> dict[str, dict[str, float]]:
    from provisioning.bundle import complete, load_bundle, request
    from provisioning.fleet import init_fleet, load_gateway_key, load_trust

    body = synthetic_body()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pq in (False, True):
            fleet = init_fleet(f"{tmp}/fleet-{pq}", post_quantum=pq)
            request(f"{tmp}/kiosk-{pq}", "bench-kiosk")
            complete(fleet, f"{tmp}/kiosk-{pq}")
            bundle = load_bundle(f"{tmp}/kiosk-{pq}")
            trust, gateway = load_trust(fleet.root), load_gateway_key(fleet.root)

            def make() -> bytes:
                return encode_packet(build_packet(
                    body, identity=bundle.identity, gateway_public_key=bundle.gateway_public_key,
                    suite_name=bundle.suite, sequence=1, service=Service.NEW_RECORDING,
                    priority=PriorityClass.FIRST_RECORDING, now=time.time()))  # fmt: skip

            wire = make()
            baseline = _median_ms(lambda: encode_body(body), rounds)
            seal = _median_ms(make, rounds)
            verify = _median_ms(
                lambda: verify_packet(decode_packet(wire), trust, now=time.time()), rounds
            )
            opened = _median_ms(lambda: open_body(decode_packet(wire), gateway), rounds)
            results[POST_QUANTUM_SUITE if pq else "x25519"] = {
                "packet_bytes": len(wire), "body_cbor_ms": round(baseline, 2),
                "sign_seal_ms": round(seal, 2), "decode_verify_ms": round(verify, 2),
                "open_ms": round(opened, 2), "seal_ratio": round(seal / baseline, 2),
            }  # fmt: skip
    return results
