"""The fingerprint bridge simulator: a wire-codec device (`WireDevice`, as the cameras)
wrapping an `R30xSim` on a clean local link (`Line` at LOCAL_BAUD, no noise: a few
centimetres of TTL on the sensor's board), which the bridge drives with the R30x driver
(`drivers/r30x.py`: GenImg until a finger, UpImage reassembled, commands retried).

Two bridges: `FirmwareBridgeSim` runs the bridge's real firmware (`firmware/fpbridge.py`)
under `micropython`, its second UART on the module's pty (the default where `micropython`
is installed, as for the controller); `FingerprintBridgeSim` is the same command set in
CPython on `wire_device.py`, like the camera simulators (in-process, for fault tests).

Requests that reach the module (IDENTIFY's first, CAPTURE, MODULE) run one at a time on the
bridge's worker thread and are answered when done (`WireDevice.answer`), so the link keeps
acknowledging while the module reads out an image (about 3.5 s at 115 200 baud).
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from typing import Any, Self

from anjungan.packet.model import FINGER_POSITIONS
from drivers import imaging
from drivers.cameras import CMD_CAPTURE, CMD_IDENTIFY, ST_NO_SUBJECT, ST_OK, ST_UNKNOWN, pack_meta
from drivers.errors import DeviceTimeout, DeviceUnavailable, PeripheralError
from drivers.fingerprint_bridge import (
    CMD_MODULE,
    DATA_PHASE,
    FINGER_WAIT_S,
    ST_BAD_REQUEST,
    ST_MODULE_FAULT,
    WIRE_FORMAT,
)
from drivers.r30x import R30xDriver
from drivers.simulators.line import Impairments, Line
from drivers.simulators.r30x_sim import R30xSim
from drivers.simulators.wire_device import WireDevice
from drivers.transport import SerialTransport

MODEL = "anjungan-fpbridge-sim"
SIM_VERSION = "sim-1.0"
LOCAL_BAUD = 115200  # the R30x's fastest rate (manual: N = 12), set once by the bridge


class LocalModule:
    """The R30x module on the bridge's board: an `R30xSim` behind a clean `Line` paced at
    `baud`, whose pty the bridge opens at `path`."""

    def __init__(self, *, seed: int, baud: int) -> None:
        self.sim = R30xSim(seed=seed, baud=baud)
        self._dir = tempfile.TemporaryDirectory(prefix="anjungan-fpbridge-")
        self.path = os.path.join(self._dir.name, "r30x")
        self.line = Line(self.sim.fd, Impairments(baud=baud, seed=seed), self.path)

    def start(self) -> None:
        self.sim.start()
        self.line.start()

    def stop(self) -> None:
        self.line.stop()
        self.sim.stop()
        self._dir.cleanup()


class FingerprintBridgeSim(WireDevice):
    def __init__(self, *, seed: int = 0, baud: int = 0, local_baud: int = LOCAL_BAUD,
                 finger_wait_s: float = FINGER_WAIT_S) -> None:
        super().__init__(baud=baud)
        self.local = LocalModule(seed=seed, baud=local_baud)
        self.module = self.local.sim
        self.r30x = R30xDriver(SerialTransport(self.local.path, local_baud, device="fingerprint"))
        self.finger_wait_s = finger_wait_s
        self._work: queue.SimpleQueue[tuple[int, bytes] | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._serve_module, daemon=True,
                                        name="FingerprintBridgeSim-module")
        self._obj = 0
        self.captures = 0
        self.last_image = b""  # the raw4 image last offered (ground truth for tests)

    @property
    def image(self) -> bytes | None:
        """The module's ImageBuffer (4-bit, packed): what the selftest compares with."""
        return self.module.image

    def start(self) -> Self:
        self.local.start()
        self._worker.start()
        return super().start()

    def stop(self) -> None:
        self._work.put(None)
        super().stop()
        if self._worker.is_alive():
            self._worker.join(timeout=5)
        self.r30x.close()
        self.local.stop()

    def on_request(self, cmd: int, args: bytes) -> Any:
        if cmd in (CMD_IDENTIFY, CMD_CAPTURE, CMD_MODULE):
            self._work.put((cmd, args))
            return None  # answered by the worker
        return ST_UNKNOWN, b"", None

    # --- the worker: the module's side, one request at a time ----------------------------

    def _serve_module(self) -> None:
        while True:
            job = self._work.get()
            if job is None or self._stop.is_set():
                return
            cmd, args = job
            try:
                self.answer(cmd, *self._module_request(cmd, args))
            except PeripheralError as exc:  # the module refused (its confirmation), or is gone
                if isinstance(exc, (DeviceTimeout, DeviceUnavailable)):
                    self.r30x.state = "lost"  # reconnect (VfyPwd, ReadSysPara) next time
                text = str(exc).removeprefix(f"{exc.device}: ")
                self.answer(cmd, ST_MODULE_FAULT, text.encode("ascii", "replace")[:80])

    def _connected(self) -> R30xDriver:
        if self.r30x.state != "ok":
            self.r30x.connect()
        return self.r30x

    def _module_request(self, cmd: int, args: bytes) -> tuple[int, bytes, Any]:
        if cmd == CMD_IDENTIFY:
            try:
                module = self._connected().version
            except PeripheralError:
                module = "no module"
            return ST_OK, f"{MODEL}\nSIM-fingerprint\n{SIM_VERSION} {module}".encode(), None
        if cmd == CMD_CAPTURE:
            if len(args) != 1 or args[0] >= len(FINGER_POSITIONS):
                return ST_BAD_REQUEST, b"", None
            packed = self._connected().finger_image(self.finger_wait_s)
            if packed is None:
                return ST_NO_SUBJECT, b"", None
            self._obj = (self._obj + 1) & 0xFFFF
            self.captures += 1
            self.last_image = packed
            meta = pack_meta(imaging.FINGER_W, imaging.FINGER_H, WIRE_FORMAT)
            return ST_OK, b"", (self._obj, packed, meta)
        if not args or args[0] in DATA_PHASE:
            return ST_BAD_REQUEST, b"", None
        conf, data = self._connected().command(args[0], args[1:])
        return ST_OK, bytes((conf,)) + data, None


class FirmwareBridgeSim:
    """The bridge as real firmware under `micropython` (`fd` for the cable's `Line`), and the
    `R30xSim` it drives on a clean local link. Its child dies with us (`FirmwareProcess`)."""

    def __init__(self, *, seed: int = 0, baud: int = 0, local_baud: int = LOCAL_BAUD) -> None:
        from drivers.simulators.firmware_sim import FirmwareProcess, reads_return_at_once

        self.local = LocalModule(seed=seed, baud=local_baud)
        self.module = self.local.sim
        try:
            reads_return_at_once(self.local.path)
            self.fw = FirmwareProcess(baud, program="fpbridge_main.py", extra=(self.local.path,),
                                      device="fingerprint")
        except BaseException:
            self.local.stop()
            raise
        self.fd = self.fw.fd
        self.runtime = self.fw.runtime

    @property
    def image(self) -> bytes | None:
        """The module's ImageBuffer (4-bit, packed): what the selftest compares with."""
        return self.module.image

    def start(self) -> Self:
        self.local.start()
        return self

    def alive(self) -> bool:
        return self.fw.alive()

    def stop(self) -> None:
        self.fw.stop()
        self.local.stop()
