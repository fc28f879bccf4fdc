"""ZhianTec R30x / R503 packet codec and command set (pure: bytes in, packets out).

Packet: EF 01 | address u32 | pid u8 | length u16 | payload | checksum u16 (big-endian),
where length = len(payload) + 2 and checksum = (pid + length bytes + payload bytes) & 0xFFFF.
pid: 01 command, 02 data (more follows), 07 acknowledge, 08 last data packet.
A command payload is an instruction code and its parameters; every acknowledge starts with a
confirmation code (CONFIRMATIONS). Shared by the driver (drivers/r30x.py) and the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware import r30xpkt
from firmware.r30xpkt import HEADER, MAX_PAYLOAD, PID_ACK, PID_COMMAND, PID_DATA, PID_END

__all__ = ["HEADER", "MAX_PAYLOAD", "PID_ACK", "PID_COMMAND", "PID_DATA", "PID_END"]
PACKET_SIZES = (32, 64, 128, 256)  # SetSysPara register 6 / ReadSysPara size code 0-3
BROADCAST = 0xFFFFFFFF

# instruction codes (R30x manual; 0x35 is the R503's LED ring)
CMD_GENIMG = 0x01  # -> conf
CMD_IMG2TZ = 0x02  # buffer u8 -> conf
CMD_MATCH = 0x03  # -> conf, score u16 (CharBuffer1 against CharBuffer2)
CMD_SEARCH = 0x04  # buffer u8, start u16, count u16 -> conf, page u16, score u16
CMD_REGMODEL = 0x05  # -> conf
CMD_STORE = 0x06  # buffer u8, page u16 -> conf
CMD_LOADCHAR = 0x07  # buffer u8, page u16 -> conf
CMD_UPCHAR = 0x08  # buffer u8 -> conf, then data packets
CMD_DOWNCHAR = 0x09  # buffer u8 -> conf, then the host sends data packets
CMD_UPIMAGE = 0x0A  # -> conf, then data packets (4-bit pixels)
CMD_DOWNIMAGE = 0x0B  # -> conf, then the host sends data packets
CMD_DELETCHAR = 0x0C  # page u16, count u16 -> conf
CMD_EMPTY = 0x0D  # -> conf
CMD_SETSYSPARA = 0x0E  # register u8, value u8 -> conf
CMD_READSYSPARA = 0x0F  # -> conf, 16 bytes (SYSPARA_FORMAT)
CMD_VFYPWD = 0x13  # password u32 -> conf
CMD_GETRANDOMCODE = 0x14  # -> conf, random u32
CMD_HIGHSPEEDSEARCH = 0x1B  # as Search
CMD_TEMPLATENUM = 0x1D  # -> conf, count u16
CMD_READINDEXTABLE = 0x1F  # page u8 -> conf, 32 bytes (bit i of byte j: template 8j+i)
CMD_AURALEDCONFIG = 0x35  # control u8, speed u8, colour u8, times u8 -> conf

# status u16, system id u16, library size u16, security level u16, address u32,
# packet size code u16, baud / 9600 u16
SYSPARA_FORMAT = ">HHHHIHH"
REG_BAUD, REG_SECURITY, REG_PACKET_SIZE = 4, 5, 6  # SetSysPara registers

OK, RECEIVE_ERROR, NO_FINGER = 0x00, 0x01, 0x02
NO_MATCH, NOT_FOUND, BAD_PAGE, BAD_TEMPLATE = 0x08, 0x09, 0x0B, 0x0C
NO_IMAGE, BAD_REGISTER, UNSUPPORTED = 0x15, 0x1A, 0xFC
CONFIRMATIONS = {
    0x01: "packet receive error", 0x02: "no finger on the sensor", 0x03: "image capture failed",
    0x06: "image too disorderly", 0x07: "too few feature points", 0x08: "fingers do not match",
    0x09: "no matching template", 0x0A: "cannot combine the character files",
    0x0B: "page beyond the library", 0x0C: "no valid template at that page",
    0x0E: "cannot send data", 0x0F: "cannot send the image", 0x10: "cannot delete templates",
    0x11: "cannot empty the library", 0x13: "wrong password", 0x15: "no valid image in buffer",
    0x18: "flash write error", 0x1A: "invalid register number", 0xFC: "unsupported command",
}


@dataclass(frozen=True, kw_only=True)
class Packet:
    pid: int
    payload: bytes
    address: int = 0xFFFFFFFF


def build(pid: int, payload: bytes, address: int = 0xFFFFFFFF) -> bytes:
    return r30xpkt.build(pid, payload, address)  # type: ignore[no-any-return]


def command(code: int, params: bytes = b"", address: int = 0xFFFFFFFF) -> bytes:
    return r30xpkt.command(code, params, address)  # type: ignore[no-any-return]


class Parser:
    """Bytes in, packets out (firmware/r30xpkt.py, which the fingerprint bridge runs). Garbage
    before a header and packets with a bad checksum are skipped and counted; the parser
    resynchronises on the next EF 01."""

    def __init__(self) -> None:
        self._parser = r30xpkt.Parser()

    @property
    def bad_checksums(self) -> int:
        return self._parser.bad_checksums  # type: ignore[no-any-return]

    @property
    def skipped_bytes(self) -> int:
        return self._parser.skipped_bytes  # type: ignore[no-any-return]

    def clear(self) -> None:
        self._parser.clear()

    def feed(self, data: bytes) -> list[Packet]:
        return [Packet(pid=pid, payload=payload, address=address)
                for pid, payload, address in self._parser.feed(data)]
