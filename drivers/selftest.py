"""`anjungan peripherals selftest`: probe every device, capture one sample of each modality,
verify what arrived, report per device. In simulation the simulators' own record of what
they sent is the ground truth, so `corrupted_objects_accepted` is measured, not assumed."""

from __future__ import annotations

import time
from typing import Any

from drivers.errors import PeripheralError
from drivers.peripherals import DEVICE_NAMES, PeripheralConfig
from drivers.serial_peripherals import SerialPeripherals
from firmware import commands

TEST_OBJECT_SIZE = 64 * 1024


def _probe(p: SerialPeripherals, name: str, truth: Any) -> tuple[dict[str, Any], int]:
    """-> (report, corrupted objects accepted)."""
    t0 = time.monotonic()
    corrupted = 0
    info: dict[str, Any] = {"name": name}
    try:
        driver = p.device(name)
        if name == "controller":
            seed = 0xA5
            data = driver.test_object(TEST_OBJECT_SIZE, seed)
            expected = commands.pattern_read(commands.pattern_base(seed), 0, TEST_OBJECT_SIZE)
            corrupted += data != expected
            info["sample"] = {"test_object_bytes": len(data), **driver.status()}
        elif name == "printer":
            p.print_receipt(["SELFTEST", "Anjungan peripheral check"], qr_data="SELFTEST")
            info["sample"] = {"receipt": "printed"}
        else:
            cap = {"fingerprint": lambda: p.capture_finger("right_index"),
                   "iris": lambda: p.capture_iris("right_iris"), "face": p.capture_face,
                   "signature": p.capture_signature}[name]()
            if truth is not None:
                corrupted += not truth(name, cap.image)
            info["sample"] = {"bytes": len(cap.image), "format": cap.image_format,
                              "quality": cap.quality}
        health = driver.health()
        info.update(ok=True, version=health.get("version", ""), stats=health)
    except PeripheralError as exc:
        info.update(ok=False, version="", error=str(exc))
    info["seconds"] = round(time.monotonic() - t0, 3)
    return info, corrupted


def run_selftest(p: SerialPeripherals, *, truth: Any = None, runtime: str = "") -> dict[str, Any]:
    devices, corrupted = [], 0
    for name in DEVICE_NAMES:
        if not p.config.url(name):
            devices.append({"name": name, "ok": False, "version": "", "error": "not configured"})
            continue
        info, bad = _probe(p, name, truth)
        devices.append(info)
        corrupted += bad
    return {
        "ok": all(d["ok"] for d in devices),
        "devices": devices,
        "corrupted_objects_accepted": corrupted,
        "firmware_runtime": runtime,
    }


def sim_truth(rig: Any) -> Any:
    """A checker comparing a capture with what the simulator last produced."""
    from drivers import imaging

    def check(name: str, image: bytes) -> bool:
        sim = rig.sims[name]
        if name == "fingerprint":
            return sim.image is not None and imaging.pack_nibbles(image) == sim.image
        return bool(sim.last_image == image)

    return check


def selftest_config(cfg: PeripheralConfig) -> SerialPeripherals:
    return SerialPeripherals(cfg)
