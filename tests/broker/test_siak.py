"""The SIAK simulator over real HTTP, and the client's error mapping at the boundary."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anjungan.messages import SiakState
from anjungan.packet.model import (
    EXCEPTION_REASONS,
    BiometricRecord,
    CaptureBody,
    Demographics,
    Modality,
)
from broker.errors import SiakProtocolError, SiakRejected, SiakThrottled, SiakUnavailable
from broker.siak.client import SiakClient
from broker.siak.contract import ContractError, parse_submission
from broker.siak.ledger import Ledger
from broker.siak.sim import SiakSimulator, SimConfig, SimServer, latency_for


def doc(nik: str = "5171010101900001", service: str = "new_recording") -> bytes:
    return json.dumps({
        "packet_id": str(uuid.uuid4()), "kiosk_id": "kiosk-01", "service": service,
        "priority": 1, "captured_at": 1.0, "demographics": {"nik": nik},
        "biometrics": [{"modality": "face", "position": "face", "image": "AAAA"}],
    }).encode()


@pytest.fixture
def sim() -> Iterator[SimServer]:
    cfg = SimConfig(capacity_rps=1000.0, concurrency=8, latency_s=0.0)
    with SimServer(SiakSimulator(cfg, Ledger(bio_after_s=0.0, print_after_s=0.0))) as server:
        yield server


def faults(server: SimServer, **changes: object) -> None:
    httpx.post(server.url + "/_sim/faults", json=changes).raise_for_status()


def test_submit_then_replay_with_the_same_key(sim: SimServer) -> None:
    client = SiakClient(sim.url)
    key, body = str(uuid.uuid4()), doc()
    first = client.submit(key, body)
    again = client.submit(key, body)
    assert (first.state, first.replay) == (SiakState.SENT_FOR_ENROLLMENT, False)
    assert (again.enrollment_id, again.replay) == (first.enrollment_id, True)
    got = httpx.get(sim.url + "/_sim/accepted").json()
    assert [a["idempotency_key"] for a in got["accepted"]] == [key]
    assert got["duplicate_submissions"] == 1
    status = client.status(key)
    assert status is not None and status.state is SiakState.PRINT_READY  # instant progression
    assert client.status(str(uuid.uuid4())) is None


def test_same_nik_new_recording_is_a_duplicate(sim: SimServer) -> None:
    client = SiakClient(sim.url)
    client.submit(str(uuid.uuid4()), doc())
    assert client.submit(str(uuid.uuid4()), doc()).state is SiakState.DUPLICATE
    assert client.submit(str(uuid.uuid4()), doc(service="replacement")).state is SiakState.SENT_FOR_ENROLLMENT


def test_permanent_rejections(sim: SimServer) -> None:
    client = SiakClient(sim.url)
    with pytest.raises(SiakRejected) as bad_nik:
        client.submit(str(uuid.uuid4()), doc(nik="1234"))
    assert bad_nik.value.status == 422
    with pytest.raises(SiakRejected):
        client.submit(str(uuid.uuid4()), b"{not json")
    key = str(uuid.uuid4())
    client.submit(key, doc())
    with pytest.raises(SiakRejected, match="reused"):
        client.submit(key, doc(nik="5171010101900002"))
    with pytest.raises(SiakRejected) as no_key:
        client.submit("", doc())
    assert no_key.value.status == 400


def test_outage_rate_limit_and_5xx_map_to_transient_errors(sim: SimServer) -> None:
    client = SiakClient(sim.url)
    faults(sim, down=True)
    with pytest.raises(SiakUnavailable, match="503"):
        client.submit(str(uuid.uuid4()), doc())
    faults(sim, down=False, rate_429=1.0)
    with pytest.raises(SiakThrottled) as throttled:
        client.submit(str(uuid.uuid4()), doc())
    assert throttled.value.retry_after == 0.2
    faults(sim, rate_429=0.0, rate_5xx=1.0)
    with pytest.raises(SiakUnavailable):
        client.submit(str(uuid.uuid4()), doc())
    faults(sim, rate_5xx=0.0)
    assert httpx.get(sim.url + "/_sim/accepted").json()["accepted"] == []


def test_timeout_accepts_but_loses_the_answer(sim: SimServer) -> None:
    client = SiakClient(sim.url, timeout_s=0.3)
    faults(sim, rate_timeout=1.0, timeout_hold_s=1.0)
    key, body = str(uuid.uuid4()), doc()
    with pytest.raises(SiakUnavailable, match="timed out"):
        client.submit(key, body)
    faults(sim, rate_timeout=0.0)
    assert client.submit(key, body).replay is True
    got = httpx.get(sim.url + "/_sim/accepted").json()
    assert (len(got["accepted"]), got["duplicate_submissions"]) == (1, 1)


def test_unreachable_siak_is_unavailable() -> None:
    with pytest.raises(SiakUnavailable, match="unreachable"):
        SiakClient("http://127.0.0.1:9", timeout_s=1.0).submit(str(uuid.uuid4()), doc())


def test_answers_outside_the_contract_are_protocol_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "weird" in request.url.path:
            return httpx.Response(201, json={"state": "FLYING", "enrollment_id": "x"})
        return httpx.Response(201, content=b"<html>")

    client = SiakClient("http://siak", transport=httpx.MockTransport(handler))
    with pytest.raises(SiakProtocolError):
        client.submit(str(uuid.uuid4()), doc())
    with pytest.raises(SiakProtocolError, match="unknown state"):
        client.status("weird-key-1")


def test_congestion_by_hour_of_day() -> None:
    cfg = SimConfig(latency_s=0.1, slow_factor=5.0, clock_start_hour=9.0, clock_speed=3600.0)
    assert latency_for(cfg, 0.0) == 0.1  # 09:00
    assert latency_for(cfg, 2.0) == 0.5  # 11:00
    assert latency_for(cfg, 23.0) == 0.1  # 08:00 next day


def test_submission_document_round_trip() -> None:
    from anjungan.packet.model import PacketHeader, PriorityClass, Service
    from broker.siak.contract import submission_document

    header = PacketHeader(
        version=1, packet_id=uuid.uuid4(), kiosk_id="kiosk-01", sequence=1, created_at=5.0,
        service=Service.NEW_RECORDING, priority=PriorityClass.VULNERABLE, suite="x25519",
        body_digest=b"\0" * 32,
    )
    body = CaptureBody(
        demographics=Demographics(nik="5171010101900001"),
        biometrics=(BiometricRecord(modality=Modality.FACE, position="face",
                                    image_format="jpeg2000", image=b"x" * 300, quality=80),),
    )
    sub = parse_submission(submission_document(header, body))
    assert (sub.packet_id, sub.priority, sub.nik, sub.image_bytes) == (
        str(header.packet_id), 0, "5171010101900001", 300,
    )
    with pytest.raises(ContractError):
        parse_submission(b"[1,2]")


@settings(max_examples=30, deadline=None)
@given(name=st.text(max_size=40), images=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=4),
       exception=st.one_of(st.none(), st.sampled_from(sorted(EXCEPTION_REASONS))))
def test_submission_document_is_exactly_the_plain_json_dump(name: str, images: list[bytes],
                                                            exception: str | None) -> None:
    import base64

    from anjungan.packet.model import FORMAT_VERSION, PacketHeader, PriorityClass, Service
    from broker.siak.contract import submission_document

    header = PacketHeader(version=FORMAT_VERSION, packet_id=uuid.UUID(int=7), kiosk_id="kiosk-01",
                          sequence=3, created_at=1700000000.25, service=Service.REPLACEMENT,
                          priority=PriorityClass.VULNERABLE, suite="x", body_digest=b"\0" * 32)
    records = tuple(BiometricRecord(modality=Modality.FACE, position="face", image_format="jpeg2000",
                                    image=img, quality=80, exception=exception) for img in images)
    body = CaptureBody(demographics=Demographics(nik="5171010101900001", name=name), biometrics=records)
    d = body.demographics
    reference = json.dumps({
        "packet_id": str(header.packet_id), "kiosk_id": "kiosk-01", "service": "replacement",
        "priority": 0, "assisted": False, "captured_at": 1700000000.25,
        "demographics": {"nik": d.nik, "kk_number": d.kk_number, "name": name, "birth_date": d.birth_date,
                         "sex": d.sex, "address": d.address, "disability": d.disability},
        "biometrics": [{"modality": "face", "position": "face", "format": "jpeg2000", "quality": 80,
                        "retries": r.retries, "exception": exception,
                        "image": base64.b64encode(r.image).decode()} for r in records],
    }, separators=(",", ":")).encode()
    # the same bytes as before the splice: SIAK compares a retry with the first submission
    assert submission_document(header, body) == reference


def _assisted(sign_off: object, assisted: bool = True) -> bytes:
    return json.dumps({
        "packet_id": str(uuid.uuid4()), "kiosk_id": "kiosk-01", "service": "new_recording",
        "priority": 0, "assisted": assisted, "captured_at": 1.0, "demographics": {"nik": "5171010101900001"},
        "sign_off": sign_off,
        "biometrics": [{"modality": "finger", "position": "right_thumb", "image": "", "exception": "unable"}],
    }).encode()


def test_an_assisted_completion_s_sign_off_travels_to_siak_and_is_accepted(sim: SimServer) -> None:
    from anjungan.packet.model import OfficerSignOff, PacketHeader, PriorityClass, Service
    from broker.siak.contract import submission_document

    header = PacketHeader(version=1, packet_id=uuid.uuid4(), kiosk_id="kiosk-01", sequence=1, created_at=5.0,
                          service=Service.NEW_RECORDING, priority=PriorityClass.VULNERABLE, suite="x25519",
                          body_digest=b"\0" * 32, assisted=True)
    photo = BiometricRecord(modality=Modality.FACE, position="face", image_format="jpeg2000", image=b"p" * 90,
                            quality=70)
    body = CaptureBody(
        demographics=Demographics(nik="5171010101900001", officer_id="19850101"),
        biometrics=(BiometricRecord(modality=Modality.FINGER, position="right_thumb", image_format="raw8",
                                    image=b"", quality=0, exception="unable"),),
        sign_off=OfficerSignOff(officer_id="19850101", confirmed_at=6.0, photo=photo))
    document = submission_document(header, body)
    assert json.loads(document)["sign_off"]["photo"]["image"] and json.loads(document)["biometrics"]
    assert parse_submission(document).signed_off_by == "19850101"
    no_photo = submission_document(header, dataclasses_replace(body, photo=None))
    assert parse_submission(no_photo).signed_off_by == "19850101"
    view = SiakClient(sim.url).submit(str(header.packet_id), document)
    assert view.state is SiakState.SENT_FOR_ENROLLMENT


def dataclasses_replace(body: CaptureBody, **change: object) -> CaptureBody:
    import dataclasses

    assert body.sign_off is not None
    return dataclasses.replace(body, sign_off=dataclasses.replace(body.sign_off, **change))


@pytest.mark.parametrize("raw", [
    _assisted({"officer_id": "19850101", "confirmed_at": 6.0, "photo": None}, assisted=False),
    _assisted({"officer_id": "12", "confirmed_at": 6.0, "photo": None}),
    _assisted({"officer_id": 19850101, "confirmed_at": 6.0, "photo": None}),
    _assisted({"officer_id": "19850101", "confirmed_at": "now", "photo": None}),
    _assisted({"officer_id": "19850101", "confirmed_at": True, "photo": None}),
    _assisted({"officer_id": "19850101", "confirmed_at": 6.0}),
    _assisted({"officer_id": "19850101", "confirmed_at": 6.0, "photo": {"modality": "finger", "image": "AA"}}),
    _assisted({"officer_id": "19850101", "confirmed_at": 6.0, "photo": {"modality": "face", "image": ""}}),
    _assisted({"officer_id": "19850101", "confirmed_at": 6.0, "photo": [[[[]]]]}),
    _assisted(None), _assisted("signed"),
    _assisted({"officer_id": "19850101", "confirmed_at": 6.0, "photo": None}).replace(b"6.0", b"NaN"),
    _assisted({"officer_id": "19850101", "confirmed_at": 6.0, "photo": None}).replace(b"6.0", b"1e999"),
])
def test_a_bad_sign_off_is_a_contract_error(raw: bytes) -> None:
    with pytest.raises(ContractError):
        parse_submission(raw)
