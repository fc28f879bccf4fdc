"""Every peripheral simulated at the byte level, each behind its own pty and `Line`, and the
real drivers on top: `open_simulated()` is `open_peripherals("sim-pty")`."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anjungan.packet.model import Modality
from drivers.peripherals import (
    FINGERPRINT_BAUD,
    Capture,
    FacePreview,
    FingerprintLink,
    PeripheralConfig,
    Peripherals,
)
from drivers.serial_peripherals import SerialPeripherals
from drivers.simulators.camera_sim import CameraSim
from drivers.simulators.line import Impairments, Line
from drivers.simulators.printer_sim import PrinterSim
from drivers.simulators.r30x_sim import R30xSim
from drivers.twin import InMemoryPeripherals

SIM_DEVICES = ("controller", "fingerprint", "iris", "face", "signature", "printer")
DEFAULT_BAUD = {"controller": 921600, "fingerprint": FINGERPRINT_BAUD[FingerprintLink.BRIDGE],
                "iris": 921600, "face": 921600, "signature": 115200, "printer": 19200}


def make_device(name: str, *, seed: int = 0, baud: int | None = None,
                fingerprint_link: FingerprintLink = FingerprintLink.BRIDGE) -> tuple[Any, str]:
    """Start one device simulator -> (sim with .fd and .stop(), runtime description). The
    fingerprint is its bridge (`fpbridge_sim`) unless `fingerprint_link` is "r30x"."""
    if name == "controller":
        from drivers.simulators.firmware_sim import FirmwareProcess

        fw = FirmwareProcess(baud or DEFAULT_BAUD[name])
        return fw, fw.runtime
    if name == "fingerprint" and fingerprint_link is FingerprintLink.R30X:
        return R30xSim(seed=seed, baud=baud or FINGERPRINT_BAUD[fingerprint_link]).start(), "cpython"
    if name == "fingerprint":
        from drivers.simulators.firmware_sim import micropython_binary
        from drivers.simulators.fpbridge_sim import FingerprintBridgeSim, FirmwareBridgeSim

        baud = baud or DEFAULT_BAUD[name]
        if micropython_binary() is not None:  # the bridge's real firmware
            bridge = FirmwareBridgeSim(seed=seed, baud=baud).start()
            return bridge, bridge.runtime
        return FingerprintBridgeSim(seed=seed, baud=baud).start(), "cpython"
    if name == "printer":
        return PrinterSim().start(), "cpython"
    if name in ("iris", "face", "signature"):
        return CameraSim(Modality(name), seed=seed, baud=baud or DEFAULT_BAUD[name]).start(), "cpython"
    raise ValueError(f"unknown device {name!r}; one of {', '.join(SIM_DEVICES)}")


class SimulatedRig:
    def __init__(self, *, seed: int = 0, impairments: Impairments | None = None,
                 baud: dict[str, int] | None = None, devices: tuple[str, ...] = SIM_DEVICES,
                 fingerprint_link: FingerprintLink = FingerprintLink.BRIDGE) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="anjungan-sim-")
        self.sims: dict[str, Any] = {}
        self.lines: dict[str, Line] = {}
        self.runtimes: dict[str, str] = {}
        link = FingerprintLink(fingerprint_link)
        bauds = {**DEFAULT_BAUD, "fingerprint": FINGERPRINT_BAUD[link], **(baud or {})}
        base = impairments or Impairments()
        try:
            for i, name in enumerate(devices):
                sim, runtime = make_device(name, seed=seed + i, baud=bauds[name],
                                           fingerprint_link=link)
                self.sims[name], self.runtimes[name] = sim, runtime
                imp = dataclasses.replace(base, baud=bauds[name], seed=base.seed + 7 * i)
                self.lines[name] = Line(sim.fd, imp, str(Path(self.dir.name) / name)).start()
        except BaseException:
            self.stop()
            raise
        paths: dict[str, Any] = {name: line.path for name, line in self.lines.items()}
        self.config = PeripheralConfig(
            **paths,
            controller_baud=bauds["controller"], fingerprint_baud=bauds["fingerprint"],
            camera_baud=bauds["iris"], signature_baud=bauds["signature"],
            printer_baud=bauds["printer"], fingerprint_link=link,
        )

    def stop(self) -> None:
        for line in self.lines.values():
            line.stop()
        for sim in self.sims.values():
            sim.stop()
        self.dir.cleanup()


class SimulatedPeripherals(SerialPeripherals):
    """The real serial drivers against a `SimulatedRig`; closing stops the simulators."""

    def __init__(self, rig: SimulatedRig) -> None:
        super().__init__(rig.config)
        self.rig = rig

    def close(self) -> None:
        super().close()
        self.rig.stop()


def open_simulated(*, seed: int = 0, impairments: Impairments | None = None,
                   baud: dict[str, int] | None = None,
                   fingerprint_link: FingerprintLink = FingerprintLink.BRIDGE) -> SimulatedPeripherals:
    return SimulatedPeripherals(SimulatedRig(seed=seed, impairments=impairments, baud=baud,
                                             fingerprint_link=fingerprint_link))


class ControllerOnPty(Peripherals):
    """The controller through the real firmware on a pty; biometric devices and printer from
    the in-memory twin. For system runs that want the real firmware link (LEDs, buzzer,
    health, line noise) without waiting for image transfers at line rate."""

    def __init__(self, *, seed: int = 0, impairments: Impairments | None = None) -> None:
        self.serial = SimulatedPeripherals(
            SimulatedRig(seed=seed, impairments=impairments, devices=("controller",))
        )
        self.twin = InMemoryPeripherals(seed=seed)

    # captures and the receipt printer: the twin
    def capture_face(self) -> Capture:
        return self.twin.capture_face()

    def preview_face(self) -> FacePreview:
        return self.twin.preview_face()

    def capture_finger(self, position: str) -> Capture:
        return self.twin.capture_finger(position)

    def capture_iris(self, position: str) -> Capture:
        return self.twin.capture_iris(position)

    def capture_signature(self) -> Capture:
        return self.twin.capture_signature()

    def print_receipt(self, lines: Sequence[str], qr_data: str | None = None) -> None:
        self.twin.print_receipt(lines, qr_data)

    # the controller: the real firmware
    def presence(self) -> bool:
        return self.serial.presence()

    def indicate(self, led: str, on: bool = True) -> None:
        self.serial.indicate(led, on)

    def beep(self, ms: int = 100) -> None:
        self.serial.beep(ms)

    def health(self) -> dict[str, dict[str, Any]]:
        return {**self.twin.health(), "controller": self.serial.health()["controller"]}

    def close(self) -> None:
        self.serial.close()
        self.twin.close()
