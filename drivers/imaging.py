"""Synthetic biometric images of realistic size and varied quality, and the quality score.

The simulators need images that look like what the real sensors send (size, layout, format)
and whose quality varies, some below threshold so the kiosk's retries get exercised. The
drivers score every capture from its pixels with `estimate_quality`, for real devices and
simulators alike, so a simulator cannot simply claim a quality.

- Fingerprint: 256 x 288, 8-bit grey (R30x sensor geometry; the wire carries 4 bits/pixel).
- Iris: 640 x 480 grey PNG (ISO/IEC 19794-6 rectilinear geometry).
- Face: 480 x 640 grey PNG (ICAO portrait, 3:4).
- Signature: SVG polyline strokes.

`jp2_encode` compresses grey pixels to JPEG 2000 (Pillow's OpenJPEG) for the ISO/IEC 19794
records the packet carries (`drivers/records.py`).

`clarity` in [0, 1] sets contrast against noise; the score follows it monotonically.
Pure functions; no I/O. Pixel work is cached because pure Python is slow at it.
"""

from __future__ import annotations

import enum
import math
import random
import struct
import zlib
from functools import lru_cache
from io import BytesIO

from PIL import Image

FINGER_W, FINGER_H = 256, 288
IRIS_W, IRIS_H = 640, 480
FACE_W, FACE_H = 480, 640

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageError(ValueError):
    """Pixels or a PNG that cannot be used."""


def _noise_table(rng: random.Random, sigma: float, n: int = 4096) -> list[int]:
    return [int(rng.gauss(0.0, sigma)) for _ in range(n)]


def _clip(v: float) -> int:
    return 0 if v < 0 else 255 if v > 255 else int(v)


def _amplitude_noise(clarity: float) -> tuple[float, float]:
    clarity = min(1.0, max(0.0, clarity))
    return 20.0 + 90.0 * clarity, 6.0 + 70.0 * (1.0 - clarity)


@lru_cache(maxsize=64)
def finger_image(seed: int, clarity: float) -> bytes:
    """A ridge pattern (concentric, warped) with noise, 8-bit grey, row-major."""
    rng = random.Random(seed)
    amp, sigma = _amplitude_noise(clarity)
    noise = _noise_table(rng, sigma)
    cx, cy = FINGER_W * rng.uniform(0.4, 0.6), FINGER_H * rng.uniform(0.35, 0.55)
    period = rng.uniform(8.0, 10.0)
    k = 2 * math.pi / period
    out = bytearray(FINGER_W * FINGER_H)
    i = 0
    for y in range(FINGER_H):
        dy = (y - cy) * 0.85
        for x in range(FINGER_W):
            dx = x - cx
            r = math.sqrt(dx * dx + dy * dy)
            out[i] = _clip(128 + amp * math.sin(k * r) + noise[(i * 7919) & 4095])
            i += 1
    return bytes(out)


@lru_cache(maxsize=16)
def _eye_pixels(seed: int, clarity: float) -> bytes:
    rng = random.Random(seed)
    amp, sigma = _amplitude_noise(clarity)
    noise = _noise_table(rng, sigma)
    cx, cy = IRIS_W / 2 + rng.uniform(-20, 20), IRIS_H / 2 + rng.uniform(-15, 15)
    pupil, iris = rng.uniform(40, 60), rng.uniform(110, 130)
    spokes = rng.randint(40, 70)
    out = bytearray(IRIS_W * IRIS_H)
    i = 0
    for y in range(IRIS_H):
        dy = y - cy
        for x in range(IRIS_W):
            dx = x - cx
            r = math.sqrt(dx * dx + dy * dy)
            if r < pupil:
                v = 20.0
            elif r < iris:
                v = 110 + amp * 0.6 * math.sin(spokes * math.atan2(dy, dx) + r * 0.15)
            else:
                v = 200 - amp * 0.3 * math.sin(r * 0.05)
            out[i] = _clip(v + noise[(i * 7919) & 4095])
            i += 1
    return bytes(out)


@lru_cache(maxsize=16)
def _face_pixels(seed: int, clarity: float) -> bytes:
    rng = random.Random(seed)
    amp, sigma = _amplitude_noise(clarity)
    noise = _noise_table(rng, sigma)
    cx, cy = FACE_W / 2 + rng.uniform(-15, 15), FACE_H * 0.45
    a, b = FACE_W * 0.3, FACE_H * 0.33
    out = bytearray(FACE_W * FACE_H)
    i = 0
    for y in range(FACE_H):
        ey = (y - cy) / b
        for x in range(FACE_W):
            ex = (x - cx) / a
            d = ex * ex + ey * ey
            if d < 1.0:
                v = 140 + amp * 0.5 * math.cos(6 * ex) * math.cos(5 * ey)
            else:
                v = 230 - amp * 0.2 * math.sin(x * 0.7)
            out[i] = _clip(v + noise[(i * 7919) & 4095])
            i += 1
    return bytes(out)


def iris_png(seed: int, clarity: float) -> bytes:
    return png_encode(_eye_pixels(seed, round(clarity, 2)), IRIS_W, IRIS_H)


def face_png(seed: int, clarity: float) -> bytes:
    return png_encode(_face_pixels(seed, round(clarity, 2)), FACE_W, FACE_H)


def signature_svg(seed: int, strokes: int = 3) -> bytes:
    """A signature as SVG polylines on a 400 x 150 pad."""
    rng = random.Random(seed)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="400" height="150">']
    x = 20.0
    for _ in range(strokes):
        pts = []
        for _ in range(rng.randint(20, 40)):
            x += rng.uniform(1.5, 5.0)
            pts.append(f"{x:.1f},{75 + 40 * math.sin(x / rng.uniform(6, 14)):.1f}")
        parts.append(f'<polyline fill="none" stroke="black" points="{" ".join(pts)}"/>')
        x += 15
    parts.append("</svg>")
    return "".join(parts).encode()


# --- PNG (8-bit greyscale, filter 0), enough for the cameras' images -----------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_encode(pixels: bytes, width: int, height: int) -> bytes:
    if len(pixels) != width * height:
        raise ImageError("pixel count does not match the image size")
    raw = b"".join(b"\x00" + pixels[y * width : (y + 1) * width] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def png_decode_gray(data: bytes) -> tuple[int, int, bytes]:
    """Decode what `png_encode` writes (8-bit grey, filter 0); anything else is an error."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ImageError("not a PNG")
    pos, width, height, idat = 8, 0, 0, b""
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if zlib.crc32(kind + body) != crc:
            raise ImageError("PNG chunk checksum mismatch")
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if depth != 8 or colour != 0:
                raise ImageError("only 8-bit greyscale PNG is supported")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    try:
        raw = zlib.decompress(idat)
    except zlib.error as exc:
        raise ImageError("PNG data does not decompress") from exc
    stride = width + 1
    if len(raw) != stride * height or any(raw[y * stride] for y in range(height)):
        raise ImageError("unsupported PNG layout")
    return width, height, b"".join(raw[y * stride + 1 : (y + 1) * stride] for y in range(height))


# --- JPEG 2000 (JP2 file format), for the ISO/IEC 19794 records --------------------------


def jp2_encode(pixels: bytes, width: int, height: int, *, ratio: float) -> bytes:
    """8-bit grey pixels as a JP2 file, lossy (irreversible 9/7 wavelet) at `ratio`:1 of the
    raw size (19794-4 allows at most 15:1 for 500 ppi fingerprints)."""
    if len(pixels) != width * height:
        raise ImageError("pixel count does not match the image size")
    out = BytesIO()
    try:
        Image.frombytes("L", (width, height), pixels).save(
            out, "JPEG2000", irreversible=True, quality_mode="rates", quality_layers=[ratio],
            no_jp2=False)
    except (OSError, KeyError) as exc:  # Pillow built without OpenJPEG, an encoder failure
        raise ImageError(f"JPEG 2000 encoding failed: {type(exc).__name__}") from exc
    return out.getvalue()


def unpack_nibbles(packed: bytes) -> bytes:
    """R30x upload: two pixels per byte, high nibble first -> 8-bit grey."""
    out = bytearray(len(packed) * 2)
    for i, b in enumerate(packed):
        out[2 * i] = (b >> 4) * 17
        out[2 * i + 1] = (b & 0x0F) * 17
    return bytes(out)


def pack_nibbles(pixels: bytes) -> bytes:
    return bytes(((pixels[i] >> 4) << 4) | (pixels[i + 1] >> 4) for i in range(0, len(pixels), 2))


def estimate_quality(pixels: bytes, width: int, height: int) -> int:
    """0-100 from contrast and signal-to-noise, sampled on every 4th row.

    The residual against the mean of the two horizontal neighbours is mostly noise (texture
    periods here are >= 8 px, which the 3-tap smoother barely touches); its share of the
    total variance drives the score, and a washed-out image (low spread) is penalised.
    """
    if width < 3 or height < 1 or len(pixels) != width * height:
        raise ImageError("pixel count does not match the image size")
    n = total = total_sq = resid_sq = 0.0
    for y in range(0, height, 4):
        row = pixels[y * width : (y + 1) * width]
        for x in range(1, width - 1, 2):
            p = row[x]
            r = p - (row[x - 1] + row[x + 1]) / 2
            total += p
            total_sq += p * p
            resid_sq += r * r
            n += 1
    var = total_sq / n - (total / n) ** 2
    if var <= 1.0:
        return 0
    noise_share = (resid_sq / n) / (1.5 * var)
    snr_score = max(0.0, 1.0 - noise_share * 1.6)
    contrast_score = min(1.0, math.sqrt(var) / 45.0)
    return max(0, min(100, round(100 * snr_score * contrast_score)))


# --- the face camera's live preview: a small frame, and what it tells the resident ----------

PREVIEW_W, PREVIEW_H = 96, 128  # 3:4 like the portrait; 12 KiB of grey a frame on the wire


class FaceHint(enum.StrEnum):
    """What the resident should do, read from a preview frame (i18n `hint_<value>`)."""

    OK = "ok"  # hold still: the picture is good
    CLOSER = "closer"  # the face is small in the frame
    LIGHT = "light"  # the scene is too dark
    LOOK = "look"  # no face in the middle: look at the camera


@lru_cache(maxsize=64)
def face_preview(seed: int, clarity: float, *, scale: float = 1.0, dx: float = 0.0,
                 light: float = 1.0) -> bytes:
    """A `PREVIEW_W` x `PREVIEW_H` grey frame: a face of relative size `scale`, moved `dx` of
    the width off centre, under `light` (1.0 is a well-lit booth)."""
    rng = random.Random(seed)
    amp, sigma = _amplitude_noise(clarity)
    noise = _noise_table(rng, sigma * light)
    w, h = PREVIEW_W, PREVIEW_H
    cx, cy = w / 2 + dx * w, h * 0.45
    a, b = w * 0.3 * scale, h * 0.33 * scale
    out = bytearray(w * h)
    for i in range(w * h):
        y, x = divmod(i, w)
        ex, ey = (x - cx) / a, (y - cy) / b
        if ex * ex + ey * ey < 1.0:
            v = 140 + amp * 0.5 * math.cos(6 * ex) * math.cos(5 * ey)
        else:
            v = 230 - amp * 0.2 * math.sin(x * 2.8)
        out[i] = _clip(v * light + noise[(i * 7919) & 4095])
    return bytes(out)


def face_guidance(pixels: bytes, width: int, height: int) -> tuple[int, FaceHint]:
    """(quality 0-100, hint) for one preview frame. The face is what stands out from the
    frame's border (the booth's wall); too dark, too small or off centre each lower the
    quality and name the one thing to do first."""
    if width < 8 or height < 8 or len(pixels) != width * height:
        raise ImageError("pixel count does not match the image size")
    sharp = estimate_quality(pixels, width, height)
    mean = sum(pixels[::7]) / len(pixels[::7])
    border = [*pixels[:width], *pixels[-width:], *pixels[::width], *pixels[width - 1 :: width]]
    wall = sum(border) / len(border)
    inside = [(i % width, i // width) for i in range(0, len(pixels), 3) if pixels[i] < 0.8 * wall]
    area = 3 * len(inside) / len(pixels)
    if mean < 90:
        return round(sharp * min(1.0, mean / 180)), FaceHint.LIGHT
    if area < 0.03:
        return 0, FaceHint.LOOK
    fx = sum(x for x, _ in inside) / len(inside) / width
    fy = sum(y for _, y in inside) / len(inside) / height
    if abs(fx - 0.5) > 0.12 or abs(fy - 0.45) > 0.15:
        return round(sharp * 0.4), FaceHint.LOOK
    if area < 0.2:
        return round(sharp * area / 0.3), FaceHint.CLOSER
    return sharp, FaceHint.OK
