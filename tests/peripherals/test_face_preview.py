"""The face camera's live preview: every implementation hands out small scored frames, over
the real wire codec too, and a frame that is not one is refused with a clear error."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from anjungan.packet.model import Modality
from drivers import imaging
from drivers.cameras import CMD_PREVIEW, CameraDriver
from drivers.errors import DeviceUnavailable, LinkProtocolError, PeripheralError
from drivers.factory import open_peripherals
from drivers.imaging import PREVIEW_H, PREVIEW_W, FaceHint, ImageError, face_guidance
from drivers.peripherals import FacePreview
from drivers.samples import PREVIEW_SCENE
from drivers.simulators.rig import SimulatedRig
from drivers.transport import SerialTransport
from drivers.twin import InMemoryPeripherals


@pytest.mark.parametrize("mode", ["sim", "sim-pty", "sim-controller"])
def test_every_implementation_delivers_scored_frames(mode: str) -> None:
    with open_peripherals(mode, seed=3) as p:
        frames = [p.preview_face() for _ in range(len(PREVIEW_SCENE))]
    assert all(isinstance(f, FacePreview) for f in frames)
    assert {(f.width, f.height) for f in frames} == {(PREVIEW_W, PREVIEW_H)}
    assert all(len(f.pixels) == f.width * f.height and 0 <= f.quality <= 100 for f in frames)
    # the simulated resident steps up: too far, too dark, off to one side, then well placed
    assert [f.hint for f in frames[::2]][:4] == [FaceHint.CLOSER, FaceHint.LIGHT, FaceHint.LOOK, FaceHint.OK]
    good = [f.quality for f in frames if f.hint is FaceHint.OK]
    poor = [f.quality for f in frames if f.hint is not FaceHint.OK]
    assert min(good) > max(poor)  # the bar rises as the resident gets it right
    assert "pixels" not in repr(frames[0]) and len(repr(frames[0])) < 80


def test_a_preview_is_not_a_capture_and_an_unplugged_camera_raises() -> None:
    p = InMemoryPeripherals()
    p.preview_face()
    assert p.previews == 1 and p.captures["face"] == 0
    p.unplug("face")
    with pytest.raises(DeviceUnavailable, match="face"):
        p.preview_face()


@contextlib.contextmanager
def _camera(name: str, rig: SimulatedRig) -> Iterator[CameraDriver]:
    """The real camera driver on the simulator's pty."""
    driver = CameraDriver(SerialTransport(rig.config.url(name), 921600, device=name), Modality(name))
    try:
        driver.connect()
        yield driver
    finally:
        driver.close()
        rig.stop()


def test_only_the_face_camera_has_a_preview() -> None:
    with _camera("iris", SimulatedRig(devices=("iris",))) as driver, \
            pytest.raises(PeripheralError, match="only the face camera"):
        driver.preview()


@pytest.mark.parametrize(("pixels", "width", "height"), [
    (b"", 0, 0), (b"\x00" * 10, 96, 128), (b"\x00" * 4, 2, 2), (b"\x80" * (96 * 128 + 1), 96, 128),
])
def test_garbage_pixels_are_refused(pixels: bytes, width: int, height: int) -> None:
    with pytest.raises(ImageError):
        face_guidance(pixels, width, height)


def test_an_oversized_or_blank_frame() -> None:
    with pytest.raises(ImageError, match="at most 320"):
        FacePreview.scored(b"\x00" * (400 * 10), 400, 10)
    blank = FacePreview.scored(bytes(PREVIEW_W * PREVIEW_H), PREVIEW_W, PREVIEW_H)  # a black frame
    assert blank.quality == 0 and blank.hint is FaceHint.LIGHT
    wall = FacePreview.scored(b"\xe6" * (PREVIEW_W * PREVIEW_H), PREVIEW_W, PREVIEW_H)  # nobody there
    assert wall.quality == 0 and wall.hint is FaceHint.LOOK


def test_the_driver_refuses_a_frame_that_is_not_raw8(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = SimulatedRig(devices=("face",))
    sim = rig.sims["face"]
    real = sim.on_request

    def png_instead(cmd: int, args: bytes) -> tuple[int, bytes, tuple[int, bytes, bytes] | None]:
        status, data, obj = real(cmd, args)
        if obj is not None and cmd == CMD_PREVIEW:
            oid, frame, _meta = obj
            return status, data, (oid, imaging.png_encode(frame, PREVIEW_W, PREVIEW_H), b"\x60\x00\x80\x00png")
        return status, data, obj

    monkeypatch.setattr(sim, "on_request", png_instead)
    with _camera("face", rig) as driver, pytest.raises(LinkProtocolError, match="raw8"):
        driver.preview()
