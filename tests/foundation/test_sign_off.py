"""The officer's sign-off in the sealed body (assisted completion): round trips through a
real packet, one encoding with and without it, and strict refusal of garbage."""

from __future__ import annotations

import dataclasses
import math

import cbor2
import pytest

from anjungan.packet import (
    BiometricRecord,
    CaptureBody,
    Demographics,
    Modality,
    PacketError,
    PriorityClass,
    Service,
    build_packet,
    decode_body,
    decode_packet,
    encode_body,
    encode_packet,
    open_body,
    verify_packet,
)
from anjungan.packet.model import OfficerSignOff
from provisioning.fleet import load_gateway_key, load_trust
from tests.foundation.conftest import NOW  # the session fleet's issue time

PHOTO = BiometricRecord(modality=Modality.FACE, position="face", image_format="jpeg2000",
                        image=b"\x02" * 64, quality=71)
DECLINED = tuple(BiometricRecord(modality=Modality.FINGER, position=p, image_format="raw8", image=b"",
                                 quality=0, exception="unable") for p in ("right_thumb", "left_thumb"))


def assisted_body(photo: BiometricRecord | None = PHOTO) -> CaptureBody:
    return CaptureBody(demographics=Demographics(nik="5171014101900001", officer_id="19850101"),
                       biometrics=DECLINED,
                       sign_off=OfficerSignOff(officer_id="19850101", confirmed_at=NOW, photo=photo))


def test_a_signed_off_packet_round_trips_through_the_gateway(fleet, bundle_a) -> None:
    body = assisted_body()
    packet = build_packet(body, identity=bundle_a.identity, gateway_public_key=bundle_a.gateway_public_key,
                          suite_name=bundle_a.suite, sequence=1, service=Service.NEW_RECORDING,
                          priority=PriorityClass.VULNERABLE, now=NOW, assisted=True)
    decoded = decode_packet(encode_packet(packet))
    assert verify_packet(decoded, load_trust(fleet.root), now=NOW).assisted
    opened = open_body(decoded, load_gateway_key(fleet.root))
    assert opened == body and opened.sign_off is not None and opened.sign_off.photo == PHOTO


@pytest.mark.parametrize("photo", [PHOTO, None])
def test_one_encoding_with_and_without_a_sign_off(photo) -> None:
    body = assisted_body(photo)
    assert decode_body(encode_body(body)) == body
    plain = dataclasses.replace(body, sign_off=None)
    assert "sign_off" not in cbor2.loads(encode_body(plain))  # a body from before: unchanged bytes
    assert decode_body(encode_body(plain)) == plain


@pytest.mark.parametrize("kwargs", [
    {"officer_id": "12"}, {"officer_id": "1" * 19}, {"officer_id": "abcd"}, {"officer_id": "١٢٣٤"},
    {"confirmed_at": math.nan}, {"confirmed_at": math.inf}, {"confirmed_at": -1.0}, {"confirmed_at": 1e300},
    {"confirmed_at": 5},
    {"photo": dataclasses.replace(DECLINED[0])},
    {"photo": BiometricRecord(modality=Modality.FACE, position="face", image_format="raw8", image=b"",
                              quality=0, exception="unable")},
])
def test_a_bad_sign_off_is_refused(kwargs) -> None:
    with pytest.raises(PacketError):
        OfficerSignOff(**{"officer_id": "19850101", "confirmed_at": NOW, "photo": PHOTO, **kwargs})


def test_the_sign_off_is_the_signed_in_officer_s() -> None:
    with pytest.raises(PacketError):
        CaptureBody(demographics=Demographics(nik="5171014101900001", officer_id="11112222"),
                    sign_off=OfficerSignOff(officer_id="19850101", confirmed_at=NOW))


def _tampered(**change) -> bytes:
    raw = cbor2.loads(encode_body(assisted_body()))
    raw["sign_off"] = {**raw["sign_off"], **change}
    return cbor2.dumps(raw, canonical=True)


@pytest.mark.parametrize("data", [
    _tampered(officer_id=12345678), _tampered(confirmed_at=float("nan")), _tampered(confirmed_at=7),
    _tampered(confirmed_at=float("inf")), _tampered(extra=1), _tampered(photo=b"jpeg"),
    _tampered(photo={"modality": "face"}), _tampered(photo={"nested": {"deeper": [[[[1]]]]}}),
    _tampered(officer_id="9" * 600),
    cbor2.dumps({**cbor2.loads(encode_body(assisted_body())), "sign_off": None}, canonical=True),
    cbor2.dumps({**cbor2.loads(encode_body(assisted_body())), "sign_off": []}, canonical=True),
    encode_body(assisted_body())[:-7], encode_body(assisted_body()) + b"\x00",
    cbor2.dumps({"sign_off": {}}, canonical=True),
])
def test_garbage_in_the_sign_off_is_a_packet_error(data: bytes) -> None:
    with pytest.raises(PacketError):
        decode_body(data)
