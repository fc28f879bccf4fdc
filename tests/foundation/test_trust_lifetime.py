"""The fleet's trust over time: the CRL re-signed before it lapses, trust status, revocation
reaching the broker (CRL + ACL + SIGHUP) and the fleet service; a real Mosquitto under
libfaketime for what OpenSSL and Mosquitto really do."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from anjungan import topics
from broker.fleet.client import render_status
from broker.fleet.dashboard.app import create_app
from broker.fleet.dashboard.auth import hash_password
from broker.fleet.dashboard.views import fleet_json
from broker.fleet.model import AlertKind
from broker.fleet.server import fleet_registry
from broker.fleet.service import FleetService
from broker.fleet.store import open_store
from entrypoints.cli import main
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import load_bundle
from provisioning.centres import FLEET_MONITOR_ID, Role
from provisioning.crl import DAY, acl_denials, is_due, load_crl, next_update, parse_crl, refresh_crl
from provisioning.errors import ProvisioningError
from provisioning.fleet import centre_tls, init_fleet, open_fleet, revoke
from provisioning.keeper import BrokerRef, install, keep, push, signal_broker
from provisioning.mosquitto import write_config
from provisioning.status import TrustState, trust_status
from tests.fleet.kit import Clock, feedback, health, status
from tests.fleet.test_dashboard import PASSWORD, TestClient, sign_in
from tests.foundation.test_provisioning import Client, kiosk_client
from tests.waiting import wait_until

T0 = 1_800_000_000.0  # every fleet here is made at T0; time moves by passing `now`


def run(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as exc:  # argparse refusing an argument
        return int(exc.code or 0)


@pytest.fixture
def fleet(tmp_path):
    f = str(tmp_path / "fleet")
    # kiosk certificates outlast the broker clock's jumps here (31 days): these tests are about
    # the CRL; short certificates and their renewal are tests/foundation/test_renewal.py's
    assert run("provision", "init-fleet", f, "--kiosk-days", "365") == 0
    for kid in ("kiosk-k", "kiosk-l"):
        assert run("provision", "enroll", f, "--kiosk-id", kid, "--out", str(tmp_path / kid)) == 0
    return open_fleet(f)


@pytest.fixture(scope="module")
def module_fleet(tmp_path_factory):
    return init_fleet(tmp_path_factory.mktemp("ca") / "fleet")


def made_at_t0(tmp_path):
    return init_fleet(tmp_path / "fleet0", now=T0)


# -- the CRL's lifetime ----------------------------------------------------------------------
def test_crl_is_re_signed_only_once_within_its_margin(tmp_path):
    f = made_at_t0(tmp_path)
    assert next_update(load_crl(f)) == T0 + 30 * DAY
    # due when fewer than 20 of the 30 days remain: from day 10 on
    assert not refresh_crl(f, now=T0 + 10 * DAY - 1, if_due=True)
    assert next_update(load_crl(f)) == T0 + 30 * DAY
    assert refresh_crl(f, now=T0 + 10 * DAY, if_due=True)
    assert next_update(load_crl(f)) == T0 + 40 * DAY
    assert not is_due(load_crl(f), T0 + 10 * DAY)
    assert refresh_crl(f, now=T0 + 11 * DAY)  # without if_due: always
    assert next_update(load_crl(f)) == T0 + 41 * DAY


def test_refresh_keeps_every_revoked_serial_and_its_date(fleet):
    revoke(fleet, "kiosk-k", now=T0)
    before = {r.serial_number: r.revocation_date_utc for r in load_crl(fleet)}
    assert len(before) == 1
    assert refresh_crl(fleet, now=T0 + 15 * DAY)
    crl = load_crl(fleet)
    assert {r.serial_number: r.revocation_date_utc for r in crl} == before
    assert crl.is_signature_valid(fleet.issuer().public_key())  # type: ignore[arg-type]


def test_a_damaged_or_foreign_crl_is_refused(fleet, tmp_path):
    fleet.path("crl.pem").write_bytes(b"garbage")
    with pytest.raises(ProvisioningError, match="not a valid CRL"):
        refresh_crl(fleet, if_due=True)
    other = init_fleet(tmp_path / "other")
    fleet.path("crl.pem").write_bytes(other.path("crl.pem").read_bytes())
    with pytest.raises(ProvisioningError, match="not signed by this fleet's CA"):
        load_crl(fleet)
    # the technician's repair: re-signed from the registry, which keeps every revoked serial
    revoke(fleet, "kiosk-k")
    fleet.path("crl.pem").write_bytes(b"garbage")
    assert run("provision", "refresh-crl", str(fleet.root), "--if-due") == 1
    assert run("provision", "refresh-crl", str(fleet.root)) == 0
    serial = int(fleet.registry()["kiosks"]["kiosk-k"]["serial"])
    assert [r.serial_number for r in load_crl(fleet)] == [serial]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600), at=st.integers(min_value=0, max_value=10_000), flip=st.integers(0, 255))
def test_parse_crl_refuses_any_damage_with_our_error(module_fleet, data, at, flip):
    ca = module_fleet.issuer()
    good = module_fleet.path("crl.pem").read_bytes()
    damaged = bytearray(good)
    damaged[at % len(damaged)] ^= flip or 1
    for candidate in (data, bytes(damaged), good[: at % len(good)]):
        try:
            crl = parse_crl(candidate, ca)
        except ProvisioningError:
            continue
        assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]


# -- status ------------------------------------------------------------------------------------
def states(status_) -> dict[str, TrustState]:
    return {f"{i.kind}:{i.name}": i.state for i in status_.items}


def test_status_judges_each_item_at_now(tmp_path):
    f = made_at_t0(tmp_path)
    ok = states(trust_status(f, T0))
    assert ok == {"ca:ca.pem": TrustState.OK, "issuing:issuing.pem": TrustState.OK,
                  "broker:broker.pem": TrustState.OK, "centre:centre.pem": TrustState.OK,
                  "centre:centres/anjungan-fleet.pem": TrustState.OK,
                  "centre:centres/anjungan-signer.pem": TrustState.OK, "crl:crl.pem": TrustState.OK}
    assert states(trust_status(f, T0 + 10 * DAY))["crl:crl.pem"] is TrustState.DUE
    assert states(trust_status(f, T0 + 23.5 * DAY))["crl:crl.pem"] is TrustState.EXPIRING
    late = trust_status(f, T0 + 30 * DAY)
    assert [f"{i.kind}:{i.name}" for i in late.expired] == ["crl:crl.pem"]
    assert late.crl_refresh_at == T0 + 10 * DAY
    # leaf certificates last 730 days: renewal due 30 days before, expiring 7 days before
    assert states(trust_status(f, T0 + 700 * DAY))["broker:broker.pem"] is TrustState.DUE
    assert states(trust_status(f, T0 + 724 * DAY))["broker:broker.pem"] is TrustState.EXPIRING


def test_status_cli_lists_everything_and_fails_when_something_expired(fleet, capsys):
    revoke(fleet, "kiosk-k")
    assert run("provision", "status", str(fleet.root), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(i["kind"], i["name"], i["state"]) for i in shown["items"]] == [
        ("ca", "ca.pem", "ok"), ("issuing", "issuing.pem", "ok"), ("broker", "broker.pem", "ok"),
        ("centre", "centre.pem", "ok"), ("centre", "centres/anjungan-fleet.pem", "ok"),
        ("centre", "centres/anjungan-signer.pem", "ok"),
        ("kiosk", "kiosk-k", "revoked"), ("kiosk", "kiosk-l", "ok"), ("crl", "crl.pem", "ok")]
    assert shown["crl"]["revoked_serials"] == 1 and shown["expired"] == []
    refresh_crl(fleet, now=time.time() - 31 * DAY)  # a CRL signed 31 days ago has lapsed
    assert run("provision", "status", str(fleet.root)) == 1
    out, err = capsys.readouterr()
    assert "expired" in out.splitlines()[-2] and err == "anjungan: error: expired: crl crl.pem\n"
    assert run("provision", "refresh-crl", str(fleet.root), "--if-due") == 0
    assert run("provision", "status", str(fleet.root)) == 0


def test_status_judges_the_broker_copy_of_the_crl_too(fleet, tmp_path, capsys):
    write_config(fleet, tmp_path / "conf", port=1)
    refresh_crl(fleet, now=time.time() - 31 * DAY)
    install(fleet, tmp_path / "conf")  # the broker has the lapsed one
    refresh_crl(fleet)  # the fleet folder a fresh one, not yet copied
    assert run("provision", "status", str(fleet.root), "--json",
               "--mosquitto-conf-dir", str(tmp_path / "conf")) == 1
    shown = json.loads(capsys.readouterr().out)
    assert shown["expired"] == [f"crl {tmp_path / 'conf' / 'crl.pem'}"]
    assert run("provision", "status", str(fleet.root), "--mosquitto-conf-dir", str(tmp_path)) == 1
    assert "no mosquitto.conf" in capsys.readouterr().err


def damage(fleet, name: str, data: bytes) -> str:
    fleet.path(name).write_bytes(data)
    return str(fleet.root)


@pytest.mark.parametrize("name,data", [
    ("ca.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
    ("crl.pem", b"\x00\xff"), ("registry.json", b"[1, 2]"),
    ("registry.json", b'{"kiosks": {"kiosk-k": 7}}'), ("broker.pem", b""),
    ("kiosks/kiosk-l.pem", b"not a certificate"),
])
def test_status_of_a_damaged_folder_is_one_line(fleet, name, data, capsys):
    assert run("provision", "status", damage(fleet, name, data)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("anjungan: error: ")


@pytest.mark.parametrize("argv", [
    ["provision", "status", "/nonexistent"],
    ["provision", "status", "/nonexistent", "--json"],
    ["provision", "refresh-crl", "/nonexistent"],
    ["provision", "refresh-crl", "/nonexistent", "--if-due", "--broker-pid", "x"],
    ["provision", "refresh-crl", "/nonexistent", "--broker-pid", "1", "--broker-pid-file", "f"],
    ["provision", "crl-keeper", "/nonexistent", "--mosquitto-conf-dir", "/tmp"],
    ["provision", "crl-keeper", "/nonexistent"],
    ["provision", "crl-keeper", "/nonexistent", "--mosquitto-conf-dir", "/tmp", "--interval", "0"],
    ["provision", "crl-keeper", "/nonexistent", "--mosquitto-conf-dir", "/tmp", "--interval", "nan"],
    ["provision", "revoke", "/nonexistent", "--kiosk-id", "k", "--broker-pid", "-3"],
])
def test_garbage_to_the_new_commands_is_one_line_and_non_zero(argv, capsys):
    assert run(*argv) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_garbage_against_a_real_fleet_is_one_line_and_non_zero(fleet, tmp_path, capsys):
    f = str(fleet.root)
    for argv in (["refresh-crl", f, "--broker-pid", "4242"],  # a pid without a config folder
                 ["refresh-crl", f, "--mosquitto-conf-dir", str(tmp_path)],  # no mosquitto.conf
                 ["crl-keeper", f, "--mosquitto-conf-dir", str(tmp_path / "none")],
                 ["revoke", f, "--kiosk-id", "kiosk-k", "--mosquitto-conf-dir", "/nonexistent"]):
        assert run("provision", *argv) != 0, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, argv


# -- taking it to the broker -------------------------------------------------------------------
def test_revoked_kiosks_are_denied_every_topic_in_the_generated_acl(fleet, tmp_path):
    assert acl_denials([]) == ""
    revoke(fleet, "kiosk-k")
    write_config(fleet, tmp_path / "conf", port=1)
    acl = (tmp_path / "conf" / "acl").read_text()
    assert acl.endswith("user kiosk-k\ntopic deny #\n") and "user kiosk-l" not in acl


def test_install_copies_only_what_changed_and_never_signals_a_stranger(fleet, tmp_path):
    write_config(fleet, tmp_path / "conf", port=1)
    assert not install(fleet, tmp_path / "conf")  # freshly written: nothing to do
    revoke(fleet, "kiosk-k")
    assert install(fleet, tmp_path / "conf")
    assert (tmp_path / "conf" / "crl.pem").read_bytes() == fleet.path("crl.pem").read_bytes()
    assert "user kiosk-k" in (tmp_path / "conf" / "acl").read_text()
    assert not push(fleet, tmp_path / "conf", BrokerRef(pid=os.getpid()))  # unchanged: no signal
    with pytest.raises(ProvisioningError, match="is not mosquitto"):
        signal_broker(BrokerRef(pid=os.getpid()))  # SIGHUP would end this test run
    (tmp_path / "pid").write_text("garbage\n")
    with pytest.raises(ProvisioningError, match="holds no pid"):
        signal_broker(BrokerRef(pid_file=tmp_path / "pid"))


def test_revoke_can_push_to_the_broker_folder(fleet, tmp_path, capsys):
    write_config(fleet, tmp_path / "conf", port=1)
    conf = str(tmp_path / "conf")
    assert run("provision", "revoke", str(fleet.root), "--kiosk-id", "kiosk-k",
               "--mosquitto-conf-dir", conf) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"CRL and ACL in {conf} are current; reload the broker (SIGHUP) to apply")
    assert (tmp_path / "conf" / "crl.pem").read_bytes() == fleet.path("crl.pem").read_bytes()
    assert "user kiosk-k" in (tmp_path / "conf" / "acl").read_text()


def test_keeper_round_refreshes_when_due_and_installs(fleet, tmp_path):
    write_config(fleet, tmp_path / "conf", port=1)
    stop = threading.Event()
    stop.set()  # one round, then return
    keep(fleet, tmp_path / "conf", None, interval_s=60, stop=stop, clock=lambda: time.time() + 15 * DAY)
    crl = x509.load_pem_x509_crl((tmp_path / "conf" / "crl.pem").read_bytes())
    assert next_update(crl) > time.time() + 44 * DAY  # re-signed "15 days from now", installed


# -- the fleet service ---------------------------------------------------------------------------
def test_fleet_service_refuses_a_revoked_kiosk_and_shows_it_revoked():
    registry = {"kiosk-k": "active", "kiosk-l": "active"}
    view = [dict(registry)]
    clock = Clock()
    service = FleetService(open_store("sqlite://:memory:"), clock=clock, registry=lambda: view[0])
    acked: list[tuple[str, str]] = []
    service.on_feedback_stored = acked.extend
    for kid in ("kiosk-k", "kiosk-l"):
        assert service.handle(*status(kid, "online", "s1"))
        assert service.handle(*health(kid, disk_free_pct=3.0))  # a disk_low alert each
    service.flush()
    assert {a.key.kiosk_id for a in service.open_alerts() if a.key.kind is AlertKind.DISK_LOW} == {
        "kiosk-k", "kiosk-l"}

    view[0] = {**registry, "kiosk-k": "revoked"}  # `provision revoke` (a new mapping)
    assert not service.handle(*health("kiosk-k"))
    assert not service.handle(*feedback("kiosk-k", "f-1", "dari anjungan dicabut"))
    assert not service.handle(*status("kiosk-k", "online", "s2"))
    assert service.handle(*feedback("kiosk-l", "f-2", "baik"))
    service.flush()
    assert acked == [("kiosk-l", "f-2")]  # only the active kiosk's feedback is stored and acked
    assert [r.feedback.kiosk_id for r in service.store.feedback(answered=False, limit=10)] == ["kiosk-l"]
    assert {a.key.kiosk_id for a in service.open_alerts()} == {"kiosk-l"}  # its alerts cleared
    rows = {r["kiosk_id"]: r for r in fleet_json(service)["kiosks"]}
    assert (rows["kiosk-k"]["revoked"], rows["kiosk-k"]["online"]) == (True, False)
    assert (rows["kiosk-l"]["revoked"], rows["kiosk-l"]["online"]) == (False, True)
    assert fleet_json(service)["counts"] == {"kiosks": 2, "online": 1, "offline": 1}
    clock.t += 3600  # silent for an hour: no offline alert for a revoked kiosk
    service.tick()
    assert {a.key.kiosk_id for a in service.open_alerts()} == {"kiosk-l"}
    assert "  kiosk-k                  REVOKED last seen" in render_status(fleet_json(service), now=clock.t)
    service.store.set_staff("ayu", hash_password(PASSWORD), at=0.0)
    with TestClient(create_app(service, api_token="t"), follow_redirects=False) as web:
        assert sign_in(web) == 303
        for page in ("/", "/kiosk/kiosk-k"):
            assert "Dicabut (sertifikat)" in web.get(page).text

    view[0] = dict(registry)  # re-enrolled: accepted again
    assert service.handle(*health("kiosk-k"))


def test_fleet_serve_reads_revocations_from_the_fleet_folder(fleet):
    registry = fleet_registry(fleet.root, check_every_s=0)
    before = registry()
    assert before == {"kiosk-k": "active", "kiosk-l": "active"} and registry() is before
    revoke(fleet, "kiosk-k")
    assert registry() == {"kiosk-k": "revoked", "kiosk-l": "active"}


# -- a real Mosquitto, its clock moved with libfaketime -----------------------------------------
LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


def faked(days: int) -> dict[str, str]:
    return {"LD_PRELOAD": LIBFAKETIME[0], "FAKETIME": f"+{days}d"}


def centre_client(fleet, port) -> Client:
    """The fleet monitor's identity: it reads every kiosk's health."""
    tls = centre_tls(fleet.root, FLEET_MONITOR_ID, Role.FLEET)
    return Client("centre-test", port, tls.ca_file, tls.cert_file, tls.key_file)


@pytest.mark.slow
@pytest.mark.skipif(not LIBFAKETIME, reason="needs libfaketime (apt-get install faketime)")
def test_real_mosquitto_crl_lapse_refresh_sighup_and_live_revocation(fleet, tmp_path):
    root = fleet.root.parent
    port = free_port()
    conf = write_config(fleet, tmp_path / "conf", port=port, persistence=False)
    broker = BrokerProcess(conf, port).start(log=tmp_path / "mosquitto.log", env=faked(31))
    opened: list[Client] = []

    def kiosk(kid: str) -> Client:
        opened.append(kiosk_client(root / kid, port))
        return opened[-1]

    def refused(kid: str, wait_s: float) -> bool:
        """One connection attempt with the kiosk's certificate, under its own client id (an
        accepted one must not take over the kiosk's session); closed at once (paho retries)."""
        b = load_bundle(root / kid)
        attempt = Client(f"probe-{kid}", port, b.ca_file, b.cert_file, b.key_file)
        connected = attempt.connected.wait(wait_s)
        attempt.close()
        return not connected

    try:
        pid = broker.process.pid  # type: ignore[union-attr]
        # 31 days on, the CRL made with the fleet has lapsed: every kiosk is refused
        assert refused("kiosk-l", 2)
        # the timer's refresh 15 days in (due: 15 of 30 days left) gives a CRL valid to day 45
        assert refresh_crl(fleet, now=time.time() + 15 * DAY, if_due=True)
        assert install(fleet, tmp_path / "conf")
        assert refused("kiosk-l", 1.5)  # copied, but Mosquitto not told yet
        signal_broker(BrokerRef(pid=pid))  # SIGHUP: Mosquitto 2.0 re-reads crlfile
        l_, k = kiosk("kiosk-l"), kiosk("kiosk-k")
        assert l_.connected.wait(5) and k.connected.wait(5)

        centre = centre_client(fleet, port)
        opened.append(centre)
        assert centre.connected.wait(5)
        subscribed = threading.Barrier(4)
        for client, topic in ((centre, topics.subscription("health")), (k, topics.topic("kiosk-k", "ack")),
                              (l_, topics.topic("kiosk-l", "ack"))):
            client.c.on_subscribe = lambda *a: subscribed.wait(5)
            client.c.subscribe(topic, qos=1)
        subscribed.wait(5)

        # the technician revokes and pushes (CRL + ACL, SIGHUP), on the broker's clock (a CRL
        # signed 31 days behind the broker would be lapsed there and refuse every kiosk)
        done = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "provision", "revoke", str(fleet.root),
             "--kiosk-id", "kiosk-k", "--mosquitto-conf-dir", str(tmp_path / "conf"),
             "--broker-pid", str(pid)],
            env={**os.environ, **faked(31)}, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1].endswith("broker told to reload (SIGHUP)")
        # Mosquitto reloads in a later round of its main loop: two messages routed after the
        # signal prove a round has passed (no probe yet: with client ids bound to the
        # certificate, a probe accepted before the reload would take over k's session)
        for marker in (b"round-1", b"round-2"):
            l_.c.publish(topics.topic("kiosk-l", "health"), marker, qos=1).wait_for_publish(5)
            assert wait_until(lambda m=marker: (topics.topic("kiosk-l", "health"), m) in centre.received, 10)
        centre.received.clear()
        # the session opened before the revocation stays up but may no longer publish: the
        # broker handles k's publish before its PUBACK, and forwards l's after it
        k.c.publish(topics.topic("kiosk-k", "health"), b"from-revoked", qos=1).wait_for_publish(5)
        l_.c.publish(topics.topic("kiosk-l", "health"), b"from-active", qos=1).wait_for_publish(5)
        assert wait_until(lambda: centre.received, 5)
        assert centre.received == [(topics.topic("kiosk-l", "health"), b"from-active")]
        # nor receive: its subscription is denied too (a marker to itself arrives; ours not)
        centre.c.publish(topics.topic("kiosk-k", "ack"), b"for-revoked", qos=1).wait_for_publish(5)
        centre.c.publish(topics.topic("kiosk-l", "ack"), b"for-active", qos=1).wait_for_publish(5)
        assert wait_until(lambda: (topics.topic("kiosk-l", "ack"), b"for-active") in l_.received, 5)
        assert k.received == [] and k.c.is_connected()
        # and new connections are refused (the CRL reloaded in the same round)
        assert refused("kiosk-k", 1.0) and not refused("kiosk-l", 5)

        # the keeper daemon pushes a revocation made without the push options
        keeper = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "provision", "crl-keeper", str(fleet.root),
             "--mosquitto-conf-dir", str(tmp_path / "conf"), "--broker-pid", str(pid),
             "--interval", "1"],
            env={**os.environ, **faked(31)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            revoke(fleet, "kiosk-l", now=time.time() + 31 * DAY)
            assert any(refused("kiosk-l", 1.0) for _ in range(8))
            assert refused("kiosk-l", 1.0)
        finally:
            keeper.terminate()
            keeper.wait(5)
        assert b"broker %d told to reload" % pid in keeper.stderr.read()  # type: ignore[union-attr]
    finally:
        for c in opened:
            c.close()
        broker.stop()
