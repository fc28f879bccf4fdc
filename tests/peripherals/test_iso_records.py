"""ISO/IEC 19794 records as the packet carries them, read back by a parser written from the
2005 layouts (field by field, offsets counted here), not from the encoder's struct formats.

Layouts (big-endian), as the public descriptions of the 2005 editions give them:

19794-4 finger, general header 32 B: format id "FIR\\0" 4 | version "010\\0" 4 | record
length 6 | capture device id 2 | image acquisition level 2 | number of fingers 1 | scale
units 1 | horizontal scan resolution 2 | vertical scan resolution 2 | horizontal image
resolution 2 | vertical image resolution 2 | pixel depth 1 | compression algorithm 1 |
reserved 2; per finger 14 B: data block length 4 | finger position 1 | count of views 1 |
view number 1 | image quality 1 | impression type 1 | horizontal line length 2 | vertical
line length 2 | reserved 1; then the image.

19794-5 face, general header 14 B: "FAC\\0" | "010\\0" | record length 4 | number of faces 2;
facial information 20 B: block length 4 | feature points 2 | gender 1 | eye colour 1 | hair
colour 1 | feature mask 3 | expression 2 | pose angle 3 | pose uncertainty 3; image
information 12 B: face image type 1 | image data type 1 (1 = JPEG 2000) | width 2 | height 2
| colour space 1 | source type 1 | device type 2 | quality 2; then the image.

19794-6 iris, general header 45 B: "IIR\\0" | "010\\0" | record length 4 | capture device id
2 | number of subtypes 1 | record header length 2 | image property bits 2 | iris diameter 2 |
image format 2 (0x0E = mono JPEG 2000) | width 2 | height 2 | intensity depth 1 | image
transformation 1 | device unique id 16; subtype header 3 B: subtype (1 right, 2 left) 1 |
number of images 2; image header 11 B: image number 2 | quality 1 | rotation angle 2 |
rotation uncertainty 2 | image length 4; then the image.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from anjungan.packet.model import FINGER_POSITIONS, Modality
from drivers import imaging
from drivers.records import biometric_record
from drivers.twin import InMemoryPeripherals

FINGER_CODES = {pos: i + 1 for i, pos in enumerate(FINGER_POSITIONS)}  # 1 right thumb .. 10


def u(b: bytes) -> int:
    return int.from_bytes(b, "big")


def parse_finger(rec: bytes) -> dict[str, Any]:
    g = rec[:32]
    out: dict[str, Any] = {
        "format_id": g[0:4], "version": g[4:8], "length": u(g[8:14]), "device": u(g[14:16]),
        "acquisition_level": u(g[16:18]), "fingers": g[18], "scale_units": g[19],
        "scan_res": (u(g[20:22]), u(g[22:24])), "image_res": (u(g[24:26]), u(g[26:28])),
        "depth": g[28], "compression": g[29], "reserved": u(g[30:32]),
    }
    f = rec[32:46]
    block = u(f[0:4])
    out.update(block_length=block, position=f[4], views=f[5], view_number=f[6], quality=f[7],
               impression=f[8], width=u(f[9:11]), height=u(f[11:13]), image=rec[46:32 + block])
    return out


def parse_face(rec: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"format_id": rec[0:4], "version": rec[4:8], "length": u(rec[8:12]),
                           "faces": u(rec[12:14])}
    info = rec[14:34]
    block = u(info[0:4])
    out.update(block_length=block, feature_points=u(info[4:6]))
    im = rec[34:46]
    out.update(face_type=im[0], data_type=im[1], width=u(im[2:4]), height=u(im[4:6]),
               colour_space=im[6], source=im[7], device=u(im[8:10]), quality=u(im[10:12]),
               image=rec[46:14 + block])
    return out


def parse_iris(rec: bytes) -> dict[str, Any]:
    g = rec[:45]
    out: dict[str, Any] = {
        "format_id": g[0:4], "version": g[4:8], "length": u(g[8:12]), "device": u(g[12:14]),
        "subtypes": g[14], "header_length": u(g[15:17]), "properties": u(g[17:19]),
        "diameter": u(g[19:21]), "image_format": u(g[21:23]), "width": u(g[23:25]),
        "height": u(g[25:27]), "depth": g[27], "transformation": g[28],
    }
    s = rec[45:48]
    out.update(subtype=s[0], images=u(s[1:3]))
    ih = rec[48:59]
    size = u(ih[7:11])
    out.update(image_number=u(ih[0:2]), quality=ih[2], image_length=size, image=rec[59:59 + size])
    return out


def open_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG2000"
    img.load()
    return img


@pytest.fixture(scope="module")
def captures() -> list[Any]:
    p = InMemoryPeripherals(seed=3)
    caps = [p.capture_face()] + [p.capture_finger(pos) for pos in FINGER_POSITIONS]
    return caps + [p.capture_iris("right_iris"), p.capture_iris("left_iris")]


def record_of(cap: Any) -> Any:
    return biometric_record(modality=cap.modality, position=cap.position,
                            image_format=cap.image_format, image=cap.image, quality=cap.quality)


def test_finger_records_are_19794_4_with_jpeg2000(captures: list[Any]) -> None:
    for cap in captures[1:11]:
        rec = record_of(cap)
        assert rec.image_format == "iso19794-4"
        h = parse_finger(rec.image)
        assert (h["format_id"], h["version"]) == (b"FIR\x00", b"010\x00")
        assert h["length"] == len(rec.image) == 32 + h["block_length"]
        assert h["device"] != 0 and h["fingers"] == 1 and h["scale_units"] == 1  # ppi
        assert h["scan_res"] == h["image_res"] == (500, 500)
        assert (h["depth"], h["compression"], h["reserved"]) == (8, 4, 0)  # 4 = JPEG 2000
        assert h["position"] == FINGER_CODES[cap.position]
        assert (h["views"], h["view_number"], h["impression"]) == (1, 1, 0)  # live-scan plain
        assert h["quality"] == cap.quality == rec.quality
        assert (h["width"], h["height"]) == (256, 288)
        img = open_image(h["image"])
        assert (img.size, img.mode) == ((256, 288), "L")
        assert len(h["image"]) <= 256 * 288 // 15 + 1024  # ~15:1 (19794-4's limit at 500 ppi)


def test_face_record_is_19794_5_with_jpeg2000(captures: list[Any]) -> None:
    cap = captures[0]
    rec = record_of(cap)
    assert rec.image_format == "iso19794-5"
    h = parse_face(rec.image)
    assert (h["format_id"], h["version"], h["faces"]) == (b"FAC\x00", b"010\x00", 1)
    assert h["length"] == len(rec.image) == 14 + h["block_length"]
    assert (h["feature_points"], h["face_type"], h["data_type"]) == (0, 1, 1)  # frontal, JP2
    assert (h["colour_space"], h["source"]) == (3, 2)  # 8-bit grey, digital still
    assert h["device"] != 0 and h["quality"] == cap.quality
    assert (h["width"], h["height"]) == (480, 640)
    img = open_image(h["image"])
    assert (img.size, img.mode) == ((480, 640), "L")


def test_iris_records_are_19794_6_with_jpeg2000(captures: list[Any]) -> None:
    for cap, subtype in zip(captures[11:], (1, 2), strict=True):
        rec = record_of(cap)
        assert rec.image_format == "iso19794-6"
        h = parse_iris(rec.image)
        assert (h["format_id"], h["version"]) == (b"IIR\x00", b"010\x00")
        assert h["length"] == len(rec.image) == 45 + 3 + 11 + h["image_length"]
        assert (h["subtypes"], h["header_length"], h["images"], h["image_number"]) == (1, 45, 1, 1)
        assert (h["image_format"], h["depth"], h["transformation"]) == (0x0E, 8, 0)
        assert h["device"] != 0 and h["subtype"] == subtype and h["quality"] == cap.quality
        assert (h["width"], h["height"]) == (640, 480)
        img = open_image(h["image"])
        assert (img.size, img.mode) == ((640, 480), "L")


def test_signature_and_exceptions_pass_unchanged() -> None:
    svg = imaging.signature_svg(1)
    sig = biometric_record(modality=Modality.SIGNATURE, position="signature",
                           image_format="svg", image=svg, quality=100)
    assert (sig.image_format, sig.image) == ("svg", svg)
    gone = biometric_record(modality=Modality.FINGER, position="left_little", image_format="raw8",
                            image=b"", quality=0, exception="missing")
    assert (gone.image_format, gone.image, gone.exception) == ("raw8", b"", "missing")


@settings(max_examples=15, deadline=None)
@given(position=st.sampled_from(FINGER_POSITIONS), quality=st.integers(0, 100),
       width=st.integers(16, 80), height=st.integers(16, 80), seed=st.integers(0, 2**16))
def test_any_finger_record_parses_to_what_was_captured(position: str, quality: int, width: int,
                                                       height: int, seed: int) -> None:
    from anjungan.packet import iso19794

    px = bytes((seed + i * 37) & 0xFF for i in range(width * height))
    jp2 = imaging.jp2_encode(px, width, height, ratio=15)
    h = parse_finger(iso19794.finger_record(image=jp2, position=position, width=width,
                                            height=height, quality=quality))
    assert (h["position"], h["quality"], h["width"], h["height"]) == (
        FINGER_CODES[position], quality, width, height)
    assert h["image"] == jp2 and open_image(h["image"]).size == (width, height)


def test_new_recording_packet_is_under_400_kb() -> None:
    from entrypoints.packet_bench import new_recording_body, run

    body = new_recording_body()
    formats = sorted({r.image_format for r in body.biometrics})
    assert formats == ["iso19794-4", "iso19794-5", "iso19794-6", "svg"]
    sizes = {suite: r["packet_bytes"] for suite, r in run(rounds=1).items()}
    assert all(size <= 400_000 for size in sizes.values()), sizes


def test_the_kiosk_seals_standard_records(captures: list[Any]) -> None:
    from kiosk.flow.model import Sample
    from kiosk.flow.session import RecordDraft, Session
    from kiosk.submit import capture_body

    s = Session(lang="id")
    s.resident.nik = "5171014101900001"
    for cap in captures[:2]:
        sample = Sample(modality=cap.modality, position=cap.position, image=cap.image,
                        image_format=cap.image_format, quality=cap.quality)
        s.capture.records[cap.position] = RecordDraft(modality=cap.modality, position=cap.position,
                                              sample=sample, retries=0, exception=None)
    s.capture.records["left_little"] = RecordDraft(modality=Modality.FINGER, position="left_little",
                                           sample=None, retries=3, exception="injured")
    face, finger, gone = capture_body(s).biometrics
    assert parse_face(face.image)["format_id"] == b"FAC\x00" and face.image_format == "iso19794-5"
    assert parse_finger(finger.image)["position"] == FINGER_CODES[captures[1].position]
    assert (gone.image, gone.exception) == (b"", "injured")


@settings(max_examples=10, deadline=None)
@given(eye=st.sampled_from(("right_iris", "left_iris")), quality=st.integers(0, 100),
       width=st.integers(16, 64), height=st.integers(16, 64), seed=st.integers(0, 2**16))
def test_any_iris_and_face_record_parses_to_what_was_captured(eye: str, quality: int, width: int,
                                                              height: int, seed: int) -> None:
    from anjungan.packet import iso19794

    px = bytes((seed + i * 53) & 0xFF for i in range(width * height))
    jp2 = imaging.jp2_encode(px, width, height, ratio=10)
    iris = parse_iris(iso19794.iris_record(image=jp2, position=eye, width=width, height=height,
                                           quality=quality))
    assert (iris["subtype"], iris["quality"], iris["width"], iris["height"]) == (
        {"right_iris": 1, "left_iris": 2}[eye], quality, width, height)
    assert iris["image"] == jp2
    face = parse_face(iso19794.face_record(image=jp2, width=width, height=height, quality=quality))
    assert (face["quality"], face["width"], face["height"], face["image"]) == (
        quality, width, height, jp2)
