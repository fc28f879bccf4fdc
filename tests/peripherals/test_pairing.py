"""`anjungan peripherals pair` against every device's simulator on a pty (the real drivers'
handshakes, the real firmware under micropython for the controller), a port that only
babbles garbage, and a port that is not there; then the kiosk's self-test on what it wrote."""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.pairing import Found, Port, config, udev_rules
from drivers.simulators.rig import SimulatedRig
from entrypoints.cli import main


@pytest.fixture
def babbler() -> Iterator[str]:
    """A pty whose far end sends random bytes and reads whatever comes."""
    master, slave = os.openpty()
    stop = threading.Event()

    def babble() -> None:
        rng = random.Random(7)
        while not stop.wait(0.01):
            try:
                os.write(master, rng.randbytes(64))
                os.set_blocking(master, False)
                try:
                    os.read(master, 4096)
                except BlockingIOError:
                    pass
            except OSError:
                return

    t = threading.Thread(target=babble, daemon=True)
    t.start()
    yield os.ttyname(slave)
    stop.set()
    t.join(timeout=5)
    os.close(master)
    os.close(slave)


def test_pair_finds_every_simulated_device_and_writes_a_config_the_selftest_passes(
        tmp_path: Path, micropython: str, babbler: str, capsys: pytest.CaptureFixture) -> None:
    rig = SimulatedRig(seed=3)
    try:
        paths = {name: line.path for name, line in rig.lines.items()}
        order = ["signature", "printer", "fingerprint", "controller", "iris", "face"]  # not the probes' order
        argv = ["peripherals", "pair", "--config-out", str(tmp_path / "peripherals.json"), "--json"]
        for name in order:
            argv += ["--port", paths[name]]
        argv += ["--port", babbler, "--port", str(tmp_path / "unplugged")]
        (tmp_path / "peripherals.json").write_text("{}")  # as the installer seeds it: its mode is kept
        (tmp_path / "peripherals.json").chmod(0o640)
        assert main(argv) == 0
        assert (tmp_path / "peripherals.json").stat().st_mode & 0o777 == 0o640
        report = json.loads(capsys.readouterr().out)
        found = {p["path"]: p["device"] for p in report["ports"]}
        assert found == {**{paths[n]: n for n in order}, babbler: "", str(tmp_path / "unplugged"): ""}
        errors = {p["path"]: p["error"] for p in report["ports"]}
        assert "cannot open" in errors[str(tmp_path / "unplugged")]
        written = json.loads((tmp_path / "peripherals.json").read_text())
        assert {n: written[n] for n in order} == paths  # ptys: named by their paths (no udev)
        assert (written["fingerprint_baud"], written["printer_baud"], written["signature_baud"],
                written["camera_baud"], written["controller_baud"]) == (921600, 19200, 115200, 921600, 921600)
        assert written["fingerprint_link"] == "bridge"  # its IDENTIFY names the bridge
        # the kiosk's own check, on the file just written: every device answers for real
        assert main(["peripherals", "selftest", "--config", str(tmp_path / "peripherals.json"), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["ok"] is True
    finally:
        rig.stop()


def test_nothing_there_is_one_line_and_a_failure(tmp_path: Path, babbler: str,
                                                 capsys: pytest.CaptureFixture) -> None:
    assert main(["peripherals", "pair", "--port", babbler, "--port", str(tmp_path / "none")]) == 1
    out = capsys.readouterr().out
    assert out.count("unknown") == 2 and "Traceback" not in out
    for bad in (["--timeout", "nan"], ["--timeout", "1e999"], ["--timeout", "0"]):
        assert main(["peripherals", "pair", "--port", babbler, *bad]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert main(["peripherals", "pair", "--port", babbler, "--config-out", str(tmp_path / "no" / "dir" / "p.json"),
                 "--timeout", "0.2"]) == 1  # nothing found: and the unwritable path is not reached
    capsys.readouterr()


def test_udev_lines_name_adapters_by_their_serial_else_by_usb_port() -> None:
    fp = Port(path="/dev/ttyUSB0", vid=0x10C4, pid=0xEA60, serial="0001A2B3", location="1-1.2:1.0")
    printer = Port(path="/dev/ttyUSB1", vid=0x067B, pid=0x2303, serial="", location="1-1.4:1.0")
    hostile = Port(path="/dev/ttyUSB2", vid=0x0403, pid=0x6001, serial='x", RUN+="/bin/sh', location="")
    uart = Port(path="/dev/ttyAMA0")
    found = [Found(port=fp, device="fingerprint", baud=57600), Found(port=printer, device="printer", baud=19200),
             Found(port=hostile, device="iris", baud=921600), Found(port=uart, device="controller", baud=921600)]
    rules = udev_rules(found)
    assert 'ATTRS{idVendor}=="10c4", ATTRS{idProduct}=="ea60", ATTRS{serial}=="0001A2B3", ' \
           'SYMLINK+="anjungan/fingerprint"' in rules
    assert 'KERNELS=="1-1.4:1.0", SYMLINK+="anjungan/printer"' in rules
    assert "RUN" not in rules and "iris" not in rules  # a serial udev cannot quote safely: no rule
    cfg = config(found)
    assert (cfg["fingerprint"], cfg["printer"], cfg["iris"], cfg["controller"]) == (
        "/dev/anjungan/fingerprint", "/dev/anjungan/printer", "/dev/ttyUSB2", "/dev/ttyAMA0")
    with pytest.raises(Exception, match="two fingerprints answer"):
        config([*found, Found(port=Port(path="/dev/ttyUSB9"), device="fingerprint", baud=57600)])
