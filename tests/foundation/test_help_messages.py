"""The help request (kiosk -> fleet monitor) and its answer (fleet monitor -> kiosk): round
trips, and strict refusal of garbage — NaN, huge, nested, truncated, wrong types, personal
data where a screen name belongs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anjungan import topics
from anjungan.messages import (
    MAX_MESSAGE_BYTES,
    HelpAck,
    HelpReason,
    HelpRequest,
    HelpState,
    MessageError,
    decode_ack_topic,
)

BASE = {"type": "help_request", "kiosk_id": "dps-01", "request_id": "r1", "screen": "fingerprints",
        "at": 1_764_557_000.0}


def test_round_trips_and_the_ack_topic_carries_help_acks() -> None:
    req = HelpRequest(kiosk_id="dps-01", request_id="r1", screen="capture_result", at=5.0,
                      reason=HelpReason.DEVICE)
    assert HelpRequest.from_json(req.to_json()) == req
    assert HelpRequest.from_json(json.dumps(BASE).encode()).reason is HelpReason.HELP
    for state in HelpState:
        ack = HelpAck(request_id="r1", state=state)
        assert decode_ack_topic(ack.to_json()) == ack


def test_the_help_topic_is_in_the_contract() -> None:
    assert topics.topic("dps-01", topics.TopicKind.HELP) == "anjungan/v1/kiosk/dps-01/help"
    assert topics.parse("anjungan/v1/kiosk/dps-01/help") == ("dps-01", "help")


@pytest.mark.parametrize("change", [
    {"at": "now"}, {"at": -1.0}, {"at": 1e12}, {"at": True}, {"at": None},
    {"screen": ""}, {"screen": "x" * 41}, {"screen": "5171014101900001"}, {"screen": "Budi Santoso"},
    {"screen": ["fingerprints"]}, {"screen": {"a": {"b": 1}}}, {"screen": "fingers\nforged log"}, {"screen": "nik\n"}, {"kiosk_id": "dps-01\n"},
    {"kiosk_id": "DPS 01"}, {"kiosk_id": ""}, {"kiosk_id": 7},
    {"request_id": ""}, {"request_id": "r" * 65}, {"request_id": 1},
    {"reason": "panic"}, {"reason": 3}, {"nik": "5171014101900001"}, {"type": "feedback"},
])
def test_a_help_request_is_decoded_strictly(change: dict) -> None:
    with pytest.raises(MessageError):
        HelpRequest.from_json(json.dumps({**BASE, **change}).encode())


@pytest.mark.parametrize("payload", [
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","screen":"nik","at":NaN}',
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","screen":"nik","at":Infinity}',
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","screen":"nik","at":1e999}',
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","screen":"nik","at":' + b"9" * 5000 + b"}",
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","screen":"nik","at":1.0',
    b'{"type":"help_request","kiosk_id":"dps-01","request_id":"r1","screen":"nik","at":1.0,"at":2.0}',
    b'{"type":"help_request","screen":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    b'{"type":"help_request","screen":"' + b"x" * MAX_MESSAGE_BYTES + b'"}',
    b'{"type":"help_request","screen":"\xff"}', b"", b"[]", b"null", b"\x00" * 10,
])
def test_garbage_is_a_one_line_message_error(payload: bytes) -> None:
    with pytest.raises(MessageError) as caught:
        HelpRequest.from_json(payload)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200


@pytest.mark.parametrize("payload", [
    b'{"type":"help_ack","request_id":"r1","state":"maybe"}',
    b'{"type":"help_ack","request_id":"","state":"coming"}',
    b'{"type":"help_ack","request_id":"r1"}',
    b'{"type":"help_ack","request_id":"r1","state":"coming","extra":1}',
    b'{"type":"help_ack","request_id":"r1","state":"com',
])
def test_a_help_ack_is_decoded_strictly(payload: bytes) -> None:
    with pytest.raises(MessageError):
        decode_ack_topic(payload)


@given(st.binary(max_size=300))
def test_any_bytes_are_a_help_message_or_a_message_error(data: bytes) -> None:
    for cls in (HelpRequest, HelpAck):
        try:
            cls.from_json(data)
        except MessageError:
            pass
