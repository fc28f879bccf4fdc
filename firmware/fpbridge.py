"""The fingerprint bridge's application: on the sensor's board, the R30x module on one UART
(a few centimetres of clean TTL), the wire codec to the Pi on the other (the long cable).

Commands (firmware/WIRE.md, "The fingerprint bridge's commands"): IDENTIFY, CAPTURE (GenImg
until a finger or FINGER_WAIT_MS, UpImage, then a BULK_OFFER of the module's raw4 image),
MODULE (one single-acknowledge R30x instruction forwarded). A module request runs as a
generator, one at a time, advanced by `step()`, so the wire link keeps acknowledging and
ticking while the module reads out an image. A damaged upload pass is asked again (the
module resends its ImageBuffer) up to UPLOAD_PASSES times; a command up to TRIES times.

The HAL gives `uart` (the cable) and `module` (the module's UART); `hal_unix` takes both as
paths; the board's HAL for the bridge (UART1 to the module) is not written yet.
"""

import struct

try:
    from firmware import app, bulk, r30xpkt
    from firmware.app import RX_CHUNK, LinkDevice
    from firmware.commands import CMD_IDENTIFY, ST_BAD_REQUEST, ST_BUSY, ST_OK, ST_UNKNOWN_COMMAND
except ImportError:
    import app  # type: ignore
    import bulk  # type: ignore
    import r30xpkt  # type: ignore
    from app import RX_CHUNK, LinkDevice  # type: ignore
    from commands import (  # type: ignore
        CMD_IDENTIFY,
        ST_BAD_REQUEST,
        ST_BUSY,
        ST_OK,
        ST_UNKNOWN_COMMAND,
    )

FIRMWARE_VERSION = "1.0.0"
MODEL = "anjungan-fpbridge-rp2040"
MODEL_WORD = "fpbridge"  # in every bridge's IDENTIFY model: how `peripherals pair` knows one
CMD_CAPTURE = 0x10  # position u8 (as the cameras' CAPTURE)
CMD_MODULE = 0x12  # R30x instruction u8 | its parameters
ST_NO_SUBJECT = 5
ST_MODULE_FAULT = 6  # results: the module's confirmation code u8, or a reason in ASCII
WIRE_FORMAT = "raw4"  # the module's own upload: two 4-bit pixels a byte, high nibble first
FINGER_POSITIONS = 10
FINGER_W = 256
FINGER_H = 288
IMAGE_BYTES = FINGER_W * FINGER_H // 2
FINGER_WAIT_MS = 2000  # GenImg is polled this long before "no finger"; the host asks again
DATA_PHASE = (0x08, 0x09, 0x0A, 0x0B)  # UpChar, DownChar, UpImage, DownImage: not forwarded

# the module's instructions and answers (R30x manual)
GENIMG = 0x01
UPIMAGE = 0x0A
READSYSPARA = 0x0F
VFYPWD = 0x13
OK = 0x00
RECEIVE_ERROR = 0x01
NO_FINGER = 0x02
PACKET_SIZES = (32, 64, 128, 256)
COMMAND_MS = 300  # an answer at once
GENIMG_MS = 1000  # image acquiring time < 1.0 s
QUIET_MS = 40  # the line silent this long: an answer is over
TRIES = 4
UPLOAD_PASSES = 3
POLL_MS = 50


class Bridge(LinkDevice):
    def __init__(self, hal, window=4, rto_ms=400):
        LinkDevice.__init__(self, hal, window, rto_ms)
        self.parser = r30xpkt.Parser()
        self._job = None  # the module request under way (a generator)
        self._obj = 0
        self.image = b""
        self.packet_size = 128
        self.module_version = ""
        self.ready = False

    def handle_request(self, payload):
        if not payload:
            return
        cmd, args = payload[0], bytes(payload[1:])
        if cmd not in (CMD_IDENTIFY, CMD_CAPTURE, CMD_MODULE):
            self._reply(cmd, ST_UNKNOWN_COMMAND)
        elif self._job is not None:
            self._reply(cmd, ST_BUSY)
        else:
            self._job = self._serve(cmd, args)

    # --- the module's side: generators, advanced once a step ------------------------------

    def _since(self, start):
        return self.hal.ticks_diff(self.hal.ticks_ms(), start)

    def _packets(self):
        data = self.hal.module.read(RX_CHUNK)
        return self.parser.feed(data) if data else []

    def _quiet(self):
        """Until the module's line has been silent for QUIET_MS (the rest of a damaged
        answer is not taken for the next one)."""
        last = self.hal.ticks_ms()
        while self._since(last) < QUIET_MS:
            if self.hal.module.read(RX_CHUNK):
                last = self.hal.ticks_ms()
            yield

    def _ack(self, code, params, wait_ms):
        """Send an instruction; its acknowledge's payload (confirmation first), or None."""
        for attempt in range(TRIES):
            if attempt:
                yield from self._quiet()
            self.parser.clear()
            self.hal.module.write(r30xpkt.command(code, params))
            start = self.hal.ticks_ms()
            garbled = False
            while not garbled and self._since(start) < wait_ms:
                for pid, payload, _address in self._packets():
                    if pid == r30xpkt.PID_ACK and payload and payload[0] != RECEIVE_ERROR:
                        return payload
                    garbled = True
                yield
        return None

    def _connect(self):
        ack = yield from self._ack(VFYPWD, b"\x00\x00\x00\x00", COMMAND_MS)
        if ack is None or ack[0] != OK:
            return
        ack = yield from self._ack(READSYSPARA, b"", COMMAND_MS)
        if ack is None or ack[0] != OK or len(ack) < 17:
            return
        _st, sys_id, lib, level, _addr, size_code, baud_n = struct.unpack(">HHHHIHH", ack[1:17])
        self.packet_size = PACKET_SIZES[size_code & 3]
        self.module_version = " ".join(("R30x sys", hex(sys_id), "lib", str(lib), "level", str(level),
                                        str(baud_n * 9600), "bd"))
        self.ready = True

    def _serve(self, cmd, args):
        if not self.ready:
            yield from self._connect()
        if cmd == CMD_IDENTIFY:
            module = self.module_version if self.ready else "no module"
            text = "\n".join((MODEL, self.hal.unique_id(), FIRMWARE_VERSION + " " + module))
            self._reply(cmd, ST_OK, text.encode())
        elif not self.ready:
            self._reply(cmd, ST_MODULE_FAULT, b"module not answering")
        elif cmd == CMD_CAPTURE:
            if len(args) != 1 or args[0] >= FINGER_POSITIONS:
                self._reply(cmd, ST_BAD_REQUEST)
            else:
                yield from self._capture(cmd)
        elif not args or args[0] in DATA_PHASE:
            self._reply(cmd, ST_BAD_REQUEST)
        else:
            ack = yield from self._ack(args[0], args[1:], GENIMG_MS)
            if ack is None:
                self.ready = False  # VfyPwd and ReadSysPara again next time
                self._reply(cmd, ST_MODULE_FAULT, b"no clean acknowledge from the module")
            else:
                self._reply(cmd, ST_OK, ack)

    def _capture(self, cmd):
        start = self.hal.ticks_ms()
        while True:  # GenImg until a finger is on the glass
            ack = yield from self._ack(GENIMG, b"", GENIMG_MS)
            if ack is None:
                self.ready = False
                self._reply(cmd, ST_MODULE_FAULT, b"no clean acknowledge to GenImg")
                return
            if ack[0] == OK:
                break
            if ack[0] != NO_FINGER:
                self._reply(cmd, ST_MODULE_FAULT, bytes((ack[0],)))
                return
            if self._since(start) > FINGER_WAIT_MS:
                self._reply(cmd, ST_NO_SUBJECT)
                return
            polled = self.hal.ticks_ms()
            while self._since(polled) < POLL_MS:
                yield
        for _ in range(UPLOAD_PASSES):
            image = yield from self._upload()
            if image is not None:
                self.sender.forget()  # a new image replaces an abandoned transfer
                self.image = image
                self._obj = (self._obj + 1) & 0xFFFF
                crc = bulk.object_crc(self._read, len(image))
                meta = struct.pack("<HH", FINGER_W, FINGER_H) + WIRE_FORMAT.encode()
                self._reply(cmd, ST_OK)
                self._offer = (self._obj, len(image), crc, self._read, meta)
                return
        self._reply(cmd, ST_MODULE_FAULT, b"image upload failed on the local link")

    def _upload(self):
        """One UpImage pass: the image if every packet arrived clean and in order, else None."""
        yield from self._quiet()
        self.parser.clear()
        bad = self.parser.bad_checksums
        self.hal.module.write(r30xpkt.command(UPIMAGE))
        image = bytearray()
        acked = False
        last = self.hal.ticks_ms()
        while self._since(last) < (GENIMG_MS if not acked else 10 * QUIET_MS):
            packets = self._packets()
            if self.parser.bad_checksums != bad:
                return None
            if packets:
                last = self.hal.ticks_ms()
            for pid, payload, _address in packets:
                if not acked:
                    if pid != r30xpkt.PID_ACK or not payload or payload[0] != OK:
                        return None
                    acked = True
                elif pid in (r30xpkt.PID_DATA, r30xpkt.PID_END) and len(payload) == self.packet_size:
                    image += payload
                    if pid == r30xpkt.PID_END:
                        return bytes(image) if len(image) == IMAGE_BYTES else None
                else:
                    return None
            yield
        return None

    def _read(self, offset, n):
        return self.image[offset : offset + n]

    def work(self, now):
        """Advance the module request under way, if any."""
        job = self._job
        if job is None:
            return False
        try:
            next(job)
        except StopIteration:
            self._job = None
        return True


def run(hal):
    app.run(hal, Bridge)
