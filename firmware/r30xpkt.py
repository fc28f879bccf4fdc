"""ZhianTec R30x / R503 packets (MicroPython subset: the fingerprint bridge's firmware and the
host's `drivers/r30x_codec.py` share it).

Packet: EF 01 | address u32 | pid u8 | length u16 | payload | checksum u16 (big-endian),
where length = len(payload) + 2 and checksum = (pid + length bytes + payload bytes) & 0xFFFF.
pid: 01 command, 02 data (more follows), 07 acknowledge, 08 last data packet.
"""

import struct

HEADER = b"\xef\x01"
PID_COMMAND = 0x01
PID_DATA = 0x02
PID_ACK = 0x07
PID_END = 0x08
MAX_PAYLOAD = 256
BROADCAST = 0xFFFFFFFF


def build(pid, payload, address=BROADCAST):
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("R30x payload too long")
    body = struct.pack(">BH", pid, len(payload) + 2) + payload
    return HEADER + struct.pack(">I", address) + body + struct.pack(">H", sum(body) & 0xFFFF)


def command(code, params=b"", address=BROADCAST):
    return build(PID_COMMAND, bytes((code,)) + params, address)


class Parser:
    """Bytes in, packets out as (pid, payload, address). Garbage before a header and packets
    with a bad checksum are skipped and counted; it resynchronises on the next EF 01."""

    def __init__(self):
        self._buf = bytearray()
        self.bad_checksums = 0
        self.skipped_bytes = 0

    def clear(self):
        self._buf = bytearray()

    def _drop(self, n):
        self._buf = self._buf[n:]

    def feed(self, data):
        self._buf += data
        out = []  # type: list
        while True:
            start = bytes(self._buf).find(HEADER)
            if start < 0:
                keep = 1 if self._buf[-1:] == HEADER[:1] else 0
                self.skipped_bytes += len(self._buf) - keep
                self._drop(len(self._buf) - keep)
                return out
            if start:
                self.skipped_bytes += start
                self._drop(start)
            if len(self._buf) < 9:
                return out
            address, pid, length = struct.unpack(">IBH", bytes(self._buf[2:9]))
            if pid not in (PID_COMMAND, PID_DATA, PID_ACK, PID_END) or not 2 <= length <= MAX_PAYLOAD + 2:
                self.skipped_bytes += 1
                self._drop(1)
                continue
            total = 9 + length
            if len(self._buf) < total:
                return out
            body = bytes(self._buf[6 : total - 2])
            checksum = (self._buf[total - 2] << 8) | self._buf[total - 1]
            if sum(body) & 0xFFFF != checksum:
                self.bad_checksums += 1
                self._drop(1)  # it may have been a header inside noise: look again
                continue
            out.append((pid, body[3:], address))
            self._drop(total)
