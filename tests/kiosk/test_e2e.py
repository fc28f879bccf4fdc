"""End to end: the real `anjungan kiosk run` process, drivers' simulators, a real Mosquitto,
and the centre played by the test (verify, open with the gateway key, ack)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anjungan.packet import decode_packet, open_body
from anjungan.packet.model import PriorityClass, Service
from kiosk.officers import add_officer
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import KioskBundle
from provisioning.centres import CENTRE_ID, FLEET_MONITOR_ID
from provisioning.fleet import centre_tls, load_gateway_key, load_trust, open_fleet
from provisioning.mosquitto import write_config
from tests.kiosk.centre import Centre, PlainBroker
from tests.kiosk.kiosk_process import KioskProcess, script_steps
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PlainBroker]:
    b = PlainBroker(tmp_path).start()
    yield b
    b.stop()


@pytest.fixture
def centre(broker: PlainBroker, fleet_dir: Path) -> Iterator[Centre]:
    c = Centre(broker.port, load_trust(fleet_dir))
    yield c
    c.close()


def bodies(centre: Centre, fleet_dir: Path) -> dict[str, tuple]:
    key = load_gateway_key(fleet_dir)
    out = {}
    for pid, raw in centre.raw.items():
        packet = decode_packet(raw)
        out[pid] = (packet.header, open_body(packet, key))
    return out


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_service_end_to_end(lang: str, bundle: KioskBundle, broker: PlainBroker,
                                  centre: Centre, fleet_dir: Path, tmp_path: Path) -> None:
    steps = script_steps("new_recording", "replacement", "correction", "status_check", "feedback")
    k = KioskProcess(bundle.root, broker.port, tmp_path, steps, lang=lang, shots=f"all_services_{lang}")
    assert k.finish() == 0, k.stderr()
    stored = k.named("stored")
    assert len(stored) == 4 and len(k.named("receipt_printed")) == 4
    assert k.named("drained"), (_debug(k), centre.errors)
    assert k.named("stopped")[-1]["pending"] == 0
    assert wait_until(lambda: len(centre.feedback) == 1)
    assert centre.errors == [] and set(centre.packets) == {e["packet_id"] for e in stored}
    assert centre.feedback[0].category == "waiting" and centre.feedback[0].lang == lang
    assert centre.sequences == sorted(centre.sequences)
    opened = bodies(centre, fleet_dir)
    services = sorted(h.service.value for h, _b in opened.values())
    assert services == ["correction", "new_recording", "replacement", "replacement"]
    correction = next(b for h, b in opened.values() if h.service is Service.CORRECTION)
    assert correction.demographics.address == "jl gatot subroto 7" and correction.demographics.disability
    assert any(s.state == "online" for s in centre.statuses) and centre.health
    statuses = [e for e in k.events if e.get("screen") == "status_result"]
    assert len(statuses) == 2  # by typed ticket and by QR


def test_elderly_resident_with_a_missing_finger(bundle: KioskBundle, broker: PlainBroker, centre: Centre,
                                                fleet_dir: Path, tmp_path: Path) -> None:
    k = KioskProcess(bundle.root, broker.port, tmp_path, script_steps("elderly_missing_finger"),
                     shots="elderly_missing_finger_id")
    assert k.finish() == 0, k.stderr()
    assert k.named("stored")[0]["priority"] == "vulnerable"
    ((header, body),) = bodies(centre, fleet_dir).values()
    assert header.priority is PriorityClass.VULNERABLE
    little = next(r for r in body.biometrics if r.position == "right_little")
    assert (little.exception, little.image) == ("missing", b"")
    assert len(body.biometrics) == 14 and body.demographics.birth_date == "1950-03-12"


def test_timeout_warning_then_extension(bundle: KioskBundle, broker: PlainBroker, centre: Centre,
                                        tmp_path: Path) -> None:
    k = KioskProcess(bundle.root, broker.port, tmp_path, script_steps("timeout_extend"), lang="en",
                     shots="timeout_extend_en")
    assert k.finish() == 0, k.stderr()
    assert k.named("timeout_warning") == [{"event": "timeout_warning", "screen": "review"}] * 2
    assert [e["reason"] for e in k.named("session_wiped")] == ["home"] and len(k.named("stored")) == 1
    assert wait_until(lambda: len(centre.packets) == 1)


def test_idle_abandonment_wipes_the_session(bundle: KioskBundle, broker: PlainBroker, centre: Centre,
                                            tmp_path: Path) -> None:
    k = KioskProcess(bundle.root, broker.port, tmp_path, script_steps("idle_abandon"), drain=0,
                     shots="idle_abandon_id")
    assert k.finish() == 0, k.stderr()
    assert k.named("session_wiped") == [{"event": "session_wiped", "reason": "idle"}]
    assert k.named("stored") == [] and centre.packets == {}


def test_assisted_mode_puts_the_officer_in_the_packet(bundle: KioskBundle, broker: PlainBroker,
                                                     centre: Centre, fleet_dir: Path, tmp_path: Path) -> None:
    officers = tmp_path / "officers.json"
    add_officer(officers, "198703122010", "2468")
    k = KioskProcess(bundle.root, broker.port, tmp_path, script_steps("assisted"), lang="en",
                     extra=("--officers", str(officers)), shots="assisted_en")
    assert k.finish() == 0, k.stderr()
    ((header, body),) = bodies(centre, fleet_dir).values()
    assert header.assisted and header.priority is PriorityClass.VULNERABLE
    assert body.demographics.officer_id == "198703122010"


def test_an_officer_completes_for_a_resident_who_cannot_give_biometrics(
        bundle: KioskBundle, broker: PlainBroker, centre: Centre, fleet_dir: Path, tmp_path: Path) -> None:
    """Declined at the first capture, completed by the officer on the kiosk: the packet carries
    every position as an exception, the officer's sign-off with the exception photo, and the
    SIAK simulator accepts the gateway's submission of it."""
    from anjungan.messages import SiakState
    from broker.siak.client import SiakClient
    from broker.siak.contract import parse_submission, submission_document
    from broker.siak.ledger import Ledger
    from broker.siak.sim import SiakSimulator, SimConfig, SimServer

    officers = tmp_path / "officers.json"
    add_officer(officers, "198703122010", "2468")
    k = KioskProcess(bundle.root, broker.port, tmp_path, script_steps("assisted_completion"), lang="en",
                     extra=("--officers", str(officers)), shots="assisted_completion_en")
    assert k.finish() == 0, k.stderr()
    assert [e["reason"] for e in k.named("help_requested")] == ["declined"]
    ((header, body),) = bodies(centre, fleet_dir).values()
    assert header.assisted and header.priority is PriorityClass.VULNERABLE
    assert body.sign_off is not None and body.sign_off.officer_id == "198703122010"
    assert body.sign_off.photo is not None and body.sign_off.photo.image  # the sim camera works
    assert all(r.exception == "unable" and not r.image for r in body.biometrics) and len(body.biometrics) == 14
    document = submission_document(header, body)
    assert parse_submission(document).signed_off_by == "198703122010"
    cfg = SimConfig(capacity_rps=1000.0, concurrency=2, latency_s=0.0)
    with SimServer(SiakSimulator(cfg, Ledger(bio_after_s=0.0, print_after_s=0.0))) as sim:
        view = SiakClient(sim.url).submit(str(header.packet_id), document)
    assert view.state is SiakState.SENT_FOR_ENROLLMENT


def test_broker_down_receipt_prints_then_packet_goes_when_broker_returns(
    bundle: KioskBundle, fleet_dir: Path, tmp_path: Path
) -> None:
    down = PlainBroker(tmp_path)  # its port, nothing listening yet
    k = KioskProcess(bundle.root, down.port, tmp_path, script_steps("replacement"), drain=60)
    done = k.wait_for("script_done")
    assert done["tickets"] and k.named("receipt_printed")
    assert k.proc.poll() is None  # still holding the packet
    down.start()
    centre = Centre(down.port, load_trust(fleet_dir))
    try:
        assert k.finish() == 0, k.stderr()
        assert k.named("drained") and len(centre.packets) == 1 and centre.errors == []
        assert set(centre.packets) == {k.named("stored")[0]["packet_id"]}
    finally:
        centre.close()
        down.stop()


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["stored", "sent_unacked"])
def test_sigkill_after_done_loses_nothing_and_restart_resends(
    kill_at: str, bundle: KioskBundle, broker: PlainBroker, fleet_dir: Path, tmp_path: Path
) -> None:
    centre = Centre(broker.port, load_trust(fleet_dir), ack=False)  # the centre is slow to ack
    try:
        k = KioskProcess(bundle.root, broker.port, tmp_path, script_steps("replacement", "correction"), drain=60)
        first = k.wait_for("stored")
        if kill_at == "sent_unacked":
            k.wait_for("receipt_printed")
            assert wait_until(lambda: first["packet_id"] in centre.packets)
        else:
            k.wait_for("receipt_printed")
        k.kill()  # SIGKILL: no clean shutdown, no offline status of its own
        stored = {e["packet_id"] for e in k.named("stored")}
        assert first["packet_id"] in stored
        assert wait_until(lambda: any(s.state == "offline" for s in centre.statuses))  # the Last Will
        centre.ack = True
        again = KioskProcess(bundle.root, broker.port, tmp_path, [], drain=60)
        assert again.finish() == 0, again.stderr()
        assert again.named("started")[0]["pending"] == len(stored)
        assert again.named("drained") and again.named("stopped")[-1]["pending"] == 0
        assert stored <= set(centre.packets) and centre.errors == []
    finally:
        centre.close()


def test_tls_with_the_bundle_against_the_provisioned_broker(
    bundle: KioskBundle, fleet_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    conf = write_config(open_fleet(fleet_dir), tmp_path / "conf", port=port, persistence=False)
    mosq = BrokerProcess(conf, port).start()
    # each centre process with its own identity: the ingest reads captures, the fleet
    # monitor feedback (the broker refuses each the other's subscriptions)
    centre = Centre(port, load_trust(fleet_dir), tls=centre_tls(fleet_dir), client_id=CENTRE_ID)
    monitor = Centre(port, tls=centre_tls(fleet_dir, FLEET_MONITOR_ID), client_id=FLEET_MONITOR_ID)
    try:
        k = KioskProcess(bundle.root, port, tmp_path, script_steps("feedback", "replacement"), tls=True)
        assert k.finish() == 0, k.stderr()
        assert k.named("started")[0]["tls"] is True and k.named("drained")
        assert wait_until(lambda: len(monitor.feedback) == 1) and centre.feedback == []
        assert set(centre.packets) == {k.named("stored")[0]["packet_id"]} and monitor.packets == {}
        assert centre.errors == [] and monitor.errors == []
    finally:
        centre.close()
        monitor.close()
        mosq.stop()


def _debug(k):  # pragma: no cover
    return [e for e in k.events if e.get("event") not in ("screen", "captured")]
