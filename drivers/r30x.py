"""ZhianTec R30x fingerprint protocol: a pure codec (packets in/out) and the host driver.

Packet: EF 01 | address u32 | pid u8 | length u16 | payload | checksum u16 (big-endian),
where length = len(payload) + 2 and checksum = (pid + length bytes + payload bytes) & 0xFFFF.
pid: 01 command, 02 data (more follows), 07 acknowledge, 08 last data packet.
Commands used: VfyPwd 0x13, ReadSysPara 0x0F, GenImg 0x01, UpImage 0x0A, Img2Tz 0x02.
Every acknowledge starts with a confirmation code (0x00 ok, 0x01 receive error, 0x02 no
finger, 0x03 image failed, 0x06/0x07 image too messy / too few features, 0x13 wrong password,
0x0F/0x0E upload failed). The image upload is 256 x 288 pixels at 4 bits each (36 864 bytes)
in data packets of the module's packet size (128 by default).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any

from anjungan.packet.model import Modality
from drivers import imaging
from drivers.errors import CaptureFailed, DeviceTimeout, DeviceUnavailable, LinkProtocolError
from drivers.peripherals import Capture, check_finger
from drivers.transport import SerialTransport

HEADER = b"\xef\x01"
PID_COMMAND, PID_DATA, PID_ACK, PID_END = 0x01, 0x02, 0x07, 0x08
CMD_GENIMG, CMD_IMG2TZ, CMD_UPIMAGE, CMD_READSYSPARA, CMD_VFYPWD = 0x01, 0x02, 0x0A, 0x0F, 0x13
OK, NO_FINGER = 0x00, 0x02
MAX_PAYLOAD = 256
IMAGE_BYTES = imaging.FINGER_W * imaging.FINGER_H // 2
PACKET_SIZES = (32, 64, 128, 256)
CONFIRMATIONS = {
    0x01: "packet receive error", 0x02: "no finger on the sensor", 0x03: "image capture failed",
    0x06: "image too disorderly", 0x07: "too few feature points", 0x0E: "cannot send data",
    0x0F: "cannot send the image", 0x13: "wrong password", 0x15: "no valid image in buffer",
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Packet:
    pid: int
    payload: bytes
    address: int = 0xFFFFFFFF


def build(pid: int, payload: bytes, address: int = 0xFFFFFFFF) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("R30x payload too long")
    body = struct.pack(">BH", pid, len(payload) + 2) + payload
    return HEADER + struct.pack(">I", address) + body + struct.pack(">H", sum(body) & 0xFFFF)


def command(code: int, params: bytes = b"", address: int = 0xFFFFFFFF) -> bytes:
    return build(PID_COMMAND, bytes((code,)) + params, address)


class Parser:
    """Bytes in, packets out. Garbage before a header and packets with a bad checksum are
    skipped and counted; the parser resynchronises on the next EF 01."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.bad_checksums = 0
        self.skipped_bytes = 0

    def clear(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Packet]:
        self._buf += data
        out: list[Packet] = []
        while True:
            start = self._buf.find(HEADER)
            if start < 0:
                keep = 1 if self._buf.endswith(HEADER[:1]) else 0
                self.skipped_bytes += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                return out
            if start:
                self.skipped_bytes += start
                del self._buf[:start]
            if len(self._buf) < 9:
                return out
            address, pid, length = struct.unpack_from(">IBH", self._buf, 2)
            if (
                pid not in (PID_COMMAND, PID_DATA, PID_ACK, PID_END)
                or not 2 <= length <= MAX_PAYLOAD + 2
            ):
                self.skipped_bytes += 1
                del self._buf[:1]
                continue
            total = 9 + length
            if len(self._buf) < total:
                return out
            body = bytes(self._buf[6 : total - 2])
            (checksum,) = struct.unpack_from(">H", self._buf, total - 2)
            if sum(body) & 0xFFFF != checksum:
                self.bad_checksums += 1
                del self._buf[:1]  # it may have been a header inside noise: look again
                continue
            out.append(Packet(pid=pid, payload=body[3:], address=address))
            del self._buf[:total]


class R30xDriver:
    def __init__(self, transport: SerialTransport, *, address: int = 0xFFFFFFFF,
                 password: int = 0, timeout_s: float = 5.0, finger_wait_s: float = 10.0) -> None:  # fmt: skip
        self.transport = transport
        self.address = address
        self.password = password
        self.timeout_s = timeout_s
        self.finger_wait_s = finger_wait_s
        self.parser = Parser()
        self._backlog: list[Packet] = []
        self.packet_size = 128
        self.version = ""
        self.state = "closed"
        self.stats = {"images": 0, "upload_retries": 0, "corrupted_images_rejected": 0,
                      "reconnects": 0}  # fmt: skip

    def connect(self) -> str:
        if not self.transport.is_open:
            self.transport.open()
        self._ack(CMD_VFYPWD, struct.pack(">I", self.password))
        para = self._ack(CMD_READSYSPARA)
        if len(para) < 16:
            raise LinkProtocolError("short system parameters", device="fingerprint")
        _status, sys_id, lib_size, level, _addr, size_code, baud_n = struct.unpack(
            ">HHHHIHH", para[:16]
        )
        self.packet_size = PACKET_SIZES[size_code & 3]
        self.version = f"R30x sys 0x{sys_id:04x} lib {lib_size} level {level} {baud_n * 9600} bd"
        self.state = "ok"
        return self.version

    def _send(self, data: bytes) -> None:
        self.transport.write(data)

    def _next(self, deadline: float) -> Packet:
        while True:
            data = self.transport.read()
            packets = self.parser.feed(data) if data else []
            if packets:
                self._backlog = packets[1:]
                return packets[0]
            if time.monotonic() > deadline:
                raise DeviceTimeout("no answer", device="fingerprint")

    def _ack(self, code: int, params: bytes = b"", *, allow: tuple[int, ...] = (OK,)) -> bytes:
        """Send a command and read its acknowledge; a garbled exchange (receive error 0x01,
        a lost or damaged reply) is repeated up to 3 times, as line noise is not the sensor's
        fault."""
        for attempt in range(3):
            self.parser.clear()
            self._backlog = []
            self._send(command(code, params, self.address))
            try:
                packet = self._next(time.monotonic() + self.timeout_s / 3)
            except DeviceTimeout:
                if attempt == 2:
                    raise
                continue
            if packet.pid != PID_ACK or not packet.payload:
                if attempt == 2:
                    raise LinkProtocolError("expected an acknowledge packet", device="fingerprint")
                continue
            conf = packet.payload[0]
            if conf == 0x01 and attempt < 2:
                continue
            if conf not in allow:
                raise CaptureFailed(CONFIRMATIONS.get(conf, f"confirmation code 0x{conf:02x}"),
                                    device="fingerprint")  # fmt: skip
            return packet.payload if conf != OK else packet.payload[1:]
        raise LinkProtocolError("no clean acknowledge", device="fingerprint")

    def _with_reconnect(self, fn: Any) -> Any:
        try:
            return fn()
        except DeviceUnavailable:
            self.state = "unplugged"
            self.transport.reopen(deadline=time.monotonic() + self.timeout_s * 2)
            self.stats["reconnects"] += 1
            self.connect()
            return fn()

    def capture(self, position: str) -> Capture:
        check_finger(position)
        return self._with_reconnect(lambda: self._capture(position))  # type: ignore[no-any-return]

    def _capture(self, position: str) -> Capture:
        t0 = time.monotonic()
        deadline = t0 + self.finger_wait_s
        while True:  # GenImg until a finger is on the glass
            reply = self._ack(CMD_GENIMG, allow=(OK, NO_FINGER))
            if not reply or reply[0] != NO_FINGER:
                break
            if time.monotonic() > deadline:
                raise CaptureFailed("no finger on the sensor", device="fingerprint")
            time.sleep(0.05)
        packed = self._upload()
        pixels = imaging.unpack_nibbles(packed)
        w, h = imaging.FINGER_W, imaging.FINGER_H
        self.stats["images"] += 1
        return Capture(modality=Modality.FINGER, position=position, image=pixels,
                       image_format="raw8", quality=imaging.estimate_quality(pixels, w, h),
                       width=w, height=h, device="fingerprint",
                       transfer_s=time.monotonic() - t0)  # fmt: skip

    def _upload(self, tries: int = 5) -> bytes:
        """UpImage; any bad checksum or gap discards the image and asks again."""
        budget = IMAGE_BYTES * 1.5 * 10 / self.transport.baud + self.timeout_s
        for attempt in range(tries):
            self._ack(CMD_UPIMAGE)
            image = bytearray()
            deadline = time.monotonic() + budget
            bad_before = self.parser.bad_checksums
            try:
                while True:
                    packet = self._backlog.pop(0) if self._backlog else self._next(deadline)
                    if packet.pid not in (PID_DATA, PID_END):
                        raise LinkProtocolError("unexpected packet in image", device="fingerprint")
                    image += packet.payload
                    if packet.pid == PID_END:
                        break
            except DeviceTimeout:
                pass  # a lost END or packets: counts as a failed upload
            if len(image) == IMAGE_BYTES and self.parser.bad_checksums == bad_before:
                return bytes(image)
            self.stats[
                "upload_retries" if attempt + 1 < tries else "corrupted_images_rejected"
            ] += 1
            time.sleep(0.05)
            self.transport.read()  # drain the rest of a broken upload
        raise CaptureFailed(
            f"image upload failed its checksums {tries} times", device="fingerprint"
        )

    def health(self) -> dict[str, Any]:
        return {"version": self.version, "state": self.state,
                "bad_checksums": self.parser.bad_checksums, **self.stats}  # fmt: skip

    def close(self) -> None:
        self.transport.close()
        self.state = "closed"
