"""ISO/IEC 19794 biometric data records, as the sealed body carries them.

One record per `BiometricRecord` image: the kiosk wraps each compressed image in the
interchange format SIAK's matchers read. Pure byte layout (struct only); the images inside
are JPEG 2000 (JP2 file format), compressed by the kiosk's drivers (`drivers/records.py`).
All integers big-endian. Layouts are the 2005 editions, "010\\0" (the byte layouts in
`anjungan/packet/README.md`, section "Biometric records").

- 19794-4:2005 finger image: 32-byte general header, then per finger a 14-byte finger
  image header and the image.
- 19794-5:2005 face image: 14-byte general header, then per face a 20-byte facial
  information block, a 12-byte image information block (no feature points) and the image.
- 19794-6:2005 iris image (rectilinear): 45-byte general header, then per eye a 3-byte
  subtype header, and per image an 11-byte image header and the image.
"""

from __future__ import annotations

import struct

VERSION = b"010\x00"
FINGER_FORMAT_ID, FACE_FORMAT_ID, IRIS_FORMAT_ID = b"FIR\x00", b"FAC\x00", b"IIR\x00"

# Capture device ids (vendor-assigned in the standard; 0 means not reported): our devices.
DEVICE_FINGERPRINT, DEVICE_IRIS, DEVICE_FACE = 0x0301, 0x0302, 0x0303

# 19794-4 image compression algorithm codes, impression types, finger positions.
FINGER_COMPRESSION_JPEG2000 = 4
IMPRESSION_LIVE_SCAN_PLAIN = 0
FINGER_POSITION_CODES = {
    "right_thumb": 1, "right_index": 2, "right_middle": 3, "right_ring": 4, "right_little": 5,
    "left_thumb": 6, "left_index": 7, "left_middle": 8, "left_ring": 9, "left_little": 10,
}
SCALE_PPI = 1
FINGER_ACQUISITION_LEVEL = 31  # 500 ppi, 256 grey levels (19794-4 Table 1 setting level 31)

# 19794-6 image format (monochrome JPEG 2000), subtypes, transformation.
IRIS_IMAGE_FORMAT_MONO_JPEG2000 = 0x000E
IRIS_SUBTYPES = {"right_iris": 1, "left_iris": 2}
IRIS_HEADER_LENGTH = 45

# 19794-5 face image type, image data type, colour space, source type.
FACE_TYPE_FULL_FRONTAL = 1
FACE_DATA_JPEG2000 = 1
FACE_COLOUR_GREY8 = 3
FACE_SOURCE_DIGITAL_STILL = 2


class RecordLayoutError(ValueError):
    """Values that do not fit the record's fields."""


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise RecordLayoutError(what)


def finger_record(*, image: bytes, position: str, width: int, height: int, quality: int,
                  ppi: int = 500, device: int = DEVICE_FINGERPRINT) -> bytes:
    """A 19794-4:2005 finger image record holding one view of one finger (JPEG 2000)."""
    _check(position in FINGER_POSITION_CODES, f"not a finger position: {position!r}")
    _check(0 <= quality <= 100 and 0 < width < 65536 and 0 < height < 65536, "field range")
    view = struct.pack(">IBBBBBHHB", 14 + len(image), FINGER_POSITION_CODES[position], 1, 1,
                       quality, IMPRESSION_LIVE_SCAN_PLAIN, width, height, 0) + image
    length = 32 + len(view)
    header = (FINGER_FORMAT_ID + VERSION + length.to_bytes(6, "big")
              + struct.pack(">HHBBHHHHBBH", device, FINGER_ACQUISITION_LEVEL, 1, SCALE_PPI,
                            ppi, ppi, ppi, ppi, 8, FINGER_COMPRESSION_JPEG2000, 0))
    return header + view


def iris_record(*, image: bytes, position: str, width: int, height: int, quality: int,
                iris_diameter: int = 240, device: int = DEVICE_IRIS) -> bytes:
    """A 19794-6:2005 rectilinear iris image record holding one image of one eye."""
    _check(position in IRIS_SUBTYPES, f"not an iris position: {position!r}")
    _check(0 <= quality <= 100 and 0 < width < 65536 and 0 < height < 65536, "field range")
    image_part = struct.pack(">HBHHI", 1, quality, 0xFFFF, 0xFFFF, len(image)) + image
    subtype = struct.pack(">BH", IRIS_SUBTYPES[position], 1) + image_part
    length = IRIS_HEADER_LENGTH + len(subtype)
    # property bits: horizontal and vertical orientation "base" (1 each), no scan, no
    # occlusion; intensity depth 8; transformation 0 (standard); device unique id unset.
    props = 0b0000_0000_0000_0101
    header = (IRIS_FORMAT_ID + VERSION
              + struct.pack(">IHBHHHHHHBB", length, device, 1, IRIS_HEADER_LENGTH, props,
                            iris_diameter, IRIS_IMAGE_FORMAT_MONO_JPEG2000, width, height, 8, 0)
              + bytes(16))
    return header + subtype


def face_record(*, image: bytes, width: int, height: int, quality: int,
                device: int = DEVICE_FACE) -> bytes:
    """A 19794-5:2005 face image record holding one full-frontal greyscale image."""
    _check(0 <= quality <= 100 and 0 < width < 65536 and 0 < height < 65536, "field range")
    # facial information: length, 0 feature points, gender/eye/hair unspecified, no feature
    # mask, neutral expression unspecified (0), pose angles and uncertainties unspecified.
    info = struct.pack(">IHBBB3sH3s3s", 20 + 12 + len(image), 0, 0, 0, 0, bytes(3), 0,
                       bytes(3), bytes(3))
    image_info = struct.pack(">BBHHBBHH", FACE_TYPE_FULL_FRONTAL, FACE_DATA_JPEG2000, width,
                             height, FACE_COLOUR_GREY8, FACE_SOURCE_DIGITAL_STILL, device, quality)
    body = info + image_info + image
    return FACE_FORMAT_ID + VERSION + struct.pack(">IH", 14 + len(body), 1) + body
