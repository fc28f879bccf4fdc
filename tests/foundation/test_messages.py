"""JSON messages on the MQTT contract: round trips and strict decoding of wire data."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anjungan import topics
from anjungan.messages import (
    Ack,
    AckOutcome,
    Feedback,
    FeedbackAck,
    Health,
    KioskStatus,
    MessageError,
    PacketStatus,
    RenewalOutcome,
    RenewalReply,
    RenewalRequest,
    SiakState,
    decode_ack_topic,
)
from anjungan.nik import redact

PID = "01a21f8d-7cc7-73ef-8861-e7964dd646c3"


@pytest.mark.parametrize("msg", [
    Ack(packet_id=PID, outcome=AckOutcome.DUPLICATE),
    PacketStatus(packet_id=PID, state=SiakState.PRINT_READY, at=1.5),
    KioskStatus(kiosk_id="dps-01", state="offline", session_id="s1", at=2.0),
    Health(kiosk_id="dps-01", session_id="s1", at=3.0, peripherals={"printer": {"ok": False}},
           outbox_depth=4, temperature_c=41.5, tamper=True),
    Feedback(kiosk_id="dps-01", feedback_id="f1", at=4.0, category="waiting", text="lama"),
    RenewalRequest(kiosk_id="dps-01", request_id="r1", at=5.0, csr="-----BEGIN CSR", certificate="PEM",
                   proof="ab" * 64),
    RenewalReply(request_id="r1", outcome=RenewalOutcome.ISSUED, certificate="PEM", chain="PEM",
                 gateway_key="PEM", gateway_key_id="0123456789abcdef"),
    RenewalReply(request_id="r1", outcome="refused", reason="revoked: kiosk dps-01 is revoked"),
])
def test_round_trip(msg):
    assert type(msg).from_json(msg.to_json()) == msg


def test_ack_topic_carries_acks_and_statuses():
    assert isinstance(decode_ack_topic(Ack(packet_id=PID, outcome="accepted").to_json()), Ack)
    status = PacketStatus(packet_id=PID, state="BIO_CAPTURED", at=1.0)
    assert decode_ack_topic(status.to_json()) == status
    receipt = FeedbackAck(feedback_id="3f1c0b9e-0d5e-4c55-9d1e-6f7d2a1b9c00")
    assert decode_ack_topic(receipt.to_json()) == receipt
    with pytest.raises(MessageError):
        decode_ack_topic(b'{"type":"feedback_ack","feedback_id":""}')


@pytest.mark.parametrize("payload", [
    {"outbox_depth": "x"}, {"outbox_depth": True}, {"at": "now"}, {"tamper": 1},
    {"peripherals": []}, {"temperature_c": "hot"}, {"surprise": 1},
])
def test_health_with_wrong_types_is_refused(payload):
    base = {"type": "health", "kiosk_id": "k1", "session_id": "s", "at": 1.0}
    with pytest.raises(MessageError):
        Health.from_json(json.dumps({**base, **payload}).encode())


@given(st.binary(max_size=200))
def test_any_bytes_are_a_message_or_a_message_error(data):
    for cls in (Ack, PacketStatus, KioskStatus, Health, Feedback, RenewalRequest, RenewalReply):
        try:
            cls.from_json(data)
        except MessageError:
            pass


@pytest.mark.parametrize("payload", [
    {"proof": "AB" * 64}, {"proof": "ab" * 63}, {"csr": ""}, {"csr": "x" * 8193}, {"certificate": 5},
    {"request_id": ""}, {"request_id": "r" * 65}, {"at": "now"}, {"extra": 1},
])
def test_renewal_requests_are_decoded_strictly(payload):
    base = {"type": "renew_request", "kiosk_id": "k1", "request_id": "r1", "at": 1.0, "csr": "C",
            "certificate": "P", "proof": "ab" * 64}
    RenewalRequest.from_json(json.dumps(base).encode())
    with pytest.raises(MessageError):
        RenewalRequest.from_json(json.dumps({**base, **payload}).encode())
    with pytest.raises(MessageError):  # issued without a certificate, an unknown outcome
        RenewalReply.from_json(b'{"type":"renew_reply","request_id":"r1","outcome":"issued"}')
    with pytest.raises(MessageError):
        RenewalReply.from_json(b'{"type":"renew_reply","request_id":"r1","outcome":"maybe"}')


def test_topics():
    assert topics.topic("dps-01", "capture") == "anjungan/v1/kiosk/dps-01/capture"
    assert topics.parse("anjungan/v1/kiosk/dps-01/ack") == ("dps-01", "ack")
    assert topics.subscription("health") == "anjungan/v1/kiosk/+/health"
    assert topics.topic("dps-01", "renew") == "anjungan/v1/kiosk/dps-01/renew"
    assert topics.parse("anjungan/v1/kiosk/dps-01/renewed") == ("dps-01", "renewed")
    assert topics.shared_subscription("capture", "anjungan-ingest") == "$share/anjungan-ingest/anjungan/v1/kiosk/+/capture"
    with pytest.raises(topics.TopicError):
        topics.shared_subscription("capture", "a/b")
    for bad in ("anjungan/v2/kiosk/x1/ack", "anjungan/v1/kiosk/X!/ack", "anjungan/v1/kiosk/x1/other"):
        with pytest.raises(topics.TopicError):
            topics.parse(bad)


@pytest.mark.parametrize("text, shown", [
    ("NIK saya 5171014101900001 tolong", "NIK saya 517101********01 tolong"),
    ("5171 0141 0190 0001", "517101********01"),
    ("5171-0141-0190-0001.", "517101********01."),
    ("kk 51710101010100011234", "kk ********************"),
    ("hp 0812 3456 7890, antri 45 menit", "hp 0812 3456 7890, antri 45 menit"),
])
def test_free_text_never_keeps_a_nik(text, shown):
    assert redact(text) == shown
