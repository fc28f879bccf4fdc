"""A capture as the packet carries it: an ISO/IEC 19794 record with a JPEG 2000 image.

The sensors deliver raw 8-bit pixels (the R30x) or lossless PNG (the cameras); the kiosk
keeps those for its screens and scoring, and `biometric_record` turns each into the record
SIAK reads: fingers 19794-4, face 19794-5, irises 19794-6 (layouts in
`anjungan/packet/iso19794.py`). A signature (SVG) and an exception record pass as they are.

Compression ratios: fingers 15:1 (the 19794-4 limit for 500 ppi JPEG 2000), irises and the
face 10:1 (grey, 640 x 480: about 30 KB each).
"""

from __future__ import annotations

from anjungan.packet import iso19794
from anjungan.packet.model import BiometricRecord, Modality
from drivers import imaging

FINGER_RATIO, IRIS_RATIO, FACE_RATIO = 15.0, 10.0, 10.0


def _pixels(image_format: str, image: bytes, modality: Modality) -> tuple[int, int, bytes]:
    if image_format == "png":
        return imaging.png_decode_gray(image)
    if image_format == "raw8" and modality is Modality.FINGER:
        return imaging.FINGER_W, imaging.FINGER_H, image
    raise imaging.ImageError(f"cannot make a standard record from {image_format!r}")


def standard_image(*, modality: Modality, position: str, image_format: str, image: bytes,
                   quality: int) -> tuple[str, bytes]:
    """(format, bytes) of the record for one capture; already-standard or other images
    (svg, an empty exception image, an iso19794-* record) are returned unchanged."""
    modality = Modality(modality)
    if not image or image_format not in ("png", "raw8") or modality is Modality.SIGNATURE:
        return image_format, image
    w, h, px = _pixels(image_format, image, modality)
    if modality is Modality.FINGER:
        jp2 = imaging.jp2_encode(px, w, h, ratio=FINGER_RATIO)
        return "iso19794-4", iso19794.finger_record(image=jp2, position=position, width=w,
                                                     height=h, quality=quality)
    if modality is Modality.IRIS:
        jp2 = imaging.jp2_encode(px, w, h, ratio=IRIS_RATIO)
        return "iso19794-6", iso19794.iris_record(image=jp2, position=position, width=w,
                                                   height=h, quality=quality)
    jp2 = imaging.jp2_encode(px, w, h, ratio=FACE_RATIO)
    return "iso19794-5", iso19794.face_record(image=jp2, width=w, height=h, quality=quality)


def biometric_record(*, modality: Modality, position: str, image_format: str, image: bytes,
                     quality: int, retries: int = 0, exception: str | None = None
                     ) -> BiometricRecord:
    """The packet's record for one capture (or exception), its image in a 19794 record."""
    fmt, data = standard_image(modality=modality, position=position, image_format=image_format,
                               image=image, quality=quality)
    return BiometricRecord(modality=modality, position=position, image_format=fmt, image=data,
                           quality=quality, retries=retries, exception=exception)
