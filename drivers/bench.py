"""`anjungan bench serial`: bulk transfer through the wire codec over a paced pty.

The sender is the real controller firmware under `micropython` (CMD_TEST_OBJECT), the link
a `Line` that paces bytes at the baud rate (8N1: 10 bits a byte), the receiver the host
driver. efficiency = payload bytes / elapsed / (baud / 10); overhead = extra line bytes per
payload byte (measured on the line: headers, CRC, COBS, delimiters, offers, retransmits).
`bench_devices` measures the same for one capture from each device's simulator.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from typing import Any

from drivers.controller import ControllerDriver
from drivers.errors import TransferFailed
from drivers.peripherals import FingerprintLink
from drivers.simulators.firmware_sim import FirmwareProcess
from drivers.simulators.line import Impairments, Line
from drivers.transport import SerialTransport
from firmware import commands

MAX_SIZE = 1 << 20


def bench_baud(baud: int, *, size: int | None = None, seconds: float = 4.0,
               noise: float = 0.0) -> dict[str, Any]:
    size = min(MAX_SIZE, size or int(baud / 10 * seconds))
    fw = FirmwareProcess(baud)
    tmp = tempfile.TemporaryDirectory(prefix="anjungan-bench-")
    line = Line(fw.fd, Impairments(baud=baud, noise=noise, seed=1), os.path.join(tmp.name, "ctl"))
    line.start()
    ctl = ControllerDriver(SerialTransport(line.path, baud, device="controller"))
    try:
        ctl.connect()
        before = line.to_host.bytes_out
        t0 = time.monotonic()
        data = ctl.test_object(size, 7, timeout_s=size * 10 / baud * 3 + 30)
        elapsed = time.monotonic() - t0
        line_bytes = line.to_host.bytes_out - before
        expected = commands.pattern_read(commands.pattern_base(7), 0, size)
        if data != expected:
            raise TransferFailed("benchmark object differs from the pattern", device="controller")
        rate = baud / 10
        health = ctl.health()
        return {
            "baud": baud,
            "bytes": size,
            "seconds": round(elapsed, 3),
            "throughput_Bps": round(size / elapsed),
            "line_rate_Bps": round(rate),
            "efficiency": round(size / elapsed / rate, 4),
            "overhead_bytes_per_payload_byte": round((line_bytes - size) / size, 4),
            "retransmits": health["retransmits"],
            "noise": noise,
            "sender": fw.runtime,
        }
    finally:
        ctl.close()
        line.stop()
        fw.stop()
        tmp.cleanup()


CAPTURE_SET = ["finger"] * 10 + ["iris", "iris", "face"]


def capture_set(baud: int, *, seed: int = 0) -> dict[str, Any]:
    """Time a 10-finger + 2-iris + face capture with every link at `baud`, through the
    byte-level simulators and the real drivers (image synthesis is cached beforehand)."""
    from anjungan.packet.model import FINGER_POSITIONS
    from drivers.simulators.rig import SimulatedPeripherals, SimulatedRig

    rig = SimulatedRig(seed=seed, devices=("fingerprint", "iris", "face"),
                       baud={"fingerprint": baud, "iris": baud, "face": baud})
    _sensor(rig.sims["fingerprint"]).no_finger_rate = 0.0  # the link, not a hesitant resident
    # warm the image caches with a copy of each simulator's draw so synthesis is not timed
    twin = copy.deepcopy(rig.sims["iris"].samples)
    twin.iris(), twin.iris()
    copy.deepcopy(rig.sims["face"].samples).face()
    p = SimulatedPeripherals(rig)
    try:
        for name in ("fingerprint", "iris", "face"):
            p.device(name)
        t0 = time.monotonic()
        total = 0
        for pos in FINGER_POSITIONS:
            total += len(p.capture_finger(pos).image) // 2  # 4 bits a pixel on the wire
        total += len(p.capture_iris("right_iris").image) + len(p.capture_iris("left_iris").image)
        total += len(p.capture_face().image)
        return {"baud": baud, "seconds": round(time.monotonic() - t0, 2), "image_bytes": total}
    finally:
        p.close()


DEVICE_BENCH = ("fingerprint", "iris", "face", "signature")


def _second_finger(p: Any, driver: Any, rate: float) -> dict[str, Any]:
    """A second finger, as the rest of a ten-finger capture goes: by then the driver has
    measured the line and set the packet size that suits it (drivers/r30x.py)."""
    passes = driver.health()["upload_passes"]
    t0 = time.monotonic()
    payload = len(p.capture_finger("right_index").image) // 2
    elapsed = time.monotonic() - t0
    return {"second_finger": {
        "packet_size": driver.packet_size, "seconds": round(elapsed, 3),
        "efficiency": round(payload / elapsed / rate, 4),
        "upload_passes": driver.health()["upload_passes"] - passes,
    }}


def _sensor(sim: Any) -> Any:
    """The simulator that holds the images: the bridge's module, or the device itself."""
    return getattr(sim, "module", sim)


def bench_devices(*, noise: float = 0.0, seed: int = 0,
                  devices: tuple[str, ...] = DEVICE_BENCH,
                  direct_r30x: bool = True) -> list[dict[str, Any]]:
    """One capture per device through its byte-level simulator, its own `Line` at its own
    baud (`rig.DEFAULT_BAUD`) with `noise`, and the real driver: efficiency = image bytes on
    the wire / capture time / (baud / 10), the whole capture timed (commands, offers, every
    upload pass or retransmit; image synthesis is cached beforehand, the resident instant).
    The fingerprint's image bytes are its 4-bit upload (half the pixels). Through its bridge
    (`link: bridge`) the module's local read-out on the sensor's board is not on the cable:
    `sensor_s` is the bridge's time to answer CAPTURE, `efficiency` the cable's (capture
    time less `sensor_s`), `capture_efficiency` the whole capture's. With `direct_r30x`
    a second row measures an R30x wired straight to the Pi (`link: r30x`), which also times
    a second finger (`second_finger`) in the packet size the first one chose."""
    rows = _bench_rig(noise=noise, seed=seed, devices=devices, link=FingerprintLink.BRIDGE)
    if direct_r30x and "fingerprint" in devices:
        rows[1:1] = _bench_rig(noise=noise, seed=seed, devices=("fingerprint",),
                               link=FingerprintLink.R30X)
    return rows


def _bench_rig(*, noise: float, seed: int, devices: tuple[str, ...],
               link: FingerprintLink) -> list[dict[str, Any]]:
    from drivers.simulators.rig import SimulatedPeripherals, SimulatedRig

    rig = SimulatedRig(seed=seed, devices=devices, fingerprint_link=link,
                       impairments=Impairments(noise=noise, seed=seed + 1))
    if "fingerprint" in rig.sims:
        _sensor(rig.sims["fingerprint"]).no_finger_rate = 0.0
    for name in devices:  # warm the image caches with a copy of each simulator's next draw
        twin = copy.deepcopy(_sensor(rig.sims[name]).samples)
        draw = {"fingerprint": twin.finger, "iris": twin.iris, "face": twin.face,
                "signature": twin.signature}[name]
        for _ in range(2 if name == "fingerprint" else 1):  # two fingers are timed
            draw()
    p = SimulatedPeripherals(rig)
    out = []
    try:
        for name in devices:
            driver = p.device(name)
            line = rig.lines[name]
            before = line.to_host.bytes_out
            t0 = time.monotonic()
            if name == "fingerprint":
                payload = len(p.capture_finger("right_thumb").image) // 2
            elif name == "iris":
                payload = len(p.capture_iris("right_iris").image)
            elif name == "face":
                payload = len(p.capture_face().image)
            else:
                payload = len(p.capture_signature().image)
            elapsed = time.monotonic() - t0
            line_bytes = line.to_host.bytes_out - before
            baud = line.imp.baud
            rate = baud / 10
            health = driver.health()
            row: dict[str, Any] = {"device": name, "baud": baud, "bytes": payload,
                                   "seconds": round(elapsed, 3)}
            if name == "fingerprint":
                row["link"] = link.value
            cable_s = elapsed
            if name == "fingerprint" and link is FingerprintLink.BRIDGE:
                sensor_s = driver.last_fetch_s[0]
                cable_s = elapsed - sensor_s
                row.update(sensor_s=round(sensor_s, 3),
                           capture_efficiency=round(payload / elapsed / rate, 4))
            out.append({
                **row,
                "efficiency": round(payload / cable_s / rate, 4),
                "overhead_bytes_per_payload_byte": round((line_bytes - payload) / payload, 4),
                "retransmits": health.get("retransmits", 0),
                # frames (wire codec) or R30x packets refused as damaged
                "damaged_frames": health.get("rx_errors", health.get("bad_checksums", 0)),
                "noise": noise,
            })
            if "upload_passes" in health:
                out[-1]["upload_passes"] = health["upload_passes"]
            if name == "fingerprint" and link is FingerprintLink.R30X:
                out[-1].update(_second_finger(p, driver, rate))
    finally:
        p.close()
    return out
