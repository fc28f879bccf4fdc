"""The controller firmware: pure in CPython with a fake HAL, and for real under micropython
on a pty through the host driver."""

import struct
import time

from firmware import commands as c
from firmware import wire
from firmware.app import Controller


class FakeUart:
    def __init__(self):
        self.rx, self.tx = b"", b""

    def read(self, n):
        data, self.rx = self.rx[:n], self.rx[n:]
        return data or None

    def write(self, data):
        self.tx += data


class FakeHal:
    SIMULATED = True

    def __init__(self):
        self.uart, self.leds, self.inputs, self.watchdog_feeds, self.now = (
            FakeUart(),
            0,
            [0, 0],
            0,
            0,
        )
        self.beeps = []

    def ticks_ms(self):
        return self.now

    def ticks_diff(self, a, b):
        return a - b

    def unique_id(self):
        return "T-1"

    def set_leds(self, mask):
        self.leds = mask

    def beep(self, ms):
        self.beeps.append(ms)

    def presence(self):
        return self.inputs[0]

    def tamper(self):
        return self.inputs[1]

    def sim_input(self, sensor, value):
        self.inputs[sensor] = value

    def feed_watchdog(self):
        self.watchdog_feeds += 1

    def free_mem(self):
        return 1234


def exchange(ctl, host, request_payload):
    host.send(wire.T_REQ, request_payload)
    ctl.hal.uart.rx += host.data_to_send()
    for _ in range(3):
        ctl.step()
    host.receive_data(ctl.hal.uart.tx)
    ctl.hal.uart.tx = b""
    out = []
    ev = host.next_event()
    while ev:
        out.append(ev)
        ev = host.next_event()
    return out


def test_controller_commands_with_fake_hal():
    hal = FakeHal()
    ctl, host = Controller(hal), wire.Link()
    ev = exchange(ctl, host, bytes((c.CMD_IDENTIFY,)))
    assert ev == [(wire.EV_FRAME, wire.T_RSP, 0, b"\x01\x00anjungan-ctl-rp2040\nT-1\n1.0.0")]
    ev = exchange(ctl, host, bytes((c.CMD_SET_LEDS, 0x03, 0x01)))
    assert ev[0][3] == b"\x03\x00\x01" and hal.leds == 0x01
    assert exchange(ctl, host, b"\x04\x64\x00")[0][3] == b"\x04\x00" and hal.beeps == [100]
    assert exchange(ctl, host, b"\x7f")[0][3] == bytes((0x7F, c.ST_UNKNOWN_COMMAND))
    assert exchange(ctl, host, b"\x03\x01")[0][3] == bytes((0x03, c.ST_BAD_REQUEST))
    status = exchange(ctl, host, bytes((c.CMD_STATUS,)))[0][3]
    presence, tamper, leds, _up, feeds, rx_err, free = struct.unpack(c.STATUS_FORMAT, status[2:])
    assert (presence, tamper, leds, rx_err, free) == (0, 0, 1, 0, 1234) and feeds > 0


def test_sensor_change_becomes_event():
    hal = FakeHal()
    ctl, host = Controller(hal), wire.Link()
    hal.inputs[1] = 1  # case opened
    hal.now = 100
    ctl.step()
    host.receive_data(hal.uart.tx)
    assert host.next_event() == (wire.EV_FRAME, wire.T_EVT, 0, bytes((c.EVT_TAMPER, 1)))


def test_firmware_under_micropython(controller_rig):
    rig = controller_rig(paced=False)
    ctl = rig.driver
    assert ctl.connect() == {"model": c.MODEL, "serial": "SIM-0001", "version": c.FIRMWARE_VERSION}
    assert ctl.set_leds(0xFF, 0x21) == 0x21
    ctl.indicate("ok", True)
    ctl.beep(50)
    ctl.sim_input(c.SENSOR_PRESENCE, 1)
    deadline = time.monotonic() + 5
    while not ctl.presence and time.monotonic() < deadline:
        ctl.status()  # pumps the link; the EVT arrives on its own
        ctl.poll_events()
    assert ctl.presence is True
    status = ctl.status()
    assert status["leds"] == 0x31 and status["watchdog_feeds"] > 0
    size = 100_000
    data = ctl.test_object(size, 3)
    assert data == c.pattern_read(c.pattern_base(3), 0, size)
