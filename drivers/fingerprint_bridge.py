"""The fingerprint sensor behind its bridge: a small microcontroller on the sensor's own
board runs the R30x protocol over a few centimetres of clean TTL UART and speaks the shared
wire codec (firmware/WIRE.md) over the long kiosk cable, as the cameras' bridges do. The
R30x's 16-bit packet sum and its whole-image re-uploads never cross the noisy cable: each
image does so once, in CRC-checked frames with selective repeat.

    REQ IDENTIFY (0x01)              -> RSP ok, "model\\nserial\\nversion" (model names
                                        "fpbridge"; version: the bridge's, then the module's)
    REQ CAPTURE  (0x10) position u8  -> RSP status; on OK an OFFER whose meta is
                                        width u16 | height u16 | "raw4" (cameras.pack_meta)
    REQ MODULE   (0x12) instruction u8 | params
                                     -> RSP ok, confirmation u8 | data: one instruction of
                                        the module answered by a single acknowledge
                                        (AuraLedConfig, Match, TemplateNum, ...), forwarded
                                        as the R30x manual says; ones with data packets
                                        (UpImage, UpChar, DownChar, DownImage) get status 1
    status: 0 ok, 1 bad request, 2 unknown command, 3 busy (a request under way), 5 no
            finger within FINGER_WAIT_S (the host asks again), 6 module fault: data = the
            module's confirmation code (one byte) or a reason (ASCII)

The bridge's firmware is `firmware/fpbridge.py` (the codes above are defined there, once);
the simulator runs it under `micropython` (drivers/simulators/fpbridge_sim.py).

Position: the index in FINGER_POSITIONS (informative: the module has one glass).

"raw4" is the module's own upload, two 4-bit pixels a byte, high nibble first: half the
bytes of raw8 on the cable (the bottleneck) and no precision the sensor does not have; the
driver widens it to raw8, as the direct R30x driver does, and scores it from the pixels.
"""

from __future__ import annotations

import time
from typing import Any

from anjungan.packet.model import FINGER_POSITIONS, Modality
from drivers import imaging
from drivers.cameras import CMD_CAPTURE, ST_NO_SUBJECT, ST_OK, WireCaptureDriver
from drivers.errors import CaptureError, LinkProtocolError, PeripheralError
from drivers.peripherals import Capture, check_finger
from drivers.r30x_codec import CONFIRMATIONS
from drivers.transport import SerialTransport
from firmware.commands import ST_BAD_REQUEST
from firmware.fpbridge import (
    CMD_MODULE,
    DATA_PHASE,
    FINGER_WAIT_MS,
    MODEL_WORD,
    ST_MODULE_FAULT,
    WIRE_FORMAT,
)

FINGER_WAIT_S = FINGER_WAIT_MS / 1000  # the bridge polls GenImg this long, then "no finger"
MAX_SIDE = 512  # an R30x image is 256 x 288; anything past this is not one
MAX_IMAGE_BYTES = MAX_SIDE * MAX_SIDE // 2
__all__ = ["CMD_MODULE", "DATA_PHASE", "MODEL_WORD", "ST_BAD_REQUEST", "ST_MODULE_FAULT",
           "WIRE_FORMAT", "BridgedFingerprint"]


def reason(data: bytes) -> str:
    """A device's reason text, safe to show: printable ASCII, at most 80 characters."""
    text = "".join(c if " " <= c <= "~" else "?" for c in data[:80].decode("ascii", "replace"))
    return text or "no reason given"


def check_image(packed: bytes, width: int, height: int) -> None:
    """An OFFER's image must be what its meta says: raw4, even width, sides in range."""
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width % 2:
        raise LinkProtocolError(f"bridge offered a {width} x {height} image; a fingerprint is "
                                f"at most {MAX_SIDE} px a side, an even width", device="fingerprint")
    if len(packed) != width * height // 2:
        raise LinkProtocolError(f"bridge offered {width} x {height} raw4 ({width * height // 2} B) "
                                f"but sent {len(packed)} B", device="fingerprint")


class BridgedFingerprint(WireCaptureDriver):
    """The fingerprint through its bridge: the same `capture(position) -> Capture` as the
    direct `R30xDriver`, quality scored here from the pixels."""

    formats = (WIRE_FORMAT,)

    def __init__(self, transport: SerialTransport, *, timeout_s: float = 5.0,
                 finger_wait_s: float = 10.0) -> None:
        super().__init__(transport, timeout_s=timeout_s)
        self.finger_wait_s = finger_wait_s

    def connect(self) -> dict[str, str]:
        identity = super().connect()
        if MODEL_WORD not in identity["model"]:
            raise LinkProtocolError(f"not a fingerprint bridge: {reason(identity['model'].encode())}",
                                    device=self.device)
        return identity

    def capture(self, position: str) -> Capture:
        check_finger(position)
        t0 = time.monotonic()
        deadline = t0 + self.finger_wait_s
        # the bridge answers after GenImg and the module's local upload: seconds, not a frame
        answer_s = FINGER_WAIT_S + 10.0 + self.client.timeout_s
        while True:
            asked = time.monotonic()
            status, data = self.client.request(
                CMD_CAPTURE, bytes((FINGER_POSITIONS.index(position),)), timeout_s=answer_s)
            if status == ST_OK:
                break
            if status == ST_NO_SUBJECT:
                if time.monotonic() > deadline:
                    raise CaptureError("no finger on the sensor", device=self.device)
                continue
            self.refused("capture", status, data)
        packed, (width, height, _fmt) = self._take_offer(asked)
        check_image(packed, width, height)
        pixels = imaging.unpack_nibbles(packed)
        return Capture(modality=Modality.FINGER, position=position, image=pixels,
                       image_format="raw8", quality=imaging.estimate_quality(pixels, width, height),
                       width=width, height=height, device=self.device,
                       transfer_s=time.monotonic() - t0)

    def module_command(self, instruction: int, params: bytes = b"") -> tuple[int, bytes]:
        """One R30x instruction forwarded by the bridge -> (confirmation code, data)."""
        status, data = self.client.request(CMD_MODULE, bytes((instruction,)) + params)
        if status != ST_OK:
            self.refused(f"module instruction 0x{instruction:02x}", status, data)
        if not data:
            raise LinkProtocolError("module answer without a confirmation code", device=self.device)
        return data[0], data[1:]

    def refused(self, what: str, status: int, data: bytes) -> None:
        if status == ST_MODULE_FAULT:
            text = (CONFIRMATIONS.get(data[0], f"confirmation code 0x{data[0]:02x}")
                    if len(data) == 1 else reason(data))
            raise CaptureError(f"module: {text}", device=self.device)
        raise PeripheralError(f"{what} refused (status {status})", device=self.device)

    def _transfer_budget(self) -> float:
        # the largest image we take, twice at the line rate, plus slack
        return 2 * MAX_IMAGE_BYTES * 10 / self.client.transport.baud + 10

    def health(self) -> dict[str, Any]:
        return {**super().health(), "link": "bridge"}
