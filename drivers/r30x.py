"""ZhianTec R30x fingerprint driver (the packet codec and command set: drivers/r30x_codec.py).

Commands used: VfyPwd 0x13, ReadSysPara 0x0F, GenImg 0x01, UpImage 0x0A. The image upload is
256 x 288 pixels at 4 bits each (36 864 bytes) in data packets of the module's packet size
(128 by default).

The packet size follows the line: after each upload the driver folds the damage it saw
into its estimate of the per-byte error rate and, before the next, sets the size that costs
the fewest line bytes at that rate (SetSysPara register 6; r30x_image.best_packet_size): 256
on a clean line, 64 on a noisy one. The module keeps the setting in flash, so it is written
only when the choice changes.

Retries, as far as the protocol allows: a command whose answer is damaged or missing, or
that the module received damaged (confirmation 0x01), is sent again once the line is quiet,
up to COMMAND_TRIES times; an image upload is asked again and reassembled packet by packet
across passes (drivers/r30x_image.py), up to UPLOAD_PASSES passes. The waits follow the
module's own timing: an answer at once (COMMAND_S), an image within 1 s (PROCESSING_S).
"""

from __future__ import annotations

import struct
import time
from typing import Any

from anjungan.packet.model import Modality
from drivers import imaging
from drivers.errors import CaptureError, DeviceTimeout, DeviceUnavailable, LinkProtocolError
from drivers.peripherals import Capture, check_finger
from drivers.r30x_codec import (
    CMD_GENIMG,
    CMD_IMG2TZ,
    CMD_READSYSPARA,
    CMD_SETSYSPARA,
    CMD_UPIMAGE,
    CMD_VFYPWD,
    CONFIRMATIONS,
    HEADER,
    NO_FINGER,
    OK,
    PACKET_SIZES,
    PID_ACK,
    PID_END,
    RECEIVE_ERROR,
    REG_PACKET_SIZE,
    SYSPARA_FORMAT,
    Packet,
    Parser,
    command,
)
from drivers.r30x_image import ACK_LEN, ImageAssembler, best_packet_size, split_upload
from drivers.transport import SerialTransport

IMAGE_BYTES = imaging.FINGER_W * imaging.FINGER_H // 2
# The module's own timing (R30x manual): an answer follows each command at once, except
# GenImg (image acquiring time < 1.0 s); a command is tried up to COMMAND_TRIES times.
COMMAND_S = 0.3
PROCESSING_S = {CMD_GENIMG: 1.0, CMD_IMG2TZ: 1.0}
QUIET_MIN_S = 0.02
COMMAND_TRIES = 4
UPLOAD_PASSES = 10


def _ends_upload(stream: bytearray, packet_size: int) -> bool:
    """The stream ends with an intact last packet (pid 08) of the image."""
    n = 11 + packet_size
    if len(stream) < n:
        return False
    tail = bytes(stream[-n:])
    return tail[:2] == HEADER and tail[6] == PID_END and Parser().feed(tail) != []


class R30xDriver:
    def __init__(self, transport: SerialTransport, *, address: int = 0xFFFFFFFF,
                 password: int = 0, timeout_s: float = 5.0, finger_wait_s: float = 10.0) -> None:
        self.transport = transport
        self.address = address
        self.password = password
        self.timeout_s = timeout_s
        self.finger_wait_s = finger_wait_s
        self.parser = Parser()
        self.packet_size = 128
        self.byte_error_rate: float | None = None  # measured over the uploads so far
        self.version = ""
        self.state = "closed"
        self.stats = {"images": 0, "upload_retries": 0, "upload_passes": 0,
                      "corrupted_images_rejected": 0, "command_retries": 0,
                      "reconnects": 0, "packet_size_changes": 0}

    def connect(self) -> str:
        if not self.transport.is_open:
            self.transport.open()
        self._ack(CMD_VFYPWD, struct.pack(">I", self.password))
        para = self._ack(CMD_READSYSPARA)
        if len(para) < 16:
            raise LinkProtocolError("short system parameters", device="fingerprint")
        _status, sys_id, lib_size, level, _addr, size_code, baud_n = struct.unpack(
            SYSPARA_FORMAT, para[:16]
        )
        self.packet_size = PACKET_SIZES[size_code & 3]
        self.version = f"R30x sys 0x{sys_id:04x} lib {lib_size} level {level} {baud_n * 9600} bd"
        self.state = "ok"
        return self.version

    def _send(self, data: bytes) -> None:
        self.transport.write(data)

    def _byte_s(self) -> float:
        return 10 / self.transport.baud  # 8N1

    def _quiet(self, limit_s: float = 1.0) -> bytes:
        """Read until the line has been silent for a few characters (the rest of a damaged
        answer is not mistaken for the next one); returns what was read."""
        gap = max(QUIET_MIN_S, 32 * self._byte_s())
        got = bytearray()
        end = time.monotonic() + limit_s
        last = time.monotonic()
        while time.monotonic() < end:
            data = self.transport.read()
            now = time.monotonic()
            if data:
                got += data
                last = now
            elif now - last >= gap:
                break
        return bytes(got)

    def _answer(self, wait_s: float) -> Packet | None:
        """The next packet, or None once an answer arrived damaged (its rest drained) or
        nothing arrived within `wait_s`."""
        bad, skipped = self.parser.bad_checksums, self.parser.skipped_bytes
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            data = self.transport.read()
            packets = self.parser.feed(data) if data else []
            if packets:
                return packets[0]
            if self.parser.bad_checksums != bad or self.parser.skipped_bytes != skipped:
                late = self.parser.feed(self._quiet())  # noise, then maybe the answer
                return late[0] if late else None
        return None

    def _ack(self, code: int, params: bytes = b"", *, allow: tuple[int, ...] = (OK,),
             whole: bool = False) -> bytes:
        """Send a command and read its acknowledge. A garbled exchange (the module's receive
        error 0x01, a damaged or missing answer) is repeated up to COMMAND_TRIES times, after
        the line goes quiet: line noise is not the sensor's fault."""
        wait_s = PROCESSING_S.get(code, COMMAND_S) + 64 * self._byte_s()
        silent = 0
        for attempt in range(COMMAND_TRIES):
            if attempt:
                self.stats["command_retries"] += 1
                self._quiet()
            self.parser.clear()
            self._send(command(code, params, self.address))
            heard = (self.parser.bad_checksums, self.parser.skipped_bytes)
            packet = self._answer(wait_s)
            if packet is None:
                silent += heard == (self.parser.bad_checksums, self.parser.skipped_bytes)
                continue
            if packet.pid != PID_ACK or not packet.payload or packet.payload[0] == RECEIVE_ERROR:
                continue
            conf = packet.payload[0]
            if conf not in allow:
                raise CaptureError(CONFIRMATIONS.get(conf, f"confirmation code 0x{conf:02x}"),
                                    device="fingerprint")
            return packet.payload if conf != OK or whole else packet.payload[1:]
        if silent == COMMAND_TRIES:
            raise DeviceTimeout(f"no answer to command 0x{code:02x}", device="fingerprint")
        raise LinkProtocolError(f"no clean acknowledge to command 0x{code:02x} in "
                                f"{COMMAND_TRIES} tries", device="fingerprint")

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
        packed = self.finger_image(self.finger_wait_s)
        if packed is None:
            raise CaptureError("no finger on the sensor", device="fingerprint")
        pixels = imaging.unpack_nibbles(packed)
        w, h = imaging.FINGER_W, imaging.FINGER_H
        return Capture(modality=Modality.FINGER, position=position, image=pixels,
                       image_format="raw8", quality=imaging.estimate_quality(pixels, w, h),
                       width=w, height=h, device="fingerprint",
                       transfer_s=time.monotonic() - t0)

    def finger_image(self, wait_s: float) -> bytes | None:
        """GenImg until a finger is on the glass (None if none within `wait_s`), then the
        image as the module uploads it: 4-bit pixels, two a byte (IMAGE_BYTES)."""
        deadline = time.monotonic() + wait_s
        while True:
            reply = self._ack(CMD_GENIMG, allow=(OK, NO_FINGER))
            if not reply or reply[0] != NO_FINGER:
                break
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
        self._fit_packet_size()
        packed = self._upload()
        self.stats["images"] += 1
        return packed

    def command(self, code: int, params: bytes = b"") -> tuple[int, bytes]:
        """One instruction answered by a single acknowledge (not an upload or download):
        -> (confirmation code, the acknowledge's data), retried as `_ack` does."""
        reply = self._ack(code, params, allow=tuple(range(256)), whole=True)
        return reply[0], bytes(reply[1:])

    def _fit_packet_size(self) -> None:
        """Set the packet size that suits the measured error rate (module doc)."""
        if self.byte_error_rate is None:
            return  # nothing measured yet: the module's own setting
        best = best_packet_size(IMAGE_BYTES, self.byte_error_rate, PACKET_SIZES)
        if best != self.packet_size:
            try:
                self._ack(CMD_SETSYSPARA, bytes((REG_PACKET_SIZE, PACKET_SIZES.index(best))))
            except CaptureError:  # a module that refuses keeps its size, and we stop asking
                self.byte_error_rate = None
                return
            self.packet_size = best
            self.stats["packet_size_changes"] += 1

    def _measured(self, assembler: ImageAssembler) -> None:
        rate = assembler.byte_error_rate()
        old = self.byte_error_rate
        self.byte_error_rate = rate if old is None else (old + rate) / 2

    def _upload(self) -> bytes:
        """UpImage until every packet of the image has arrived clean in some pass (see
        r30x_image: the module resends the same ImageBuffer each time)."""
        slots = IMAGE_BYTES // self.packet_size
        assembler = ImageAssembler(slots, self.packet_size)
        stride = 11 + self.packet_size
        budget = (ACK_LEN + slots * stride) * self._byte_s() * 1.25 + COMMAND_S
        for attempt in range(UPLOAD_PASSES):
            if attempt:
                self.stats["upload_retries"] += 1
            upload = split_upload(self._stream(budget), self.packet_size, slots)
            conf = upload.confirmation
            if conf not in (None, OK, RECEIVE_ERROR):
                raise CaptureError(CONFIRMATIONS.get(conf, f"confirmation code 0x{conf:02x}"),
                                    device="fingerprint")
            if upload.packets:  # not a pass whose command arrived damaged (no data sent)
                assembler.add(upload)
            if assembler.complete():
                self.stats["upload_passes"] += assembler.passes
                self._measured(assembler)
                return assembler.image()
        self._measured(assembler)
        self.stats["corrupted_images_rejected"] += 1
        raise CaptureError(
            f"image upload incomplete after {UPLOAD_PASSES} passes: {assembler.missing()} of "
            f"{slots} packets never arrived clean (byte error rate "
            f"{assembler.byte_error_rate():.1e})", device="fingerprint",
        )

    def _stream(self, budget: float) -> bytes:
        """Send UpImage and collect the raw answer until the last packet, a silence after
        data, or `budget` seconds. Before asking, the line must be quiet for as long as a
        whole pass may take: a pass cut short (a loaded host that read nothing for a while)
        leaves the module still sending, and a new UpImage would queue a second image
        behind the first, shifting every later pass out of its slots."""
        self._quiet(budget)
        self._send(command(CMD_UPIMAGE, b"", self.address))
        got = bytearray()
        start = time.monotonic()
        first_wait = COMMAND_S + 64 * self._byte_s()
        gap = max(QUIET_MIN_S * 12, 64 * self._byte_s())  # 0.24 s: silence ends a pass
        last = start
        while True:
            data = self.transport.read()
            now = time.monotonic()
            if data:
                got += data
                last = now
                if _ends_upload(got, self.packet_size):
                    return bytes(got)
            elif (got and now - last >= gap) or (not got and now - start >= first_wait):
                return bytes(got)
            if now - start >= budget:
                return bytes(got)

    def health(self) -> dict[str, Any]:
        return {"version": self.version, "state": self.state,
                "bad_checksums": self.parser.bad_checksums, **self.stats}

    def close(self) -> None:
        self.transport.close()
        self.state = "closed"
