"""`anjungan peripherals pair`: which device answers on which serial adapter.

Lists the USB serial adapters present (pyserial's `list_ports`: path, vid, pid, serial,
USB port), or the ports given, and asks each which device it is with the drivers' own
handshakes, the gentlest first: the printer's real-time status query (DLE EOT, which no
other device answers and which prints nothing), then the wire link's IDENTIFY at the
controller's and cameras' rate and at the signature pad's (the model names the device),
then the R30x fingerprint handshake (a module wired straight to the adapter; the
fingerprint's bridge answers IDENTIFY, its model naming "fpbridge"). Nothing is captured or
printed.

From what answered it writes `peripherals.json` (each device by its stable udev name,
`/dev/anjungan/NAME`, or by its path when udev cannot name it, e.g. a pty) and the udev
rule lines naming each adapter by vid, pid and its own serial (by USB port when it has
none), so a replaced part or bridge is paired by running the command again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from drivers.controller import ControllerDriver
from drivers.errors import PeripheralError
from drivers.fingerprint_bridge import MODEL_WORD
from drivers.peripherals import DEVICE_NAMES, FINGERPRINT_BAUD, FingerprintLink, PeripheralConfig
from drivers.printer import PrinterDriver
from drivers.r30x import R30xDriver
from drivers.transport import SerialTransport

DEFAULTS = PeripheralConfig()
BAUD_KEY = {"controller": "controller_baud", "fingerprint": "fingerprint_baud", "iris": "camera_baud",
            "face": "camera_baud", "signature": "signature_baud", "printer": "printer_baud"}
STABLE_DIR = "/dev/anjungan"
UDEV_SAFE = re.compile(r"[A-Za-z0-9._:+-]{1,64}")  # what a rule may quote; anything else: by port


@dataclass(frozen=True, kw_only=True)
class Port:
    """One serial port: its path and, for a USB adapter, what udev matches it by."""

    path: str
    vid: int | None = None
    pid: int | None = None
    serial: str = ""
    location: str = ""  # the USB port (KERNELS), e.g. 1-1.4:1.0
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Found:
    port: Port
    device: str  # one of DEVICE_NAMES, or "" when nothing answered
    baud: int = 0
    identity: str = ""  # model and version as the device told them
    error: str = ""  # why nothing was recognised (the last probe's answer)
    link: str = ""  # the fingerprint's: "bridge" (IDENTIFY) or "r30x" (its own handshake)


def usb_ports() -> list[Port]:
    """The USB serial adapters present (and the Pi's UART, where the controller is wired)."""
    from serial.tools import list_ports

    ports = []
    for p in list_ports.comports():
        if p.vid is None and not p.device.startswith("/dev/ttyAMA"):
            continue  # a legacy 8250 ttyS*: nothing of ours
        ports.append(Port(path=p.device, vid=p.vid, pid=p.pid, serial=p.serial_number or "",
                          location=p.location or "", description=p.description or ""))
    return ports


def classify(model: str) -> str:
    """The device a wire-link IDENTIFY model names ("" for none of ours)."""
    m = model.lower()
    for word, device in (("iris", "iris"), ("face", "face"), ("sig", "signature"),
                         (MODEL_WORD, "fingerprint"), ("ctl", "controller")):
        if word in m:
            return device
    return ""


def _printer(path: str, timeout_s: float) -> tuple[str, int, str]:
    driver = PrinterDriver(SerialTransport(path, DEFAULTS.printer_baud, device="printer"), timeout_s=timeout_s)
    try:
        return "printer", DEFAULTS.printer_baud, f"ESC/POS {driver.connect()}"
    finally:
        driver.close()


def _wire(baud: int) -> Callable[[str, float], tuple[str, int, str]]:
    def probe(path: str, timeout_s: float) -> tuple[str, int, str]:
        driver = ControllerDriver(SerialTransport(path, baud, device="probe"), timeout_s=timeout_s)
        try:
            identity = driver.connect()
        finally:
            driver.client.transport.close()
        device = classify(identity.get("model", ""))
        if not device:
            raise PeripheralError(f"unknown model {identity.get('model', '')[:40]!r}")
        # its own rate from the defaults: a pty answers at any rate, a real line only at its own
        rate = (FINGERPRINT_BAUD[FingerprintLink.BRIDGE] if device == "fingerprint"
                else int(getattr(DEFAULTS, BAUD_KEY[device])))
        return device, rate, f"{identity['model']} {identity.get('version', '')}".strip()
    return probe


def _fingerprint(path: str, timeout_s: float) -> tuple[str, int, str]:
    baud = FINGERPRINT_BAUD[FingerprintLink.R30X]
    driver = R30xDriver(SerialTransport(path, baud, device="fingerprint"), timeout_s=timeout_s)
    try:
        return "fingerprint", baud, driver.connect()
    finally:
        driver.close()


PROBES = (_printer, _wire(DEFAULTS.controller_baud), _wire(DEFAULTS.signature_baud), _fingerprint)


def identify(port: Port, *, timeout_s: float = 1.0) -> Found:
    """Ask the device on `port` what it is, each handshake in turn."""
    error = "no answer"
    for probe in PROBES:
        try:
            device, baud, identity = probe(port.path, timeout_s)
        except PeripheralError as exc:
            error = str(exc)[:200]
            if "cannot open" in error:
                break  # absent or busy: no other handshake will open it
            continue
        link = ""
        if device == "fingerprint":
            link = FingerprintLink.R30X if probe is _fingerprint else FingerprintLink.BRIDGE
        return Found(port=port, device=device, baud=baud, identity=identity, link=link)
    return Found(port=port, device="", error=error)


def pair(ports: Iterable[Port], *, timeout_s: float = 1.0) -> list[Found]:
    return [identify(p, timeout_s=timeout_s) for p in ports]


def _by_udev(port: Port) -> bool:
    return port.vid is not None and port.pid is not None and bool(
        UDEV_SAFE.fullmatch(port.serial) or UDEV_SAFE.fullmatch(port.location))


def config(found: Iterable[Found], *, timeout_s: float = DEFAULTS.timeout_s) -> dict[str, Any]:
    """peripherals.json: every recognised device by its stable name (or its path), its baud."""
    out: dict[str, Any] = {}
    bauds: dict[str, Any] = {}
    for f in found:
        if not f.device:
            continue
        if f.device in out:
            raise PeripheralError(f"two {f.device}s answer ({out[f.device]} and {f.port.path}); "
                                  "unplug one and pair again")
        out[f.device] = f"{STABLE_DIR}/{f.device}" if _by_udev(f.port) else f.port.path
        bauds[BAUD_KEY[f.device]] = f.baud
        if f.link:
            bauds["fingerprint_link"] = f.link
    return {**{d: out[d] for d in DEVICE_NAMES if d in out}, **bauds, "timeout_s": timeout_s}


def udev_rules(found: Iterable[Found]) -> str:
    """The rule lines for the USB adapters found: by their own serial, else by USB port."""
    lines = ["# Written by `anjungan peripherals pair`: one line per adapter found.",
             "# Install: sudo udevadm control --reload && sudo udevadm trigger"]
    for f in found:
        p = f.port
        if not f.device or not _by_udev(p):
            continue
        match = (f'ATTRS{{serial}}=="{p.serial}"' if UDEV_SAFE.fullmatch(p.serial)
                 else f'KERNELS=="{p.location}"')
        lines.append(f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{p.vid:04x}", ATTRS{{idProduct}}=="{p.pid:04x}", '
                     f'{match}, SYMLINK+="anjungan/{f.device}", GROUP="dialout", MODE="0660", '
                     'ENV{ID_MM_DEVICE_IGNORE}="1"')
    return "\n".join(lines) + "\n"


def render_config(cfg: dict[str, Any]) -> str:
    PeripheralConfig.from_mapping(cfg)  # what the kiosk will read: checked before it is written
    return json.dumps(cfg, indent=2) + "\n"
