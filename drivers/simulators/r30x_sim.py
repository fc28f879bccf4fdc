"""R30x / R503 fingerprint module simulator: the module's command set, answered as its manual
says (codes in drivers/r30x_codec.py), over the byte-level packet format.

State, as on the module: an ImageBuffer (GenImg fills it; UpImage sends it, as often as
asked, until the next GenImg; DownImage replaces it), two CharBuffers (Img2Tz, LoadChar,
UpChar, DownChar: the host's data packets after the acknowledge), a template
library of `library_size` pages in flash (Store, LoadChar, DeletChar, Empty, TemplateNum,
ReadIndexTable, Search, Match), the system parameters (ReadSysPara, SetSysPara) and the
R503's LED ring (AuraLedConfig). A packet with a bad checksum gets confirmation 0x01; an
instruction the module does not have gets 0xFC (unsupported command).

A character file here is a digest of the image (the same finger image gives the same
features), so Match and Search find exactly the templates made from the same image.
"""

from __future__ import annotations

import hashlib
import random
import struct

from drivers import imaging
from drivers import r30x_codec as r30x
from drivers.samples import SampleSource
from drivers.simulators.device import SimulatedDevice

SYS_ID = 0x0009
LIBRARY_SIZE = 1000
CHAR_BYTES = 512  # a character file / template (R503 manual)
INDEX_PAGES = 4  # ReadIndexTable pages 0-3, 256 templates each
MATCH_SCORE = 180
TEMPLATE_EMPTY = 0x22  # R503: "fingerprint template is empty"
BAD_CONFIG = 0x1B  # R503: "incorrect configuration of register"
LED_CONTROLS = range(1, 7)  # breathing, flashing, on, off, gradually on, gradually off
LED_COLOURS = range(1, 8)


def features(image: bytes) -> bytes:
    """The character file of an image: CHAR_BYTES derived from its pixels."""
    out = bytearray()
    block = hashlib.sha256(image).digest()
    while len(out) < CHAR_BYTES:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:CHAR_BYTES])


class R30xSim(SimulatedDevice):
    def __init__(self, *, seed: int = 0, password: int = 0, packet_size: int = 128,
                 baud: int = 57600, no_finger_rate: float = 0.3,
                 library_size: int = LIBRARY_SIZE) -> None:
        super().__init__()
        self.samples = SampleSource(seed)
        self.rng = random.Random(seed)
        self.password = password
        self.packet_size = packet_size
        self.baud = baud
        self.security_level = 3
        self.library_size = library_size
        self.no_finger_rate = no_finger_rate
        self.parser = r30x.Parser()
        self.image: bytes | None = None
        self.char_buffers: dict[int, bytes | None] = {1: None, 2: None}
        self.library: dict[int, bytes] = {}
        self.led: tuple[int, int, int, int] | None = None  # control, speed, colour, times
        self.images_sent = 0
        self.commands: list[int] = []  # instruction codes received, in order (for tests)
        self._download: tuple[str, int] | None = None  # ("char", buffer) / ("image", 0)
        self._received = bytearray()

    def on_bytes(self, data: bytes) -> None:
        bad = self.parser.bad_checksums
        packets = self.parser.feed(data)
        if self.parser.bad_checksums != bad and not packets:
            self._reply(r30x.RECEIVE_ERROR)
        for packet in packets:
            self._handle(packet)

    def _reply(self, conf: int, data: bytes = b"") -> None:
        self._sock.sendall(r30x.build(r30x.PID_ACK, bytes((conf,)) + data))

    def _stream(self, blob: bytes) -> None:
        n = self.packet_size
        for off in range(0, len(blob), n):
            pid = r30x.PID_END if off + n >= len(blob) else r30x.PID_DATA
            self._sock.sendall(r30x.build(pid, blob[off : off + n]))

    def _handle(self, packet: r30x.Packet) -> None:
        if self._download is not None and packet.pid in (r30x.PID_DATA, r30x.PID_END):
            return self._take_data(packet)
        if packet.pid != r30x.PID_COMMAND or not packet.payload:
            return self._reply(r30x.RECEIVE_ERROR)
        code, params = packet.payload[0], bytes(packet.payload[1:])
        self.commands.append(code)
        handler = self._HANDLERS.get(code)
        if handler is None:
            return self._reply(r30x.UNSUPPORTED)
        try:
            return handler(self, params)  # type: ignore[no-any-return]
        except struct.error:  # parameters too short for the instruction
            return self._reply(r30x.RECEIVE_ERROR)

    # --- the sensor ------------------------------------------------------------------------

    def _genimg(self, _params: bytes) -> None:
        if self.rng.random() < self.no_finger_rate:
            return self._reply(r30x.NO_FINGER)
        self.image = imaging.pack_nibbles(self.samples.finger())
        return self._reply(r30x.OK)

    def _upimage(self, _params: bytes) -> None:
        if self.image is None:
            return self._reply(r30x.NO_IMAGE)
        self._reply(r30x.OK)
        self._stream(self.image)
        self.images_sent += 1
        return None

    def _img2tz(self, params: bytes) -> None:
        (buffer,) = struct.unpack(">B", params[:1])
        if self.image is None:
            return self._reply(r30x.NO_IMAGE)
        self.char_buffers[self._buffer(buffer)] = features(self.image)
        return self._reply(r30x.OK)

    def _upchar(self, params: bytes) -> None:
        (buffer,) = struct.unpack(">B", params[:1])
        char = self.char_buffers[self._buffer(buffer)]
        if char is None:
            return self._reply(0x0D)  # error when uploading template
        self._reply(r30x.OK)
        self._stream(char)
        return None

    def _downchar(self, params: bytes) -> None:
        (buffer,) = struct.unpack(">B", params[:1])
        self._download, self._received = ("char", self._buffer(buffer)), bytearray()
        return self._reply(r30x.OK)

    def _downimage(self, _params: bytes) -> None:
        self._download, self._received = ("image", 0), bytearray()
        return self._reply(r30x.OK)

    def _take_data(self, packet: r30x.Packet) -> None:
        """The host's data packets after DownChar / DownImage: no acknowledge per packet."""
        self._received += packet.payload
        if packet.pid != r30x.PID_END or self._download is None:
            return
        kind, buffer = self._download
        if kind == "char":
            self.char_buffers[buffer] = bytes(self._received)
        else:
            self.image = bytes(self._received)
        self._download = None

    @staticmethod
    def _buffer(buffer: int) -> int:
        return 1 if buffer == 1 else 2  # the module takes anything but 1 as CharBuffer2

    # --- the library -----------------------------------------------------------------------

    def _regmodel(self, _params: bytes) -> None:
        one, two = self.char_buffers[1], self.char_buffers[2]
        if one is None or two is None or one != two:
            return self._reply(0x0A)  # cannot combine the character files
        return self._reply(r30x.OK)

    def _store(self, params: bytes) -> None:
        buffer, page = struct.unpack(">BH", params[:3])
        if page >= self.library_size:
            return self._reply(r30x.BAD_PAGE)
        char = self.char_buffers[self._buffer(buffer)]
        if char is None:
            return self._reply(TEMPLATE_EMPTY)
        self.library[page] = char
        return self._reply(r30x.OK)

    def _loadchar(self, params: bytes) -> None:
        buffer, page = struct.unpack(">BH", params[:3])
        if page >= self.library_size:
            return self._reply(r30x.BAD_PAGE)
        if page not in self.library:
            return self._reply(r30x.BAD_TEMPLATE)
        self.char_buffers[self._buffer(buffer)] = self.library[page]
        return self._reply(r30x.OK)

    def _deletchar(self, params: bytes) -> None:
        page, count = struct.unpack(">HH", params[:4])
        if count == 0 or page + count > self.library_size:
            return self._reply(0x10)  # failed to delete
        for p in range(page, page + count):
            self.library.pop(p, None)
        return self._reply(r30x.OK)

    def _empty(self, _params: bytes) -> None:
        self.library.clear()
        return self._reply(r30x.OK)

    def _search(self, params: bytes) -> None:
        buffer, start, count = struct.unpack(">BHH", params[:5])
        char = self.char_buffers[self._buffer(buffer)]
        if char is not None:
            for page in range(start, min(start + count, self.library_size)):
                if self.library.get(page) == char:
                    return self._reply(r30x.OK, struct.pack(">HH", page, MATCH_SCORE))
        return self._reply(r30x.NOT_FOUND, struct.pack(">HH", 0, 0))

    def _match(self, _params: bytes) -> None:
        one, two = self.char_buffers[1], self.char_buffers[2]
        if one is not None and one == two:
            return self._reply(r30x.OK, struct.pack(">H", MATCH_SCORE))
        return self._reply(r30x.NO_MATCH, struct.pack(">H", 0))

    def _templatenum(self, _params: bytes) -> None:
        return self._reply(r30x.OK, struct.pack(">H", len(self.library)))

    def _readindextable(self, params: bytes) -> None:
        (page,) = struct.unpack(">B", params[:1])
        if page >= INDEX_PAGES:
            return self._reply(r30x.BAD_PAGE)
        table = bytearray(32)
        for t in self.library:
            if page * 256 <= t < (page + 1) * 256:
                table[(t % 256) // 8] |= 1 << (t % 8)
        return self._reply(r30x.OK, bytes(table))

    # --- the module ------------------------------------------------------------------------

    def _vfypwd(self, params: bytes) -> None:
        (password,) = struct.unpack(">I", params[:4])
        return self._reply(r30x.OK if password == self.password else 0x13)

    def _readsyspara(self, _params: bytes) -> None:
        size_code = r30x.PACKET_SIZES.index(self.packet_size)
        para = struct.pack(r30x.SYSPARA_FORMAT, 0, SYS_ID, self.library_size,
                           self.security_level, r30x.BROADCAST, size_code,
                           self.baud // 9600)
        return self._reply(r30x.OK, para)

    def _setsyspara(self, params: bytes) -> None:
        register, value = struct.unpack(">BB", params[:2])
        if register == r30x.REG_BAUD and 1 <= value <= 12:
            self.baud = 9600 * value  # recorded; the simulated line keeps its own pace
        elif register == r30x.REG_SECURITY and 1 <= value <= 5:
            self.security_level = value
        elif register == r30x.REG_PACKET_SIZE and value < len(r30x.PACKET_SIZES):
            self.packet_size = r30x.PACKET_SIZES[value]
        elif register in (r30x.REG_BAUD, r30x.REG_SECURITY, r30x.REG_PACKET_SIZE):
            return self._reply(BAD_CONFIG)
        else:
            return self._reply(r30x.BAD_REGISTER)
        return self._reply(r30x.OK)

    def _getrandomcode(self, _params: bytes) -> None:
        return self._reply(r30x.OK, struct.pack(">I", self.rng.getrandbits(32)))

    def _auraledconfig(self, params: bytes) -> None:
        control, speed, colour, times = struct.unpack(">BBBB", params[:4])
        if control not in LED_CONTROLS or colour not in LED_COLOURS:
            return self._reply(r30x.RECEIVE_ERROR)
        self.led = (control, speed, colour, times)
        return self._reply(r30x.OK)

    _HANDLERS = {
        r30x.CMD_GENIMG: _genimg, r30x.CMD_IMG2TZ: _img2tz, r30x.CMD_MATCH: _match,
        r30x.CMD_SEARCH: _search, r30x.CMD_HIGHSPEEDSEARCH: _search,
        r30x.CMD_REGMODEL: _regmodel, r30x.CMD_STORE: _store, r30x.CMD_LOADCHAR: _loadchar,
        r30x.CMD_UPCHAR: _upchar, r30x.CMD_DOWNCHAR: _downchar, r30x.CMD_UPIMAGE: _upimage,
        r30x.CMD_DOWNIMAGE: _downimage, r30x.CMD_DELETCHAR: _deletchar,
        r30x.CMD_EMPTY: _empty, r30x.CMD_SETSYSPARA: _setsyspara,
        r30x.CMD_READSYSPARA: _readsyspara, r30x.CMD_VFYPWD: _vfypwd,
        r30x.CMD_GETRANDOMCODE: _getrandomcode, r30x.CMD_TEMPLATENUM: _templatenum,
        r30x.CMD_READINDEXTABLE: _readindextable, r30x.CMD_AURALEDCONFIG: _auraledconfig,
    }
