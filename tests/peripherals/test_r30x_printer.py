"""R30x packets byte for byte, its parser under garbage, the driver against the simulator;
the ESC/POS receipt through python-escpos to the printer simulator."""

import struct
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import imaging, r30x
from drivers import r30x_codec as codec
from drivers.printer import render_receipt


def test_genimg_command_bytes():
    # EF01 | address FFFFFFFF | pid 01 | length 0003 (1 code + 2 checksum) | 01 | sum 0005
    assert codec.command(codec.CMD_GENIMG) == bytes.fromhex("ef01 ffffffff 01 0003 01 0005")
    # VfyPwd password 0: payload 13 00000000, length 0007, sum 01+00+07+13 = 001b
    assert codec.command(codec.CMD_VFYPWD, b"\0\0\0\0") == bytes.fromhex(
        "ef01 ffffffff 01 0007 13 00000000 001b"
    )
    # acknowledge "ok": pid 07, length 0003, code 00, sum 07+00+03+00 = 000a
    assert codec.build(codec.PID_ACK, b"\x00") == bytes.fromhex("ef01 ffffffff 07 0003 00 000a")


def test_parser_resyncs_and_rejects_bad_checksums():
    good = codec.build(codec.PID_ACK, b"\x00")
    bad = bytearray(codec.build(codec.PID_DATA, b"\x11" * 8))
    bad[-1] ^= 0xFF
    parser = codec.Parser()
    got = parser.feed(b"\x00\xef\x99garbage" + bytes(bad) + good)
    assert got == [codec.Packet(pid=codec.PID_ACK, payload=b"\x00")]
    assert parser.bad_checksums == 1
    # split anywhere, same packets
    stream = good + codec.build(codec.PID_END, b"\x22" * 128)
    parser = codec.Parser()
    out = []
    for i in range(0, len(stream), 7):
        out += parser.feed(stream[i : i + 7])
    assert [p.pid for p in out] == [codec.PID_ACK, codec.PID_END]


@settings(deadline=None)
@given(st.binary(max_size=2000))
def test_parser_never_crashes(data):
    for packet in codec.Parser().feed(data):
        assert len(packet.payload) <= codec.MAX_PAYLOAD


@settings(deadline=None)
@given(st.sampled_from([1, 2, 7, 8]), st.binary(max_size=256))
def test_packet_round_trip(pid, payload):
    assert codec.Parser().feed(codec.build(pid, payload)) == [
        codec.Packet(pid=pid, payload=payload)
    ]


def test_driver_against_simulator(tmp_path):
    from drivers.simulators.line import Impairments, Line
    from drivers.simulators.r30x_sim import R30xSim
    from drivers.transport import SerialTransport

    sim = R30xSim(seed=2, no_finger_rate=0.5).start()
    line = Line(sim.fd, Impairments(paced=False), str(tmp_path / "fp")).start()
    drv = r30x.R30xDriver(SerialTransport(line.path, 57600, device="fingerprint"))
    try:
        assert drv.connect() == "R30x sys 0x0009 lib 1000 level 3 57600 bd"
        cap = drv.capture("right_index")
        assert len(cap.image) == imaging.FINGER_W * imaging.FINGER_H
        assert imaging.pack_nibbles(cap.image) == sim.image
        assert cap.image_format == "raw8" and 0 <= cap.quality <= 100
        assert drv.health()["bad_checksums"] == 0
    finally:
        drv.close()
        line.stop()
        sim.stop()


def test_wrong_password_is_a_clear_error(tmp_path):
    import pytest

    from drivers.errors import CaptureError
    from drivers.simulators.line import Impairments, Line
    from drivers.simulators.r30x_sim import R30xSim
    from drivers.transport import SerialTransport

    sim = R30xSim(password=1234).start()
    line = Line(sim.fd, Impairments(paced=False), str(tmp_path / "fp")).start()
    drv = r30x.R30xDriver(SerialTransport(line.path, 57600, device="fingerprint"))
    try:
        with pytest.raises(CaptureError, match="wrong password"):
            drv.connect()
    finally:
        drv.close()
        line.stop()
        sim.stop()


def test_receipt_bytes_and_printer_simulator(tmp_path):
    from drivers.printer import PrinterDriver
    from drivers.simulators.line import Impairments, Line
    from drivers.simulators.printer_sim import PrinterSim
    from drivers.transport import SerialTransport

    data = render_receipt(["Nomor tiket: A-0042"], qr_data="A-0042")
    assert b"Nomor tiket: A-0042\n" in data
    # native QR store: GS ( k, pL pH = len("A-0042") + 3, cn=49 fn=80 m=48
    assert b"\x1d(k" + struct.pack("<H", 9) + b"1P0A-0042" in data
    assert data.endswith(b"\x1dV\x00")  # full cut
    sim = PrinterSim().start()
    line = Line(sim.fd, Impairments(baud=19200), str(tmp_path / "lp")).start()
    drv = PrinterDriver(SerialTransport(line.path, 19200, device="printer"))
    try:
        drv.connect()
        drv.print_receipt(["Nomor tiket: A-0042", "Terima kasih"], qr_data="A-0042")
        deadline = time.monotonic() + 10
        while not sim.receipts and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sim.receipts == [{"lines": ["ANJUNGAN KTP-el", "Nomor tiket: A-0042", "Terima kasih"],
                                 "qr": ["A-0042"]}]
    finally:
        drv.close()
        line.stop()
        sim.stop()
