"""The R30x / R503 simulator answers the module's whole command set as its manual says: checked
byte for byte through our codec, and by an independent client from PyPI (pyfingerprint, by
Philipp Meisberger) over the simulator's pty, when it is installed."""

import struct

import pytest

from drivers import imaging
from drivers import r30x_codec as codec
from drivers.simulators.line import Impairments, Line
from drivers.simulators.r30x_sim import CHAR_BYTES, MATCH_SCORE, R30xSim, features


class Module:
    """A simulator behind an unpaced line, spoken to one command at a time."""

    def __init__(self, tmp_path, **sim):
        import serial

        self.sim = R30xSim(**{"no_finger_rate": 0.0, **sim}).start()
        self.line = Line(self.sim.fd, Impairments(paced=False), str(tmp_path / "fp")).start()
        self.port = serial.serial_for_url(self.line.path, baudrate=57600, timeout=2)
        self.parser = codec.Parser()

    def packets(self, count: int) -> list[codec.Packet]:
        got: list[codec.Packet] = []
        while len(got) < count:
            data = self.port.read(1)
            assert data, "the module did not answer"
            got += self.parser.feed(data)
        return got

    def ask(self, code: int, params: bytes = b"") -> tuple[int, bytes]:
        self.port.write(codec.command(code, params))
        (ack,) = self.packets(1)
        assert ack.pid == codec.PID_ACK
        return ack.payload[0], ack.payload[1:]

    def close(self):
        self.port.close()
        self.line.stop()
        self.sim.stop()


@pytest.fixture
def module(tmp_path):
    m = Module(tmp_path, seed=5)
    yield m
    m.close()


def test_templates_store_load_search_match_delete_empty(module):
    assert module.ask(codec.CMD_TEMPLATENUM) == (codec.OK, b"\x00\x00")
    assert module.ask(codec.CMD_IMG2TZ, b"\x01") == (codec.NO_IMAGE, b"")
    assert module.ask(codec.CMD_GENIMG) == (codec.OK, b"")
    assert module.ask(codec.CMD_IMG2TZ, b"\x01") == (codec.OK, b"")
    # Store buffer 1 at page 261: page 1 of the index table, byte 0, bit 5 (261 = 256 + 5)
    assert module.ask(codec.CMD_STORE, struct.pack(">BH", 1, 261)) == (codec.OK, b"")
    assert module.ask(codec.CMD_STORE, struct.pack(">BH", 1, 1000)) == (codec.BAD_PAGE, b"")
    assert module.ask(codec.CMD_TEMPLATENUM) == (codec.OK, b"\x00\x01")
    assert module.ask(codec.CMD_READINDEXTABLE, b"\x00") == (codec.OK, bytes(32))
    assert module.ask(codec.CMD_READINDEXTABLE, b"\x01") == (codec.OK, b"\x20" + bytes(31))
    assert module.ask(codec.CMD_READINDEXTABLE, b"\x04") == (codec.BAD_PAGE, b"")
    # Search buffer 1 over the whole library: found at 261
    found = struct.pack(">HH", 261, MATCH_SCORE)
    assert module.ask(codec.CMD_SEARCH, struct.pack(">BHH", 1, 0, 1000)) == (codec.OK, found)
    assert module.ask(codec.CMD_SEARCH, struct.pack(">BHH", 1, 0, 261))[0] == codec.NOT_FOUND
    # Match compares CharBuffer1 with CharBuffer2: empty 2 -> no match; LoadChar fills it
    assert module.ask(codec.CMD_MATCH) == (codec.NO_MATCH, b"\x00\x00")
    assert module.ask(codec.CMD_LOADCHAR, struct.pack(">BH", 2, 7)) == (codec.BAD_TEMPLATE, b"")
    assert module.ask(codec.CMD_LOADCHAR, struct.pack(">BH", 2, 261)) == (codec.OK, b"")
    assert module.ask(codec.CMD_MATCH) == (codec.OK, struct.pack(">H", MATCH_SCORE))
    assert module.ask(codec.CMD_DELETCHAR, struct.pack(">HH", 261, 1)) == (codec.OK, b"")
    assert module.ask(codec.CMD_TEMPLATENUM) == (codec.OK, b"\x00\x00")
    module.ask(codec.CMD_STORE, struct.pack(">BH", 2, 3))
    assert module.ask(codec.CMD_EMPTY) == (codec.OK, b"")
    assert module.sim.library == {}


def test_system_parameters_random_code_led_and_errors(module):
    conf, para = module.ask(codec.CMD_READSYSPARA)
    # status 0, system id 9, library 1000, level 3, address FFFFFFFF, size code 2 (128), 57600/9600
    assert (conf, struct.unpack(codec.SYSPARA_FORMAT, para)) == (
        codec.OK, (0, 9, 1000, 3, 0xFFFFFFFF, 2, 6))
    assert module.ask(codec.CMD_SETSYSPARA, bytes((codec.REG_PACKET_SIZE, 3))) == (codec.OK, b"")
    assert module.ask(codec.CMD_SETSYSPARA, bytes((codec.REG_SECURITY, 5))) == (codec.OK, b"")
    assert module.ask(codec.CMD_SETSYSPARA, bytes((codec.REG_SECURITY, 9))) == (0x1B, b"")
    assert module.ask(codec.CMD_SETSYSPARA, bytes((9, 1))) == (codec.BAD_REGISTER, b"")
    para = module.ask(codec.CMD_READSYSPARA)[1]
    assert struct.unpack(codec.SYSPARA_FORMAT, para)[3:6:2] == (5, 3)
    conf, random_code = module.ask(codec.CMD_GETRANDOMCODE)
    assert conf == codec.OK and len(random_code) == 4
    # R503 LED ring: control 1-6 (breathing .. gradually off), colour 1-7
    assert module.ask(codec.CMD_AURALEDCONFIG, bytes((1, 0x80, 2, 0))) == (codec.OK, b"")
    assert module.sim.led == (1, 0x80, 2, 0)
    assert module.ask(codec.CMD_AURALEDCONFIG, bytes((9, 0, 2, 0)))[0] == codec.RECEIVE_ERROR
    assert module.ask(codec.CMD_VFYPWD, b"\x00\x00\x00\x01") == (0x13, b"")
    for unknown in (0x00, 0x11, 0x3C, 0x77, 0xFF):
        assert module.ask(unknown) == (codec.UNSUPPORTED, b"")
    assert module.ask(codec.CMD_STORE, b"\x01") == (codec.RECEIVE_ERROR, b"")  # short
    damaged = bytearray(codec.command(codec.CMD_TEMPLATENUM))
    damaged[-1] ^= 1
    module.port.write(bytes(damaged))
    assert module.packets(1)[0].payload == bytes((codec.RECEIVE_ERROR,))


def test_upchar_and_downchar_carry_a_character_file(module):
    module.ask(codec.CMD_GENIMG)
    module.ask(codec.CMD_IMG2TZ, b"\x01")
    assert module.ask(codec.CMD_UPCHAR, b"\x01") == (codec.OK, b"")
    packets = module.packets(CHAR_BYTES // 128)  # 512 bytes in data packets of 128
    assert [p.pid for p in packets] == [codec.PID_DATA] * 3 + [codec.PID_END]
    assert b"".join(p.payload for p in packets) == features(module.sim.image)
    assert module.ask(codec.CMD_DOWNCHAR, b"\x02") == (codec.OK, b"")
    char = bytes(range(256)) * 2
    for i in range(4):
        pid = codec.PID_END if i == 3 else codec.PID_DATA
        module.port.write(codec.build(pid, char[i * 128 : (i + 1) * 128]))
    assert module.ask(codec.CMD_TEMPLATENUM)[0] == codec.OK  # answered: the download ended
    assert module.sim.char_buffers[2] == char


def test_independent_client_pyfingerprint(tmp_path):
    pyfp = pytest.importorskip("pyfingerprint.pyfingerprint")
    pytest.importorskip("PIL")
    from PIL import Image

    m = Module(tmp_path, seed=8, no_finger_rate=0.5)
    try:
        f = pyfp.PyFingerprint(m.line.path, 57600, 0xFFFFFFFF, 0)
        assert f.verifyPassword() is True
        assert f.getSystemParameters() == (0, 9, 1000, 3, 0xFFFFFFFF, 2, 6)
        assert (f.getStorageCapacity(), f.getMaxPacketSize(), f.getBaudRate()) == (1000, 128, 57600)
        assert f.getTemplateCount() == 0
        assert f.getTemplateIndex(0) == [False] * 256
        while not f.readImage():  # GenImg: "no finger" half the time here
            pass
        f.downloadImage(str(tmp_path / "finger.bmp"))  # UpImage, 288 data packets
        pixels = Image.open(tmp_path / "finger.bmp").convert("L").tobytes()
        assert pixels == imaging.unpack_nibbles(m.sim.image)  # 4-bit grey x 17, as ours
        assert f.convertImage(0x01) is True  # Img2Tz: the char file conversion
        assert f.storeTemplate() == 0  # first free page from the index table
        assert f.getTemplateCount() == 1
        assert f.getTemplateIndex(0)[:2] == [True, False]
        assert f.searchTemplate() == (0, MATCH_SCORE)
        assert f.convertImage(0x02) is True
        assert f.compareCharacteristics() == MATCH_SCORE
        assert bytes(f.downloadCharacteristics(0x01)) == features(m.sim.image)
        assert f.uploadCharacteristics(0x02, list(features(m.sim.image))) is True
        assert isinstance(f.generateRandomNumber(), int)
        assert f.deleteTemplate(0) is True and f.getTemplateCount() == 0
        assert f.clearDatabase() is True
    finally:
        m.close()
