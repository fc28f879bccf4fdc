"""The fingerprint behind its bridge: the bridge simulator (an R30x simulator on a clean
local link, the wire codec on the long cable) and the `BridgedFingerprint` driver over ptys,
clean and noisy; garbage from a bridge refused with a clear error; the config, pairing and
self-test that pick it."""

from __future__ import annotations

import json
import re
import struct
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers import imaging
from drivers.cameras import CMD_CAPTURE, CMD_IDENTIFY, ST_NO_SUBJECT, ST_OK, pack_meta
from drivers.errors import (
    CaptureError,
    LinkProtocolError,
    PeripheralConfigError,
    PeripheralError,
    TransferFailed,
)
from drivers.fingerprint_bridge import ST_MODULE_FAULT, BridgedFingerprint
from drivers.peripherals import FingerprintLink, PeripheralConfig
from drivers.r30x_codec import CMD_AURALEDCONFIG, CMD_GENIMG, CMD_TEMPLATENUM, CMD_UPIMAGE
from drivers.serial_peripherals import SerialPeripherals
from drivers.simulators.fpbridge_sim import FingerprintBridgeSim, FirmwareBridgeSim
from drivers.simulators.line import Impairments, Line
from drivers.simulators.rig import SimulatedPeripherals, SimulatedRig
from drivers.simulators.wire_device import WireDevice
from drivers.transport import SerialTransport
from entrypoints.cli import main

BAUD = 921600


@pytest.fixture
def bridged(micropython: str) -> Iterator[SimulatedPeripherals]:
    """The bridge's real firmware under `micropython`, through the real driver."""
    p = SimulatedPeripherals(SimulatedRig(seed=5, devices=("fingerprint",)))
    try:
        yield p
    finally:
        p.close()


@pytest.mark.parametrize("noise", [0.0, 1e-4, 1e-3])
def test_every_image_through_the_bridge_firmware_is_the_modules_own(noise: float,
                                                                    micropython: str) -> None:
    rig = SimulatedRig(seed=11, devices=("fingerprint",),
                       impairments=Impairments(noise=noise, seed=4))
    sim = rig.sims["fingerprint"]
    assert isinstance(sim, FirmwareBridgeSim) and rig.runtimes["fingerprint"].startswith("micropython")
    _three_fingers(SimulatedPeripherals(rig), sim, noise)


def test_the_cpython_bridge_carries_the_same_under_noise() -> None:
    sim = FingerprintBridgeSim(seed=12, baud=BAUD).start()
    tmp = tempfile.TemporaryDirectory()
    line = Line(sim.fd, Impairments(baud=BAUD, noise=1e-3, seed=5), tmp.name + "/fp").start()
    p = SerialPeripherals(PeripheralConfig(fingerprint=line.path, fingerprint_link="bridge"))
    try:
        _three_fingers(p, sim, 1e-3)
        assert sim.last_image == sim.image and not sim.errors
    finally:
        line.stop()
        sim.stop()
        tmp.cleanup()


def _three_fingers(p: SerialPeripherals, sim: Any, noise: float) -> None:
    try:
        for position in ("right_thumb", "left_index", "right_little"):
            cap = p.capture_finger(position)
            # no damaged image accepted: what arrived is what the module's ImageBuffer holds
            assert imaging.pack_nibbles(cap.image) == sim.image
            assert (cap.width, cap.height, cap.image_format) == (256, 288, "raw8")
            assert cap.quality == imaging.estimate_quality(cap.image, 256, 288)  # the driver's score
        health = p.health()["fingerprint"]
        assert health["ok"] and health["link"] == "bridge" and health["objects"] == 3
        assert health["corrupted_objects_rejected"] == 0
        if noise >= 1e-3:
            assert health["rx_errors"] > 0  # the cable was noisy, and the codec carried it
        assert sim.module.images_sent >= 3
    finally:
        p.close()


def test_the_cable_pulled_mid_image_resumes_by_offset(bridged: SimulatedPeripherals) -> None:
    from tests.peripherals.test_faults import _unplug_later

    sim = bridged.rig.sims["fingerprint"]
    bridged.device("fingerprint").client.reconnect_s = 5.0
    t = _unplug_later(bridged.rig.lines["fingerprint"], 12_000, 0.5)  # a third of the image in
    cap = bridged.capture_finger("left_thumb")
    t.join()
    assert imaging.pack_nibbles(cap.image) == sim.image
    assert bridged.health()["fingerprint"]["resumes"] >= 1


def test_no_finger_is_a_capture_error_after_the_drivers_wait(bridged: SimulatedPeripherals) -> None:
    sim = bridged.rig.sims["fingerprint"]
    sim.module.no_finger_rate = 1.0
    bridged.device("fingerprint").finger_wait_s = 0.5
    with pytest.raises(CaptureError, match="no finger on the sensor"):
        bridged.capture_finger("right_thumb")
    sim.module.no_finger_rate = 0.0  # the resident puts a finger down: the next one works
    assert bridged.capture_finger("right_thumb").image


def test_a_module_error_maps_to_a_one_line_capture_error(bridged: SimulatedPeripherals) -> None:
    module = bridged.rig.sims["fingerprint"].module
    module._HANDLERS = {**module._HANDLERS, CMD_GENIMG: lambda self, _p: self._reply(0x03)}
    with pytest.raises(CaptureError) as err:
        bridged.capture_finger("left_thumb")
    assert "image capture failed" in str(err.value) and "\n" not in str(err.value)


def test_a_silent_module_is_a_capture_error_and_the_bridge_recovers(bridged: SimulatedPeripherals) -> None:
    module = bridged.rig.sims["fingerprint"].module
    handlers = module._HANDLERS
    module._HANDLERS = {**handlers, CMD_GENIMG: lambda _self, _p: None}  # says nothing
    with pytest.raises(CaptureError, match="module: no clean acknowledge to GenImg") as err:
        bridged.capture_finger("left_thumb")
    assert "\n" not in str(err.value)
    module._HANDLERS = handlers  # it answers again: the bridge reconnects to it
    module.no_finger_rate = 0.0
    cap = bridged.capture_finger("left_thumb")
    assert imaging.pack_nibbles(cap.image) == module.image


def test_a_short_upload_from_the_module_is_never_offered(bridged: SimulatedPeripherals) -> None:
    module = bridged.rig.sims["fingerprint"].module
    module.no_finger_rate = 0.0

    def short(self: Any, _params: bytes) -> None:  # an upload that stops a third of the way
        self._reply(0)
        self._stream((self.image or b"")[:12_288])
    module._HANDLERS = {**module._HANDLERS, CMD_UPIMAGE: short}
    with pytest.raises(CaptureError, match="image upload failed on the local link"):
        bridged.capture_finger("right_index")
    assert bridged.health()["fingerprint"]["objects"] == 0


def test_the_modules_own_instructions_are_forwarded(bridged: SimulatedPeripherals) -> None:
    driver = bridged.device("fingerprint")
    assert isinstance(driver, BridgedFingerprint)
    assert "R30x sys" in driver.identity["version"]  # the bridge names the module behind it
    assert driver.module_command(CMD_AURALEDCONFIG, bytes((3, 0, 2, 0))) == (0, b"")
    assert bridged.rig.sims["fingerprint"].module.led == (3, 0, 2, 0)
    with pytest.raises(CaptureError, match="module: no clean acknowledge"):  # the module's 0x01
        driver.module_command(CMD_AURALEDCONFIG, bytes((9, 0, 2, 0)))
    assert driver.module_command(CMD_TEMPLATENUM) == (0, struct.pack(">H", 0))
    with pytest.raises(PeripheralError, match="refused"):  # data packets do not cross the bridge
        driver.module_command(CMD_UPIMAGE)


# --- garbage from a bridge ----------------------------------------------------------------


class LyingBridge(WireDevice):
    """A wire-codec device that says it is a fingerprint bridge and answers as told."""

    def __init__(self, *, identity: bytes = b"anjungan-fpbridge-x\nX\n1",
                 answer: tuple[int, bytes] = (ST_OK, b""), meta: bytes = b"",
                 blob: bytes = b"", bad_crc: bool = False) -> None:
        super().__init__(baud=BAUD)
        self.identity, self.answer_, self.meta, self.blob = identity, answer, meta, blob
        if bad_crc:
            offer = self.sender.offer
            self.sender.offer = lambda obj, size, crc, read, meta=b"": offer(obj, size, crc ^ 1, read, meta)  # type: ignore[method-assign]

    def on_request(self, cmd: int, args: bytes) -> Any:
        if cmd == CMD_IDENTIFY:
            return ST_OK, self.identity, None
        if cmd == CMD_CAPTURE:
            status, data = self.answer_
            return status, data, ((1, self.blob, self.meta) if status == ST_OK else None)
        return 2, b"", None


def _against(tmp_path: Path, liar: LyingBridge) -> tuple[BridgedFingerprint, Any]:
    liar.start()
    line = Line(liar.fd, Impairments(baud=BAUD), str(tmp_path / "fp")).start()
    driver = BridgedFingerprint(SerialTransport(line.path, BAUD, device="fingerprint"),
                                finger_wait_s=0.3)

    def stop() -> None:
        driver.close()
        line.stop()
        liar.stop()
    return driver, stop


GOOD = 256 * 288 // 2


@pytest.mark.parametrize("meta,blob,needle", [
    (pack_meta(0, 288, "raw4"), b"\x00" * 16, "0 x 288"),
    (pack_meta(65535, 65535, "raw4"), b"\x00" * 16, "at most 512"),
    (pack_meta(255, 288, "raw4"), b"\x00" * (255 * 144), "even width"),
    (pack_meta(256, 288, "raw4"), b"\x00" * 1000, "sent 1000 B"),  # short of its meta
    (pack_meta(256, 288, "raw4"), b"\x00" * (GOOD + 1), f"sent {GOOD + 1} B"),
    (pack_meta(256, 288, "raw8"), b"\x00" * GOOD, "unknown image format"),
    (struct.pack("<HH", 256, 288) + b"\xff\x00\x1b[2J", b"\x00" * GOOD, "unknown image format"),
    (b"\x00\x01", b"\x00" * GOOD, "metadata too short"),
])
def test_a_bad_offer_is_refused_with_a_clear_error(tmp_path: Path, meta: bytes, blob: bytes,
                                                    needle: str) -> None:
    driver, stop = _against(tmp_path, LyingBridge(meta=meta, blob=blob))
    try:
        driver.connect()
        with pytest.raises(LinkProtocolError, match=needle) as err:
            driver.capture("right_thumb")
        assert "\n" not in str(err.value) and "\x1b" not in str(err.value)
    finally:
        stop()


def test_a_damaged_transfer_is_refused(tmp_path: Path) -> None:
    driver, stop = _against(tmp_path, LyingBridge(meta=pack_meta(256, 288, "raw4"),
                                                  blob=b"\x11" * GOOD, bad_crc=True))
    try:
        driver.connect()
        with pytest.raises(TransferFailed, match="CRC-32"):
            driver.capture("right_thumb")
    finally:
        stop()


@pytest.mark.parametrize("answer,error,needle", [
    ((ST_MODULE_FAULT, b"\x1b[31mfake\nlog line" + b"A" * 900), CaptureError, "fingerprint: module: ?[31mfake?log line"),
    ((ST_MODULE_FAULT, b""), CaptureError, "no reason given"),
    ((0xFF, b"\x00" * 50), PeripheralError, "status 255"),
    ((ST_NO_SUBJECT, b""), CaptureError, "no finger"),
])
def test_a_refusal_is_one_short_line(tmp_path: Path, answer: tuple[int, bytes],
                                     error: type[Exception], needle: str) -> None:
    driver, stop = _against(tmp_path, LyingBridge(answer=answer))
    try:
        driver.connect()
        with pytest.raises(error, match=re.escape(needle)) as err:
            driver.capture("right_thumb")
        text = str(err.value)
        assert text.isprintable() and len(text) < 160
    finally:
        stop()


@pytest.mark.parametrize("identity,needle", [
    (b"anjungan-iris-sim\nX\n1", "not a fingerprint bridge"),
    (b"only one part", "malformed IDENTIFY"),
    (b"\xff\xfe\n\n\n\n", "malformed IDENTIFY"),
])
def test_a_device_that_is_not_a_bridge_is_refused(tmp_path: Path, identity: bytes, needle: str) -> None:
    driver, stop = _against(tmp_path, LyingBridge(identity=identity))
    try:
        with pytest.raises(LinkProtocolError, match=needle):
            driver.connect()
    finally:
        stop()


# --- config, pairing, self-test ----------------------------------------------------------


def test_the_link_is_configured_and_a_config_without_it_keeps_the_module_wired_straight() -> None:
    # an upgraded kiosk's peripherals.json predates the bridge: it means the R30x on the cable
    assert PeripheralConfig().fingerprint_link is FingerprintLink.R30X
    assert PeripheralConfig().fingerprint_rate == 57600
    bridged = PeripheralConfig.from_mapping({"fingerprint_link": "bridge"})
    assert bridged.fingerprint_link is FingerprintLink.BRIDGE and bridged.fingerprint_rate == 921600
    example = json.loads((Path(__file__).resolve().parents[2] / "drivers" / "peripherals.example.json").read_text())
    assert example["fingerprint_link"] == "bridge"  # new kiosks get the bridge
    assert PeripheralConfig(fingerprint_baud=115200).fingerprint_rate == 115200
    for bad in ("R30X ", "bridge\n", None, ["bridge"], {"a": 1}, 1e999, float("nan"), "x" * 10_000):
        with pytest.raises(PeripheralConfigError, match="fingerprint_link") as err:
            PeripheralConfig.from_mapping({"fingerprint_link": bad})
        assert len(str(err.value)) < 120


def test_pair_tells_a_bridge_from_a_module_wired_straight(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    for link, baud in ((FingerprintLink.BRIDGE, 921600), (FingerprintLink.R30X, 57600)):
        rig = SimulatedRig(seed=2, devices=("fingerprint",), fingerprint_link=link)
        try:
            out = tmp_path / f"{link}.json"
            assert main(["peripherals", "pair", "--port", rig.lines["fingerprint"].path,
                         "--config-out", str(out)]) == 0
            capsys.readouterr()
            written = json.loads(out.read_text())
            assert (written["fingerprint_link"], written["fingerprint_baud"]) == (link.value, baud)
            p = SimulatedPeripherals(rig)
            assert p.capture_finger("right_thumb").image  # the config's driver speaks to it
            rig = None  # closed with p
            p.close()
        finally:
            if rig is not None:
                rig.stop()


@pytest.mark.slow
def test_selftest_at_1e3_passes_every_device_with_the_bridge(capsys: pytest.CaptureFixture,
                                                             micropython: str) -> None:
    rc = main(["peripherals", "selftest", "--sim", "--noise", "0.001", "--json", "--seed", "3"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0, report
    assert all(d["ok"] for d in report["devices"]) and report["corrupted_objects_accepted"] == 0
    fingerprint = next(d for d in report["devices"] if d["name"] == "fingerprint")
    assert fingerprint["stats"]["link"] == "bridge"


def test_the_bridge_serves_one_request_at_a_time_and_stops_cleanly() -> None:
    before = threading.active_count()
    sim = FingerprintBridgeSim(seed=1).start()
    sim.stop()
    assert threading.active_count() <= before


def test_simulate_fingerprint_serves_the_bridge_by_default(micropython: str) -> None:
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "peripherals", "simulate", "fingerprint"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        driver = BridgedFingerprint(SerialTransport(path, BAUD, device="fingerprint"))
        try:
            assert "fpbridge" in driver.connect()["model"]
        finally:
            driver.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
