"""Synthetic capture bodies of realistic size, for samples, tests and benchmarks.

Sizes follow typical e-KTP enrollment captures: fingerprints ~500 dpi 8-bit grey
(ISO 19794-4, ~90-120 KB raw each after light compression), irises 640x480 grey
(ISO 19794-6, ~60-80 KB), face JPEG 2000 ~40-60 KB, signature SVG ~4 KB. Image bytes are
seeded pseudo-random noise: they are the right size and incompressible, not real biometrics.
"""

from __future__ import annotations

import random

from anjungan.packet.model import (
    FINGER_POSITIONS,
    BiometricRecord,
    CaptureBody,
    Demographics,
    Modality,
)

SAMPLE_NIK = "5171014101900001"  # Denpasar Selatan, woman born 1990-01-01


def _blob(rng: random.Random, size: int) -> bytes:
    return rng.randbytes(size)


def synthetic_body(
    *, nik: str = SAMPLE_NIK, seed: int = 0, missing_fingers: tuple[str, ...] = ()
) -> CaptureBody:
    rng = random.Random(seed)
    records = [
        BiometricRecord(modality=Modality.FACE, position="face", image_format="jpeg2000",
                        image=_blob(rng, rng.randint(40_000, 60_000)), quality=rng.randint(60, 95))
    ]
    for pos in FINGER_POSITIONS:
        if pos in missing_fingers:
            records.append(BiometricRecord(modality=Modality.FINGER, position=pos,
                                           image_format="iso19794-4", image=b"", quality=0,
                                           exception="missing"))
            continue
        records.append(
            BiometricRecord(modality=Modality.FINGER, position=pos, image_format="iso19794-4",
                            image=_blob(rng, rng.randint(90_000, 120_000)),
                            quality=rng.randint(40, 98), retries=rng.choice((0, 0, 0, 1)))
        )
    for pos in ("right_iris", "left_iris"):
        records.append(
            BiometricRecord(modality=Modality.IRIS, position=pos, image_format="iso19794-6",
                            image=_blob(rng, rng.randint(60_000, 80_000)),
                            quality=rng.randint(60, 99))
        )
    records.append(
        BiometricRecord(modality=Modality.SIGNATURE, position="signature", image_format="svg",
                        image=_blob(rng, 4_000), quality=80)
    )
    return CaptureBody(
        demographics=Demographics(nik=nik, kk_number="5171010101010001", name="Sampel Warga"),
        biometrics=tuple(records),
    )
