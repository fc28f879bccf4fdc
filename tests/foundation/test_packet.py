"""The capture packet contract: round trip, tamper evidence, strict decoding."""

from __future__ import annotations

import dataclasses

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anjungan.packet import (
    BiometricRecord,
    CaptureBody,
    Demographics,
    Modality,
    PacketError,
    PriorityClass,
    Service,
    build_packet,
    decode_packet,
    encode_packet,
    open_body,
    verify_packet,
)
from anjungan.packet.codec import MAX_PACKET_BYTES
from anjungan.packet.model import EXCEPTION_REASONS, IMAGE_FORMATS, POSITIONS, PacketHeader
from anjungan.packet.sample import synthetic_body
from anjungan.packet.seal import gateway_key_id
from provisioning.bundle import complete, load_bundle, request
from provisioning.fleet import init_fleet, load_gateway_key, load_trust, revoke
from tests.foundation.conftest import NOW  # the session fleet's issue time

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def make(bundle, body=None, *, sequence=1, now=NOW):
    return build_packet(
        body or small_body(), identity=bundle.identity, gateway_public_key=bundle.gateway_public_key,
        suite_name=bundle.suite, sequence=sequence, service=Service.NEW_RECORDING,
        priority=PriorityClass.FIRST_RECORDING, now=now,
    )


def small_body() -> CaptureBody:
    return CaptureBody(
        demographics=Demographics(nik="5171014101900001", name="Ni Luh"),
        biometrics=(
            BiometricRecord(modality=Modality.FACE, position="face", image_format="jpeg2000",
                            image=b"\x01" * 40, quality=77),
            BiometricRecord(modality=Modality.FINGER, position="left_little",
                            image_format="iso19794-4", image=b"", quality=0, exception="missing"),
        ),
    )


@st.composite
def records(draw):
    modality = draw(st.sampled_from(list(Modality)))
    exception = draw(st.none() | st.sampled_from(EXCEPTION_REASONS))
    image = draw(st.binary(min_size=0 if exception else 1, max_size=200))
    return BiometricRecord(
        modality=modality, position=draw(st.sampled_from(POSITIONS[modality])),
        image_format=draw(st.sampled_from(IMAGE_FORMATS)), image=image,
        quality=draw(st.integers(0, 100)), retries=draw(st.integers(0, 3)), exception=exception,
    )


text = st.text(max_size=60)
bodies = st.builds(
    CaptureBody,
    demographics=st.builds(Demographics, nik=st.text("0123456789", min_size=16, max_size=16),
                           name=text, address=text, disability=st.booleans(), notes=text),
    biometrics=st.lists(records(), max_size=6).map(tuple),
)


@SETTINGS
@given(body=bodies, sequence=st.integers(1, 2**62))
def test_any_body_round_trips(fleet, bundle_a, body, sequence):
    data = encode_packet(make(bundle_a, body, sequence=sequence))
    packet = decode_packet(data)
    header = verify_packet(packet, load_trust(fleet.root), now=NOW)
    assert header.sequence == sequence and header.kiosk_id == "kiosk-a"
    assert open_body(packet, load_gateway_key(fleet.root)) == body


@pytest.fixture(scope="module")
def wire(bundle_a):
    return encode_packet(make(bundle_a))


def rejected(data: bytes, trust) -> str:
    with pytest.raises(PacketError) as info:
        verify_packet(decode_packet(data), trust, now=NOW)
    return info.value.reason


@SETTINGS
@given(data=st.data())
def test_flipping_any_byte_is_rejected(fleet, wire, data):
    index = data.draw(st.integers(0, len(wire) - 1))
    mask = data.draw(st.integers(1, 255))
    tampered = bytearray(wire)
    tampered[index] ^= mask
    rejected(bytes(tampered), load_trust(fleet.root))


def test_every_byte_position_flipped_is_rejected(fleet, wire):
    trust = load_trust(fleet.root)
    for index in range(len(wire)):
        tampered = bytearray(wire)
        tampered[index] ^= 0x01
        rejected(bytes(tampered), trust)


def test_every_truncation_is_rejected(fleet, wire):
    trust = load_trust(fleet.root)
    reasons = {rejected(wire[:n], trust) for n in range(len(wire))}
    assert "truncated" in reasons


def test_signature_from_another_kiosk_is_rejected(fleet, bundle_a, bundle_b):
    mine, theirs = make(bundle_a), make(bundle_b)
    swapped = dataclasses.replace(mine, signature=theirs.signature)
    assert rejected(encode_packet(swapped), load_trust(fleet.root)) == "bad_signature"


def test_certificate_from_another_kiosk_is_rejected(fleet, bundle_a, bundle_b):
    swapped = dataclasses.replace(make(bundle_a), certificate=bundle_b.identity.certificate)
    assert rejected(encode_packet(swapped), load_trust(fleet.root)) == "kiosk_mismatch"


def test_body_from_another_packet_is_rejected(fleet, bundle_a):
    one, two = make(bundle_a, sequence=1), make(bundle_a, sequence=2)
    swapped = dataclasses.replace(one, sealed_body=two.sealed_body)
    assert rejected(encode_packet(swapped), load_trust(fleet.root)) == "bad_digest"


def test_kiosk_of_another_fleet_is_rejected(tmp_path, fleet):
    other = init_fleet(tmp_path / "other", now=NOW)
    request(tmp_path / "b", "kiosk-a")
    complete(other, tmp_path / "b", now=NOW)
    packet = make(load_bundle(tmp_path / "b"))
    assert rejected(encode_packet(packet), load_trust(fleet.root)) == "bad_chain"


def test_revoked_kiosk_is_rejected(tmp_path):
    f = init_fleet(tmp_path / "fleet", now=NOW)
    request(tmp_path / "b", "kiosk-r")
    complete(f, tmp_path / "b", now=NOW)
    data = encode_packet(make(load_bundle(tmp_path / "b")))
    verify_packet(decode_packet(data), load_trust(f.root), now=NOW)
    revoke(f, "kiosk-r")
    assert rejected(data, load_trust(f.root)) == "revoked"
    # the CRL alone, without the registry, is enough
    trust = dataclasses.replace(load_trust(f.root), kiosks=None)
    assert rejected(data, trust) == "revoked"


def test_expired_certificate_and_time_window(fleet, bundle_a):
    trust = load_trust(fleet.root)
    years_later = NOW + 3 * 365 * 86400
    late = make(bundle_a, now=years_later)
    with pytest.raises(PacketError) as info:
        verify_packet(late, trust, now=years_later)
    assert info.value.reason == "expired"
    old = make(bundle_a, now=NOW + 60)
    with pytest.raises(PacketError) as info:
        verify_packet(old, trust, now=NOW + 3600, window_s=60)
    assert info.value.reason == "stale"
    ahead = make(bundle_a, now=NOW + 3600)
    with pytest.raises(PacketError) as info:
        verify_packet(ahead, trust, now=NOW)
    assert info.value.reason == "future"


def test_unknown_version_is_refused(wire):
    outer = cbor2.loads(wire)
    header = cbor2.loads(outer["h"])
    for version in (3, 0, True):
        header["version"] = version
        outer["h"] = cbor2.dumps(header, canonical=True)
        with pytest.raises(PacketError) as info:
            decode_packet(cbor2.dumps(outer, canonical=True))
        assert info.value.reason == "wrong_version"
    # version 2 needs its key id, and version 1 may not have one
    header["version"] = 2
    outer["h"] = cbor2.dumps(header, canonical=True)
    with pytest.raises(PacketError, match="missing fields"):
        decode_packet(cbor2.dumps(outer, canonical=True))
    header["version"], header["key_id"] = 1, "0123456789abcdef"
    outer["h"] = cbor2.dumps(header, canonical=True)
    with pytest.raises(PacketError, match="unknown fields"):
        decode_packet(cbor2.dumps(outer, canonical=True))


@pytest.mark.parametrize("key_id", ["", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdefa", "g" * 16])
def test_a_version_2_header_names_a_well_formed_key_id(bundle_a, key_id):
    good = make(bundle_a)
    fields = {**{f.name: getattr(good.header, f.name) for f in dataclasses.fields(good.header)},
              "version": 2, "key_id": key_id}
    with pytest.raises(PacketError):
        PacketHeader(**fields)


def test_a_keyed_packet_round_trips_exactly(bundle_a, fleet):
    key_id = gateway_key_id(fleet.path("gateway.pub").read_bytes())
    packet = build_packet(small_body(), identity=bundle_a.identity, gateway_public_key=bundle_a.gateway_public_key,
                          suite_name=bundle_a.suite, sequence=1, service=Service.NEW_RECORDING,
                          priority=PriorityClass.FIRST_RECORDING, now=NOW, key_id=key_id)
    wire = encode_packet(packet)
    back = decode_packet(wire)
    assert back == packet and back.header.version == 2 and back.header.key_id == key_id
    assert encode_packet(back) == wire
    verify_packet(back, load_trust(fleet.root), now=NOW)
    assert open_body(back, load_gateway_key(fleet.root)) == small_body()
    tampered = cbor2.loads(wire)
    header = cbor2.loads(tampered["h"])
    header["key_id"] = "f" * 16  # another key id: the signature covers it
    tampered["h"] = cbor2.dumps(header, canonical=True)
    assert rejected(cbor2.dumps(tampered, canonical=True), load_trust(fleet.root)) == "bad_signature"


def test_non_canonical_header_is_refused(wire):
    outer = cbor2.loads(wire)
    header = cbor2.loads(outer["h"])
    outer["h"] = cbor2.dumps(dict(reversed(header.items())))  # same fields, other key order
    with pytest.raises(PacketError, match="canonical"):
        decode_packet(cbor2.dumps(outer))


def test_oversized_packet_is_refused_before_parsing():
    with pytest.raises(PacketError) as info:
        decode_packet(b"\xa0" * (MAX_PACKET_BYTES + 1))
    assert info.value.reason == "too_large"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_escapes_as_another_error(data):
    with pytest.raises(PacketError):
        decode_packet(data)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.binary(max_size=20)
                    | st.text(max_size=20) | st.floats(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12))
def test_wrong_shapes_never_escape_as_another_error(value):
    with pytest.raises(PacketError):
        decode_packet(cbor2.dumps({"h": cbor2.dumps(value), "b": b"x", "s": b"s" * 64, "c": b"c"}))


def test_opening_needs_the_gateway_key(fleet, bundle_a, tmp_path):
    other = init_fleet(tmp_path / "other", now=NOW)
    with pytest.raises(PacketError) as info:
        open_body(make(bundle_a), load_gateway_key(other.root))
    assert info.value.reason == "sealed"


def test_post_quantum_fleet_round_trip_realistic_size(tmp_path):
    f = init_fleet(tmp_path / "pq", post_quantum=True, now=NOW)
    request(tmp_path / "b", "kiosk-pq")
    complete(f, tmp_path / "b", now=NOW)
    bundle = load_bundle(tmp_path / "b")
    assert bundle.suite == "mlkem768-x25519"
    body = synthetic_body(missing_fingers=("left_little",))
    packet = decode_packet(encode_packet(make(bundle, body)))
    verify_packet(packet, load_trust(f.root), now=NOW)
    opened = open_body(packet, load_gateway_key(f.root))
    assert opened == body
    assert len(opened.biometrics) == 14 and len(opened.exceptions) == 1
