"""`Peripherals` over real serial links (or simulators behind ptys): the composition of the
controller, fingerprint, camera, signature pad and printer drivers. Each device connects on
first use; a device that fails keeps its error in `health()` and the others carry on.

Thread-safe per device: the kiosk captures on a worker thread (and guides the resident with
the controller's LEDs and buzzer from there) while its main loop asks for `health()`. Each
device's link is used under its own lock; `health()` never waits for a device that is busy,
it reports that device's last known health instead."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from anjungan.packet.model import Modality
from drivers.cameras import CameraDriver
from drivers.controller import ControllerDriver
from drivers.errors import DeviceUnavailable, PeripheralError
from drivers.fingerprint_bridge import BridgedFingerprint
from drivers.peripherals import (
    DEVICE_NAMES,
    Capture,
    FacePreview,
    FingerprintLink,
    PeripheralConfig,
    Peripherals,
    check_finger,
    check_iris,
)
from drivers.printer import PrinterDriver
from drivers.r30x import R30xDriver
from drivers.transport import SerialTransport


class SerialPeripherals(Peripherals):
    def __init__(self, config: PeripheralConfig) -> None:
        self.config = config
        self._drivers: dict[str, Any] = {}
        self._connected: set[str] = set()
        self._errors: dict[str, str] = {}
        self._locks = {name: threading.RLock() for name in DEVICE_NAMES}
        self._last_health: dict[str, dict[str, Any]] = {}
        self._closed = False

    def _make(self, name: str) -> Any:
        cfg = self.config
        baud = {"controller": cfg.controller_baud, "fingerprint": cfg.fingerprint_rate,
                "iris": cfg.camera_baud, "face": cfg.camera_baud,
                "signature": cfg.signature_baud, "printer": cfg.printer_baud}[name]
        transport = SerialTransport(cfg.url(name), baud, device=name)
        t = cfg.timeout_s
        if name == "controller":
            return ControllerDriver(transport, timeout_s=t)
        if name == "fingerprint" and cfg.fingerprint_link is FingerprintLink.R30X:
            return R30xDriver(transport, address=cfg.fingerprint_address, timeout_s=t)
        if name == "fingerprint":
            return BridgedFingerprint(transport, timeout_s=t)
        if name == "printer":
            return PrinterDriver(transport)
        return CameraDriver(transport, Modality(name), timeout_s=t)

    def device(self, name: str) -> Any:
        """The connected driver for `name` (connects on first use). Callers hold the
        device's lock for as long as they use the driver."""
        if not self.config.url(name):
            raise DeviceUnavailable("not configured", device=name)
        if self._closed:
            raise DeviceUnavailable("peripherals closed", device=name)
        driver = self._drivers.get(name)
        if driver is None:
            driver = self._drivers[name] = self._make(name)
        if name not in self._connected:
            try:
                driver.connect()
            except PeripheralError as exc:
                self._errors[name] = str(exc)
                driver.close()
                raise
            self._connected.add(name)
            self._errors.pop(name, None)
        return driver

    def _run(self, name: str, fn: Any) -> Any:
        with self._locks[name]:
            try:
                return fn(self.device(name))
            except PeripheralError as exc:
                self._errors[name] = str(exc)
                raise

    def capture_face(self) -> Capture:
        return self._run("face", lambda d: d.capture("face"))  # type: ignore[no-any-return]

    def preview_face(self) -> FacePreview:
        frame: FacePreview = self._run("face", lambda d: d.preview())
        return frame

    def capture_finger(self, position: str) -> Capture:
        check_finger(position)
        return self._run("fingerprint", lambda d: d.capture(position))  # type: ignore[no-any-return]

    def capture_iris(self, position: str) -> Capture:
        check_iris(position)
        return self._run("iris", lambda d: d.capture(position))  # type: ignore[no-any-return]

    def capture_signature(self) -> Capture:
        return self._run("signature", lambda d: d.capture("signature"))  # type: ignore[no-any-return]

    def print_receipt(self, lines: Sequence[str], qr_data: str | None = None) -> None:
        self._run("printer", lambda d: d.print_receipt(lines, qr_data))

    def presence(self) -> bool:
        return bool(self._run("controller", lambda d: d.status()["presence"]))

    def indicate(self, led: str, on: bool = True) -> None:
        self._run("controller", lambda d: d.indicate(led, on))

    def beep(self, ms: int = 100) -> None:
        self._run("controller", lambda d: d.beep(ms))

    def health(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in DEVICE_NAMES:
            if not self.config.url(name):
                out[name] = {"ok": False, "state": "absent", "version": ""}
                continue
            info = self._device_health(name)
            error = self._errors.get(name)
            info["ok"] = info.get("state") in ("ok", "busy") and error is None
            if error:
                info["error"] = error
            out[name] = info
        return out

    def _device_health(self, name: str) -> dict[str, Any]:
        lock = self._locks[name]
        if not lock.acquire(blocking=False):  # in use by a capture: not a fault
            last = self._last_health.get(name, {"state": "busy", "version": ""})
            return {**last, "busy": True}
        try:
            info = dict(self.device(name).health())
            self._last_health[name] = dict(info)
            return info
        except PeripheralError as exc:
            self._errors[name] = str(exc)
            return {"state": "fault", "version": ""}
        finally:
            lock.release()

    def close(self) -> None:
        self._closed = True  # a capture still running on another thread cannot reopen a port
        for name in DEVICE_NAMES:
            with self._locks[name]:
                driver = self._drivers.pop(name, None)
                if driver is not None:
                    driver.close()
                self._connected.discard(name)
