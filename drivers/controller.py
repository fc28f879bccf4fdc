"""Driver for the peripheral controller (RP2040 firmware) over the shared wire codec."""

from __future__ import annotations

import struct
from typing import Any

from drivers.errors import LinkProtocolError, PeripheralError
from drivers.linkclient import LinkClient
from drivers.transport import SerialTransport
from firmware import commands as c


class ControllerDriver:
    def __init__(self, transport: SerialTransport, *, timeout_s: float = 5.0) -> None:
        self.client = LinkClient(transport, timeout_s=timeout_s)
        self.identity: dict[str, str] = {}
        self.presence = False
        self.tamper = False

    def connect(self) -> dict[str, str]:
        self.client.connect()
        return self.identify()

    def _call(self, cmd: int, args: bytes = b"") -> bytes:
        status, data = self.client.request(cmd, args)
        if status != c.ST_OK:
            raise PeripheralError(f"command 0x{cmd:02x} refused (status {status})",
                                  device="controller")
        return data

    def identify(self) -> dict[str, str]:
        parts = self._call(c.CMD_IDENTIFY).decode("utf-8", "replace").split("\n")
        if len(parts) != 3:
            raise LinkProtocolError("malformed IDENTIFY answer", device="controller")
        self.identity = dict(zip(("model", "serial", "version"), parts, strict=True))
        return self.identity

    def status(self) -> dict[str, Any]:
        data = self._call(c.CMD_STATUS)
        if len(data) != struct.calcsize(c.STATUS_FORMAT):
            raise LinkProtocolError("malformed STATUS answer", device="controller")
        presence, tamper, leds, uptime, feeds, rx_err, free = struct.unpack(c.STATUS_FORMAT, data)
        self.presence, self.tamper = bool(presence), bool(tamper)
        return {"presence": self.presence, "tamper": self.tamper, "leds": leds,
                "uptime_ms": uptime, "watchdog_feeds": feeds, "rx_errors": rx_err,
                "free_mem": free}

    def set_leds(self, mask: int, value: int) -> int:
        return self._call(c.CMD_SET_LEDS, bytes((mask & 0xFF, value & 0xFF)))[0]

    def indicate(self, led: str, on: bool) -> None:
        if led not in c.LED_NAMES:
            raise ValueError(f"unknown LED {led!r}; one of {', '.join(c.LED_NAMES)}")
        bit = 1 << c.LED_NAMES.index(led)
        self.set_leds(bit, bit if on else 0)

    def beep(self, ms: int) -> None:
        self._call(c.CMD_BEEP, struct.pack("<H", max(0, min(ms, 5000))))

    def sim_input(self, sensor: int, value: int) -> None:
        self._call(c.CMD_SIM_INPUT, bytes((sensor, value)))

    def poll_events(self) -> list[tuple[int, int]]:
        events, self.client.events = self.client.events, []
        for event, value in events:
            if event == c.EVT_PRESENCE:
                self.presence = bool(value)
            elif event == c.EVT_TAMPER:
                self.tamper = bool(value)
        return events

    def test_object(self, size: int, seed: int, *, timeout_s: float = 60.0) -> bytes:
        """Ask for a deterministic test object over bulk (bench and fault tests)."""
        self._call(c.CMD_TEST_OBJECT, struct.pack("<II", size, seed))
        data, _meta = self.client.receive_object(timeout_s=timeout_s)
        return data

    def health(self) -> dict[str, Any]:
        self.poll_events()  # the tamper switch and presence sensor report by events
        return {"version": self.identity.get("version", ""), "tamper": self.tamper,
                **self.client.health()}

    def close(self) -> None:
        self.client.close()
