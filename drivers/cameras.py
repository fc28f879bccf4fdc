"""Iris camera, face camera and signature pad: Anjungan USB-serial bridges that speak the
shared wire codec (firmware/WIRE.md) with this small command set.

    REQ IDENTIFY (0x01)              -> RSP status, "model\\nserial\\nversion"
    REQ CAPTURE  (0x10) position u8  -> RSP status; on OK an OFFER follows whose meta is
                                        width u16 | height u16 | format (ASCII, IMAGE_FORMATS)
    REQ PREVIEW  (0x11)              -> face camera only: RSP status; on OK an OFFER of one small
                                        live frame, meta as above, format "raw8" (at most
                                        320 px a side; 96 x 128 from the simulator)
    status: 0 ok, 5 no subject (nobody in front / pen not used), 2 unknown command

Positions: face 0; iris 0 right, 1 left; signature 0.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from anjungan.packet.model import IMAGE_FORMATS, Modality
from drivers import imaging
from drivers.errors import CaptureError, LinkProtocolError, PeripheralError
from drivers.linkclient import LinkClient
from drivers.peripherals import Capture, FacePreview
from drivers.transport import SerialTransport

CMD_IDENTIFY = 0x01
CMD_CAPTURE = 0x10
CMD_PREVIEW = 0x11
ST_OK = 0
ST_UNKNOWN = 2
ST_NO_SUBJECT = 5
IRIS_POSITIONS = ("right_iris", "left_iris")


def pack_meta(width: int, height: int, image_format: str) -> bytes:
    return struct.pack("<HH", width, height) + image_format.encode()


def unpack_meta(meta: bytes, formats: tuple[str, ...] = IMAGE_FORMATS) -> tuple[int, int, str]:
    if len(meta) < 5:
        raise LinkProtocolError("image metadata too short")
    width, height = struct.unpack_from("<HH", meta)
    fmt = meta[4:].decode("ascii", "replace")
    if fmt not in formats:
        raise LinkProtocolError(f"unknown image format {fmt[:16]!r}")
    return width, height, fmt


class WireCaptureDriver:
    """What every wire-codec capture device shares: IDENTIFY, a request answered by an
    OFFER, the transfer's budget, health. Subclasses say which formats they take."""

    formats: tuple[str, ...] = IMAGE_FORMATS

    def __init__(self, transport: SerialTransport, *, timeout_s: float = 5.0) -> None:
        self.client = LinkClient(transport, timeout_s=timeout_s)
        self.device = transport.device
        self.identity: dict[str, str] = {}
        self.last_fetch_s = (0.0, 0.0)

    def connect(self) -> dict[str, str]:
        self.client.connect()
        status, data = self.client.request(CMD_IDENTIFY)
        parts = data.decode("utf-8", "replace").split("\n")
        if status != ST_OK or len(parts) != 3:
            raise LinkProtocolError("malformed IDENTIFY answer", device=self.device)
        self.identity = dict(zip(("model", "serial", "version"), parts, strict=True))
        return self.identity

    def _fetch(self, cmd: int, args: bytes, what: str, *, timeout_s: float) -> tuple[bytes, tuple[int, int, str]]:
        """Ask for an image, then take the OFFER that follows: (bytes, (width, height, format))."""
        asked = time.monotonic()
        status, data = self.client.request(cmd, args, timeout_s=timeout_s)
        if status == ST_NO_SUBJECT:
            raise CaptureError(f"nothing to {what}", device=self.device)
        if status != ST_OK:
            self.refused(what, status, data)
        return self._take_offer(asked)

    def _take_offer(self, asked: float) -> tuple[bytes, tuple[int, int, str]]:
        """The OFFER after an OK answer, fetched; `last_fetch_s` = (until the answer: the
        device's own time, e.g. its sensor's read-out; the object on the line)."""
        answered = time.monotonic()
        image, meta = self.client.receive_object(timeout_s=self._transfer_budget())
        self.last_fetch_s = (answered - asked, time.monotonic() - answered)
        return image, unpack_meta(meta, self.formats)

    def refused(self, what: str, status: int, data: bytes) -> None:
        raise PeripheralError(f"{what} refused (status {status})", device=self.device)

    def _transfer_budget(self) -> float:
        # a 1 MiB object at the line rate, doubled, plus slack
        return 2 * (1 << 20) * 10 / self.client.transport.baud + 10

    def health(self) -> dict[str, Any]:
        return {"version": self.identity.get("version", ""), **self.client.health()}

    def close(self) -> None:
        self.client.close()


class CameraDriver(WireCaptureDriver):
    """One driver for the three wire-codec capture devices."""

    def __init__(self, transport: SerialTransport, modality: Modality, *,
                 timeout_s: float = 5.0) -> None:
        super().__init__(transport, timeout_s=timeout_s)
        self.modality = Modality(modality)

    def capture(self, position: str) -> Capture:
        index = IRIS_POSITIONS.index(position) if self.modality is Modality.IRIS else 0
        t0 = time.monotonic()
        image, (width, height, fmt) = self._fetch(CMD_CAPTURE, bytes((index,)), "capture", timeout_s=15.0)
        quality = 100
        if fmt == "png":
            try:
                w, h, px = imaging.png_decode_gray(image)
            except imaging.ImageError as exc:
                raise LinkProtocolError(
                    f"image does not decode: {exc}", device=self.device
                ) from exc
            quality = imaging.estimate_quality(px, w, h)
        return Capture(modality=self.modality, position=position, image=image, quality=quality,
                       image_format=fmt, width=width, height=height, device=self.device,
                       transfer_s=time.monotonic() - t0)

    def preview(self) -> FacePreview:
        """One live frame from the face camera, scored here from its pixels."""
        if self.modality is not Modality.FACE:
            raise PeripheralError("only the face camera has a live preview", device=self.device)
        pixels, (width, height, fmt) = self._fetch(CMD_PREVIEW, b"", "preview", timeout_s=5.0)
        if fmt != "raw8":
            raise LinkProtocolError(f"a preview frame must be raw8, not {fmt}", device=self.device)
        try:
            return FacePreview.scored(pixels, width, height)
        except imaging.ImageError as exc:
            raise LinkProtocolError(f"preview frame unusable: {exc}", device=self.device) from exc
