"""Fault tests on the real byte path: noise, drops, duplicates, unplug mid-transfer.
No corrupted object is ever accepted; a transfer resumes or fails with a clear error; the
driver recovers when the device comes back."""

import threading
import time

import pytest

from drivers.errors import CaptureError, DeviceUnavailable, PeripheralError, TransferFailed
from firmware import commands as c

pytestmark = pytest.mark.slow
SIZE = 120_000


def expected(seed, size=SIZE):
    return c.pattern_read(c.pattern_base(seed), 0, size)


@pytest.mark.parametrize(
    "imp",
    [{"noise": 2e-4}, {"drop": 2e-4}, {"dup": 2e-4}, {"noise": 1e-4, "drop": 1e-4, "dup": 1e-4}],
    ids=["noise", "drop", "dup", "mixed"],
)
def test_bulk_survives_impaired_line(controller_rig, imp):
    rig = controller_rig(paced=False, seed=11, **imp)
    rig.driver.connect()
    for seed in (1, 2):
        assert rig.driver.test_object(SIZE, seed) == expected(seed)
    h = rig.driver.health()
    assert h["corrupted_objects_rejected"] == 0
    assert h["rx_errors"] + h["retransmits"] > 0 or rig.line.to_device.bytes_in < 100  # impaired


def _unplug_later(line, after_bytes, down_s):
    def run():
        start = line.to_host.bytes_out
        while line.to_host.bytes_out - start < after_bytes:
            time.sleep(0.005)
        line.unplug()
        if down_s is not None:
            time.sleep(down_s)
            line.replug()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_unplug_mid_transfer_resumes_by_offset(controller_rig):
    rig = controller_rig(baud=921600)
    rig.driver.connect()
    t = _unplug_later(rig.line, 40_000, 0.6)
    data = rig.driver.test_object(SIZE, 5)
    t.join()
    assert data == expected(5)
    h = rig.driver.health()
    assert h["resumes"] >= 1 and h["reconnects"] >= 1 and rig.line.unplugs == 1


def test_unplug_for_good_fails_clearly_then_recovers(controller_rig):
    rig = controller_rig(baud=921600)
    rig.driver.connect()
    t = _unplug_later(rig.line, 30_000, None)  # replugged by hand below
    with pytest.raises(PeripheralError) as info:
        rig.driver.test_object(SIZE, 6, timeout_s=20)
    assert isinstance(info.value, DeviceUnavailable | TransferFailed)
    assert "controller" in str(info.value) and "\n" not in str(info.value)
    rig.line.replug()
    assert rig.driver.identify()["version"] == c.FIRMWARE_VERSION  # recovered
    assert rig.driver.test_object(5000, 8) == expected(8, 5000)
    t.join()


def test_corrupt_object_is_never_accepted(tmp_path):
    """A device whose object does not match its announced CRC: rejected, counted."""
    from anjungan.packet.model import Modality
    from drivers.cameras import CameraDriver
    from drivers.simulators.camera_sim import CameraSim
    from drivers.simulators.line import Impairments, Line
    from drivers.transport import SerialTransport

    sim = CameraSim(Modality.SIGNATURE).start()
    real_offer = sim.sender.offer
    sim.sender.offer = lambda obj, size, crc, read, meta=b"": real_offer(
        obj, size, crc ^ 1, read, meta
    )
    line = Line(sim.fd, Impairments(paced=False), str(tmp_path / "sig")).start()
    cam = CameraDriver(SerialTransport(line.path, 115200, device="signature"), Modality.SIGNATURE)
    try:
        cam.connect()
        with pytest.raises(TransferFailed, match="CRC-32"):
            cam.capture("signature")
        assert cam.health()["corrupted_objects_rejected"] == 1
    finally:
        cam.close()
        line.stop()
        sim.stop()


def test_camera_unplug_mid_image_resumes(tmp_path):
    from drivers.simulators.rig import SimulatedPeripherals, SimulatedRig

    rig = SimulatedRig(seed=3, devices=("iris",), baud={"iris": 921600})
    p = SimulatedPeripherals(rig)
    try:
        p.device("iris").client.reconnect_s = 5.0
        t = _unplug_later(rig.lines["iris"], 60_000, 0.5)
        cap = p.capture_iris("left_iris")
        t.join()
        assert cap.image == rig.sims["iris"].last_image
        assert p.health()["iris"]["resumes"] >= 1
    finally:
        p.close()


def test_fingerprint_under_noise_never_returns_a_damaged_image(tmp_path):
    from drivers import imaging
    from drivers.peripherals import FingerprintLink
    from drivers.simulators.line import Impairments
    from drivers.simulators.rig import SimulatedPeripherals, SimulatedRig

    rig = SimulatedRig(seed=4, devices=("fingerprint",), baud={"fingerprint": 921600},
                       impairments=Impairments(paced=False, noise=2e-5, seed=9),
                       fingerprint_link=FingerprintLink.R30X)
    rig.sims["fingerprint"].no_finger_rate = 0.0
    p = SimulatedPeripherals(rig)
    try:
        outcomes = []
        for _ in range(4):
            try:
                cap = p.capture_finger("left_thumb")
            except CaptureError as exc:
                outcomes.append(str(exc))
                continue
            assert imaging.pack_nibbles(cap.image) == rig.sims["fingerprint"].image
            outcomes.append("ok")
        assert "ok" in outcomes
    finally:
        p.close()
