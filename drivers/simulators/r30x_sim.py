"""R30x fingerprint module simulator: answers VfyPwd, ReadSysPara, GenImg (sometimes "no
finger" first, as when a resident is still placing it), UpImage (4-bit image in data
packets), Img2Tz; bad checksums get confirmation 0x01, as the real module does."""

from __future__ import annotations

import random
import struct

from drivers import imaging, r30x
from drivers.samples import SampleSource
from drivers.simulators.device import SimulatedDevice

SYS_ID = 0x0009
LIBRARY_SIZE = 1000


class R30xSim(SimulatedDevice):
    def __init__(self, *, seed: int = 0, password: int = 0, packet_size: int = 128,
                 baud: int = 57600, no_finger_rate: float = 0.3) -> None:  # fmt: skip
        super().__init__()
        self.samples = SampleSource(seed)
        self.rng = random.Random(seed)
        self.password = password
        self.packet_size = packet_size
        self.baud = baud
        self.no_finger_rate = no_finger_rate
        self.parser = r30x.Parser()
        self.image: bytes | None = None
        self.images_sent = 0

    def on_bytes(self, data: bytes) -> None:
        bad = self.parser.bad_checksums
        packets = self.parser.feed(data)
        if self.parser.bad_checksums != bad and not packets:
            self._reply(0x01)
        for packet in packets:
            self._handle(packet)

    def _reply(self, conf: int, data: bytes = b"") -> None:
        self._sock.sendall(r30x.build(r30x.PID_ACK, bytes((conf,)) + data))

    def _handle(self, packet: r30x.Packet) -> None:
        if packet.pid != r30x.PID_COMMAND or not packet.payload:
            return self._reply(0x01)
        code, params = packet.payload[0], packet.payload[1:]
        if code == r30x.CMD_VFYPWD:
            ok = params == struct.pack(">I", self.password)
            return self._reply(0x00 if ok else 0x13)
        if code == r30x.CMD_READSYSPARA:
            size_code = r30x.PACKET_SIZES.index(self.packet_size)
            para = struct.pack(">HHHHIHH", 0, SYS_ID, LIBRARY_SIZE, 3, 0xFFFFFFFF, size_code,
                               self.baud // 9600)  # fmt: skip
            return self._reply(0x00, para)
        if code == r30x.CMD_GENIMG:
            if self.rng.random() < self.no_finger_rate:
                return self._reply(r30x.NO_FINGER)
            self.image = imaging.pack_nibbles(self.samples.finger())
            return self._reply(0x00)
        if code == r30x.CMD_UPIMAGE:
            if self.image is None:
                return self._reply(0x15)
            self._reply(0x00)
            n = self.packet_size
            for off in range(0, len(self.image), n):
                last = off + n >= len(self.image)
                pid = r30x.PID_END if last else r30x.PID_DATA
                self._sock.sendall(r30x.build(pid, self.image[off : off + n]))
            self.images_sent += 1
            return None
        if code == r30x.CMD_IMG2TZ:
            return self._reply(0x00 if self.image is not None else 0x15)
        return self._reply(0x01)
