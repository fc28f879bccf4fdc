"""`anjungan bench packet`: size and cost of a new recording's packet for each HPKE suite.

The body is what a kiosk seals for a new recording: the in-memory twin's captures (face,
10 fingers, 2 irises, signature: the simulators' images at the sensors' geometry) made into
ISO/IEC 19794 records with JPEG 2000 images by `drivers.records`, the kiosk's own path.

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
from anjungan.packet.model import FINGER_POSITIONS, CaptureBody, Demographics
from anjungan.packet.sample import SAMPLE_NIK


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


def new_recording_body(seed: int = 0, *, nik: str = SAMPLE_NIK) -> CaptureBody:
    """A new recording's body from the twin's captures, one try per position (also what
    `anjungan packet sample` seals)."""
    from drivers.peripherals import Capture
    from drivers.records import biometric_record
    from drivers.twin import InMemoryPeripherals

    p = InMemoryPeripherals(seed=seed)
    captures: list[Capture] = [p.capture_face()]
    captures += [p.capture_finger(pos) for pos in FINGER_POSITIONS]
    captures += [p.capture_iris(pos) for pos in ("right_iris", "left_iris")]
    captures.append(p.capture_signature())
    records = tuple(biometric_record(modality=c.modality, position=c.position,
                                     image_format=c.image_format, image=c.image,
                                     quality=c.quality) for c in captures)
    return CaptureBody(demographics=Demographics(nik=nik, kk_number="5171010101010001",
                                                 name="Sampel Warga"), biometrics=records)


def run(rounds: int = 20) -> dict[str, dict[str, float]]:
    body = new_recording_body()
    with tempfile.TemporaryDirectory() as tmp:
        return {
            "x25519": _measure(f"{tmp}/classic", post_quantum=False, body=body, rounds=rounds),
            POST_QUANTUM_SUITE: _measure(f"{tmp}/pq", post_quantum=True, body=body, rounds=rounds),
        }
