"""Fuzzing every decoder a peer can reach: the capture packet, the JSON messages, the serial
wire codec and the R30x parser. Each either decodes or raises its own contract error —
never another exception, never a hang. The budget is small in CI; set
ANJUNGAN_FUZZ_EXAMPLES (e.g. 20000) for a longer run."""

from __future__ import annotations

import os

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anjungan.messages import (
    Ack,
    Feedback,
    Health,
    KioskStatus,
    MessageError,
    StatusQuery,
    decode_ack_topic,
)
from anjungan.packet import decode_packet, encode_packet
from anjungan.packet.codec import decode_body
from anjungan.packet.model import PacketError
from drivers import r30x
from firmware import wire
from provisioning.bundle import KioskBundle
from tests.broker.kit import make_fleet, packet_bytes

BUDGET = settings(max_examples=int(os.environ.get("ANJUNGAN_FUZZ_EXAMPLES", "300")), deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# JSON-ish values, nested, with the numbers and strings that break naive decoders
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def good_packet(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    _fleet, bundles = make_fleet(tmp_path_factory.mktemp("fleet"), ("kiosk-02",))
    bundle: KioskBundle = bundles["kiosk-02"]
    return packet_bytes(bundle, 1)[1]


@BUDGET
@given(data=st.binary(max_size=4096))
def test_packet_decoder_on_random_bytes(data: bytes) -> None:
    try:
        decode_packet(data)
    except PacketError:
        pass


@BUDGET
@given(data=st.data())
def test_packet_decoder_on_mutated_real_packets(good_packet: bytes, data: st.DataObject) -> None:
    raw = bytearray(good_packet)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del raw[at:]
            if not raw:
                raw = bytearray(b"\x00")
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    try:
        packet = decode_packet(bytes(raw))
    except PacketError:
        return
    # what decodes is canonical: one encoding per packet (the signature check is verify's job)
    assert encode_packet(packet) == bytes(raw)


@BUDGET
@given(value=json_values)
def test_body_decoder_on_arbitrary_cbor(value: object) -> None:
    try:
        decode_body(cbor2.dumps(value))
    except PacketError:
        pass


@BUDGET
@given(value=json_values, kind=st.sampled_from([Ack, Feedback, Health, KioskStatus, StatusQuery]))
def test_message_decoders_on_arbitrary_json(value: object, kind: type) -> None:
    import json

    for payload in (json.dumps(value).encode(), json.dumps({"type": kind.TYPE, "v": value}).encode()):
        try:
            kind.from_json(payload)
        except MessageError:
            pass
        try:
            decode_ack_topic(payload)
        except MessageError:
            pass


@BUDGET
@given(data=st.binary(max_size=2048))
def test_message_decoders_on_random_bytes(data: bytes) -> None:
    for kind in (Health, Feedback, StatusQuery):
        try:
            kind.from_json(data)
        except MessageError:
            pass


@BUDGET
@given(chunks=st.lists(st.binary(max_size=600), max_size=8))
def test_wire_frame_decoder_on_random_streams(chunks: list[bytes]) -> None:
    decoder = wire.FrameDecoder()
    for chunk in chunks:
        for ftype, _flags, _seq, payload in decoder.feed(chunk):
            assert isinstance(ftype, int) and isinstance(payload, bytes | bytearray | memoryview)


@BUDGET
@given(chunks=st.lists(st.binary(max_size=600), max_size=8))
def test_r30x_parser_on_random_streams(chunks: list[bytes]) -> None:
    parser = r30x.Parser()
    for chunk in chunks:
        for packet in parser.feed(chunk):
            assert packet.pid in (r30x.PID_COMMAND, r30x.PID_DATA, r30x.PID_ACK, r30x.PID_END)
