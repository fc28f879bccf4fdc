"""The controller application: commands over the wire link, sensor events, watchdog.

`Controller.step()` does one pass of the main loop; `run(hal)` loops forever. The HAL
(`hal_rp2` on the board, `hal_unix` under the unix port) is the only thing that touches
hardware, so this file runs unchanged in both places.
"""

import struct

try:
    from firmware import bulk, commands, wire
    from firmware.commands import (
        CMD_BEEP,
        CMD_IDENTIFY,
        CMD_SET_LEDS,
        CMD_SIM_INPUT,
        CMD_STATUS,
        CMD_TEST_OBJECT,
        EVT_PRESENCE,
        EVT_TAMPER,
        ST_BAD_REQUEST,
        ST_OK,
        ST_UNKNOWN_COMMAND,
        ST_UNSUPPORTED,
    )
except ImportError:
    import bulk  # type: ignore
    import commands  # type: ignore
    import wire  # type: ignore
    from commands import (  # type: ignore
        CMD_BEEP,
        CMD_IDENTIFY,
        CMD_SET_LEDS,
        CMD_SIM_INPUT,
        CMD_STATUS,
        CMD_TEST_OBJECT,
        EVT_PRESENCE,
        EVT_TAMPER,
        ST_BAD_REQUEST,
        ST_OK,
        ST_UNKNOWN_COMMAND,
        ST_UNSUPPORTED,
    )

SENSOR_POLL_MS = 20
RX_CHUNK = 2048
MIN_RTO_MS = 50  # the retransmit timeout adapts to the round trip, not below this


class LinkDevice:
    """What every firmware on the wire link shares (the controller, the fingerprint bridge):
    the link and the bulk sender on `hal.uart`, replies queued for window room, one OFFER
    after its reply, and `step()`, one pass of the main loop. Subclasses implement
    `handle_request(payload)` and may do their own work each pass in `work(now)`."""

    def __init__(self, hal, window=4, rto_ms=400):
        self.hal = hal
        self.link = wire.Link(window=window, rto_ms=rto_ms, max_retries=20, min_rto_ms=MIN_RTO_MS,
                              baud=getattr(hal, "baud", 0))
        self.sender = bulk.BulkSender(self.link)
        self._pending = []  # reliable frames waiting for window room: [(type, payload)]
        self._offer = None  # (obj, size, crc, read, meta) to OFFER once the reply is out

    def _queue(self, ftype, payload):
        self._pending.append((ftype, payload))

    def _reply(self, cmd, status, data=b""):
        self._queue(wire.T_RSP, bytes((cmd, status)) + data)

    def handle_request(self, payload):
        raise NotImplementedError

    def work(self, now):
        """This device's own work in a pass of the loop; True while it has more to do."""
        return False

    def _handle_event(self, ev):
        kind = ev[0]
        if kind == wire.EV_FRAME:
            ftype, payload = ev[1], ev[3]
            if ftype == wire.T_REQ:
                self.handle_request(payload)
            elif ftype == wire.T_BULK_FETCH:
                try:
                    self.sender.on_fetch(payload)
                except bulk.BulkError:
                    pass
        elif kind == wire.EV_PEER_RESET:
            self._pending = []  # the host restarted the link; the object stays for resume
            self.sender.pause()

    def step(self):
        hal, link = self.hal, self.link
        now = hal.ticks_ms()
        data = hal.uart.read(RX_CHUNK)
        if data:
            link.receive_data(data)
        link.tick(now)
        ev = link.next_event()
        while ev is not None:
            self._handle_event(ev)
            ev = link.next_event()
        busy = self.work(now)
        while self._pending and link.can_send():
            ftype, payload = self._pending.pop(0)
            link.send(ftype, payload)
        offer = self._offer
        if offer is not None and not self._pending and link.can_send():
            self.sender.offer(offer[0], offer[1], offer[2], offer[3], offer[4])
            self._offer = None
        if not self._pending:
            self.sender.pump()
        out = link.data_to_send()
        if out:
            hal.uart.write(out)
        hal.feed_watchdog()
        return bool(data or out or busy)


class Controller(LinkDevice):
    def __init__(self, hal, window=4, rto_ms=400):
        LinkDevice.__init__(self, hal, window, rto_ms)
        self.started = hal.ticks_ms()
        self._last_poll = self.started
        self._inputs = (hal.presence(), hal.tamper())
        self._pattern = b""

    def handle_request(self, payload):
        if not payload:
            return
        cmd, args = payload[0], payload[1:]
        hal = self.hal
        if cmd == CMD_IDENTIFY:
            text = "\n".join((commands.MODEL, hal.unique_id(), commands.FIRMWARE_VERSION))
            self._reply(cmd, ST_OK, text.encode())
        elif cmd == CMD_STATUS:
            errors = self.link.decode_errors
            rx_errors = errors["crc"] + errors["cobs"] + errors["short"] + errors["too_long"]
            uptime = hal.ticks_diff(hal.ticks_ms(), self.started) & 0xFFFFFFFF
            self._reply(cmd, ST_OK, struct.pack(commands.STATUS_FORMAT, hal.presence(),
                        hal.tamper(), hal.leds, uptime, hal.watchdog_feeds & 0xFFFFFFFF,
                        rx_errors & 0xFFFF, hal.free_mem() & 0xFFFFFFFF))
        elif cmd == CMD_SET_LEDS and len(args) == 2:
            hal.set_leds((hal.leds & ~args[0]) | (args[1] & args[0]))
            self._reply(cmd, ST_OK, bytes((hal.leds,)))
        elif cmd == CMD_BEEP and len(args) == 2:
            hal.beep(args[0] | (args[1] << 8))
            self._reply(cmd, ST_OK)
        elif cmd == CMD_TEST_OBJECT and len(args) == 8:
            size, seed = struct.unpack("<II", args)
            if size > bulk.MAX_OBJECT:
                self._reply(cmd, ST_BAD_REQUEST)
                return
            self.sender.forget()  # a new request replaces an abandoned transfer
            self._pattern = commands.pattern_base(seed)
            read = self._read_pattern
            crc = bulk.object_crc(read, size)
            self._reply(cmd, ST_OK)
            self._offer = (seed & 0xFFFF, size, crc, read, b"")
        elif cmd == CMD_SIM_INPUT and len(args) == 2:
            if not hal.SIMULATED:
                self._reply(cmd, ST_UNSUPPORTED)
                return
            hal.sim_input(args[0], args[1])
            self._reply(cmd, ST_OK)
        elif cmd in (CMD_SET_LEDS, CMD_BEEP, CMD_TEST_OBJECT, CMD_SIM_INPUT):
            self._reply(cmd, ST_BAD_REQUEST)
        else:
            self._reply(cmd, ST_UNKNOWN_COMMAND)

    def _read_pattern(self, offset, n):
        return commands.pattern_read(self._pattern, offset, n)

    def _poll_sensors(self, now):
        if self.hal.ticks_diff(now, self._last_poll) < SENSOR_POLL_MS:
            return
        self._last_poll = now
        inputs = (self.hal.presence(), self.hal.tamper())
        if inputs[0] != self._inputs[0]:
            self._queue(wire.T_EVT, bytes((EVT_PRESENCE, inputs[0])))
        if inputs[1] != self._inputs[1]:
            self._queue(wire.T_EVT, bytes((EVT_TAMPER, inputs[1])))
        self._inputs = inputs

    def work(self, now):
        self._poll_sensors(now)
        return False


def run(hal, make=None):
    """The main loop: the controller, or the device `make(hal)` builds (the bridge's)."""
    device = Controller(hal) if make is None else make(hal)
    while True:
        if not device.step():
            hal.idle(2)
