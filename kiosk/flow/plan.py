"""What to capture for each service, in which steps, and the quality rules.

Fingers go in 4-4-2 slaps (right four, left four, both thumbs) or, if the resident cannot
place four at once, one finger at a time; the resident may switch at any finger step.
"""

from __future__ import annotations

from dataclasses import dataclass

from anjungan.packet.model import POSITIONS, Modality, Service

# Quality thresholds (0-100). Fingers and iris as MOSIP uses them; face and signature are our
# pick: ICAO-style face checks usually pass at 50; a signature pad scores stroke coverage.
THRESHOLDS = {Modality.FINGER: 40, Modality.IRIS: 60, Modality.FACE: 50, Modality.SIGNATURE: 30}
MAX_RETRIES = 3  # re-captures after the first try; then the best try is kept as poor_quality

RIGHT_SLAP = ("right_index", "right_middle", "right_ring", "right_little")
LEFT_SLAP = ("left_index", "left_middle", "left_ring", "left_little")
THUMBS = ("right_thumb", "left_thumb")
SLAPS = (RIGHT_SLAP, LEFT_SLAP, THUMBS)


@dataclass(frozen=True, kw_only=True)
class CaptureStep:
    modality: Modality
    positions: tuple[str, ...]

    @property
    def name(self) -> str:
        """A stable name for screens and scripts: 'face', 'finger:right_slap', 'iris', ..."""
        if self.modality is not Modality.FINGER:
            return self.modality.value
        for label, slap in zip(("right_slap", "left_slap", "thumbs"), SLAPS, strict=True):
            if self.positions == slap:
                return f"finger:{label}"
        return f"finger:{'+'.join(self.positions)}"


def _finger_steps(positions: tuple[str, ...], singles: bool) -> list[CaptureStep]:
    if singles:
        return [CaptureStep(modality=Modality.FINGER, positions=(p,)) for p in positions]
    steps = []
    for slap in SLAPS:
        part = tuple(p for p in slap if p in positions)
        if part:
            steps.append(CaptureStep(modality=Modality.FINGER, positions=part))
    return steps


def plan_for(service: Service, *, singles: bool = False) -> tuple[CaptureStep, ...]:
    """New recordings capture everything; a replacement re-takes the photo and signature and
    verifies the two index fingers; a correction re-takes the photo and signature."""
    face = CaptureStep(modality=Modality.FACE, positions=POSITIONS[Modality.FACE])
    iris = CaptureStep(modality=Modality.IRIS, positions=POSITIONS[Modality.IRIS])
    signature = CaptureStep(modality=Modality.SIGNATURE, positions=POSITIONS[Modality.SIGNATURE])
    if service is Service.NEW_RECORDING:
        fingers = _finger_steps(RIGHT_SLAP + LEFT_SLAP + THUMBS, singles)
        return (face, *fingers, iris, signature)
    if service is Service.REPLACEMENT:
        fingers = _finger_steps(("right_index", "left_index"), singles=True)
        return (face, *fingers, signature)
    return (face, signature)


def replan_singles(steps: tuple[CaptureStep, ...], index: int) -> tuple[CaptureStep, ...]:
    """Split every finger step from `index` on into single-finger steps."""
    head, tail = steps[:index], steps[index:]
    out: list[CaptureStep] = []
    for step in tail:
        if step.modality is Modality.FINGER and len(step.positions) > 1:
            out.extend(_finger_steps(step.positions, singles=True))
        else:
            out.append(step)
    return (*head, *out)


def passes(modality: Modality, quality: int) -> bool:
    return quality >= THRESHOLDS[modality]
