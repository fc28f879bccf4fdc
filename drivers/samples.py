"""What a simulated sensor "sees": a deterministic stream of synthetic images per seed.

Shared by the in-memory twin and the byte-level simulators so both give the kiosk the same
kind of data. About one capture in four is poor (below the kiosk's thresholds: 40 for
fingers, 60 for iris), so retries get exercised. Clarity is quantised and image seeds come
from a small pool so the (slow, pure-Python) pixel work is cached.
"""

from __future__ import annotations

import random

from drivers import imaging

POOR_SHARE = 0.25
_IMAGE_POOL = 4
# A resident stepping up to the face camera, frame by frame: too far, in a dark booth, off to
# one side, then well placed (and so on again). (scale, dx, light) of each preview frame.
PREVIEW_SCENE = (
    (0.5, 0.0, 1.0), (0.5, 0.0, 1.0), (1.0, 0.0, 0.3), (1.0, 0.0, 0.3),
    (1.0, 0.25, 1.0), (1.0, 0.25, 1.0), (1.0, 0.0, 1.0), (1.0, 0.0, 1.0), (1.0, 0.0, 1.0),
)


class SampleSource:
    def __init__(self, seed: int = 0, poor_share: float = POOR_SHARE) -> None:
        self._rng = random.Random(seed)
        self._poor_share = poor_share
        self._frames = 0

    def _draw(self) -> tuple[int, float]:
        poor = self._rng.random() < self._poor_share
        clarity = self._rng.uniform(0.40, 0.60) if poor else self._rng.uniform(0.72, 1.0)
        return self._rng.randrange(_IMAGE_POOL), round(clarity * 20) / 20

    def finger(self) -> bytes:
        """256 x 288 8-bit grey."""
        return imaging.finger_image(*self._draw())

    def iris(self) -> bytes:
        return imaging.iris_png(*self._draw())

    def face(self) -> bytes:
        return imaging.face_png(*self._draw())

    def face_preview(self) -> bytes:
        """The next live frame of `PREVIEW_SCENE`, `imaging.PREVIEW_W` x `PREVIEW_H` grey."""
        scale, dx, light = PREVIEW_SCENE[self._frames % len(PREVIEW_SCENE)]
        self._frames += 1
        return imaging.face_preview(self._frames % 2, 0.9, scale=scale, dx=dx, light=light)

    def signature(self) -> bytes:
        return imaging.signature_svg(self._rng.randrange(1 << 16))
