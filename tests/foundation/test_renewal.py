"""Kiosk certificate renewal without a broker: the signer's answers, the registry's serials,
superseded versus revoked packets, the bundle's crash-safe install, the kiosk's renewer."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anjungan import topics
from anjungan.messages import RenewalOutcome, RenewalReply, RenewalRequest, renewal_proof_bytes
from anjungan.packet import PacketError, verify_packet
from anjungan.packet.seal import gateway_key_id
from entrypoints.cli import build_parser, main
from kiosk.renewal import Renewer, renew_at
from kiosk.transport import LinkEventKind, MemoryTransport
from provisioning import rekey
from provisioning import x509 as px
from provisioning.bundle import complete, load_bundle, request
from provisioning.crl import DAY
from provisioning.fleet import init_fleet, load_trust, revoke
from provisioning.signer import answer
from tests.foundation.test_packet import make

T0 = 1_800_000_000.0


@pytest.fixture
def fleet(tmp_path):
    return init_fleet(tmp_path / "fleet", now=T0)


def enroll(fleet, folder, kiosk_id, now=T0):
    request(folder, kiosk_id)
    complete(fleet, folder, now=now)
    return load_bundle(folder)


@pytest.fixture
def bundle(fleet, tmp_path):
    return enroll(fleet, tmp_path / "k1", "kiosk-1")


def renewal(bundle, now, *, key=None, kiosk_id=None, signer_key=None, csr_name=None):
    """A RenewalRequest as a kiosk makes it, with the parts a test wants wrong."""
    key = key or px.new_device_key()
    csr = px.make_csr(key, csr_name or bundle.kiosk_id).public_bytes(serialization.Encoding.PEM).decode()
    proof = (signer_key or bundle.identity.private_key).sign(renewal_proof_bytes("r-1", csr)).hex()
    cert = (bundle.root / "device.pem").read_text()
    req = RenewalRequest(kiosk_id=kiosk_id or bundle.kiosk_id, request_id="r-1", at=now, csr=csr,
                         certificate=cert, proof=proof)
    return req.to_json(), key


def test_a_kiosk_renews_with_a_fresh_key_and_the_old_certificate_is_superseded(fleet, bundle):
    payload, key = renewal(bundle, T0 + 20 * DAY)
    reply = answer(fleet, "kiosk-1", payload, now=T0 + 20 * DAY)
    assert reply.outcome is RenewalOutcome.ISSUED and reply.request_id == "r-1"
    cert = x509.load_pem_x509_certificate(reply.certificate.encode())
    assert cert.not_valid_after_utc.timestamp() == T0 + 20 * DAY + 30 * DAY
    assert cert.issuer == fleet.issuer().subject and reply.chain.encode() == px.pem_cert(fleet.issuer())
    assert reply.gateway_key == fleet.path("gateway.pub").read_text()
    assert reply.gateway_key_id == gateway_key_id(fleet.path("gateway.pub").read_bytes())
    entry = fleet.registry()["kiosks"]["kiosk-1"]
    old = str(x509.load_der_x509_certificate(bundle.identity.certificate).serial_number)
    assert entry["serial"] == str(cert.serial_number)
    assert {s: c["state"] for s, c in entry["certificates"].items()} == {old: "superseded", entry["serial"]: "active"}
    # the same request again (the answer was lost): the same certificate, nothing new issued
    again = answer(fleet, "kiosk-1", payload, now=T0 + 20 * DAY + 60)
    assert again.certificate == reply.certificate
    assert len(fleet.registry()["kiosks"]["kiosk-1"]["certificates"]) == 2


def refused(fleet, kiosk_id, payload, now=T0 + DAY) -> str:
    reply = answer(fleet, kiosk_id, payload, now=now)
    assert reply.outcome is RenewalOutcome.REFUSED and not reply.certificate
    assert "\n" not in reply.reason
    return reply.reason.split(":")[0]


def test_renewals_refused(fleet, bundle, tmp_path):
    other = enroll(fleet, tmp_path / "k2", "kiosk-2")
    assert refused(fleet, "kiosk-1", renewal(bundle, T0, csr_name="kiosk-2")[0]) == "kiosk_mismatch"
    assert refused(fleet, "kiosk-2", renewal(bundle, T0)[0]) == "kiosk_mismatch"  # on another's topic
    # kiosk-2 asks for kiosk-1 with everything of its own: the certificate names kiosk-2
    assert refused(fleet, "kiosk-1", renewal(other, T0, kiosk_id="kiosk-1", csr_name="kiosk-1")[0]) == "kiosk_mismatch"
    foreign = px.new_device_key()  # a key that is not the kiosk's current one signs the proof
    assert refused(fleet, "kiosk-1", renewal(bundle, T0, signer_key=foreign)[0]) == "bad_proof"
    assert refused(fleet, "kiosk-1", renewal(bundle, T0, key=bundle.identity.private_key)[0]) == "same_key"
    ec_csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name.from_rfc4514_string("CN=kiosk-1"))
              .sign(px.new_ec_key(), px.hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    data = json.loads(renewal(bundle, T0)[0])
    data["csr"] = ec_csr
    assert refused(fleet, "kiosk-1", json.dumps(data).encode()) == "bad_csr"
    data["certificate"] = (tmp_path / "fleet" / "ca.pem").read_text()  # the CA is not a kiosk
    data["csr"] = json.loads(renewal(bundle, T0)[0])["csr"]
    assert refused(fleet, "kiosk-1", json.dumps(data).encode()) == "bad_certificate"
    assert refused(fleet, "kiosk-1", renewal(bundle, T0 + 31 * DAY)[0], now=T0 + 31 * DAY) == "expired"
    revoke(fleet, "kiosk-1", now=T0 + 2 * DAY)
    assert refused(fleet, "kiosk-1", renewal(bundle, T0 + 3 * DAY)[0], now=T0 + 3 * DAY) == "revoked"
    assert fleet.registry()["kiosks"]["kiosk-1"]["certificates"].popitem()[1]["state"] == "revoked"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.one_of(st.binary(max_size=300), st.dictionaries(st.text(max_size=8), st.text(max_size=8)).map(
    lambda d: json.dumps({"type": "renew_request", **d}).encode())))
def test_garbage_is_refused_with_one_line(fleet, bundle, garbage):
    assert refused(fleet, "kiosk-1", garbage) in ("malformed", "kiosk_mismatch")


def test_superseded_packets_stay_valid_until_expiry_plus_window_revoked_ones_do_not(fleet, bundle):
    before = make(bundle, now=T0 + 19 * DAY)  # in the outbox when the kiosk renews on day 20
    payload, key = renewal(bundle, T0 + 20 * DAY)
    reply = answer(fleet, "kiosk-1", payload, now=T0 + 20 * DAY)
    assert reply.outcome is RenewalOutcome.ISSUED
    trust = load_trust(fleet.root)
    verify_packet(before, trust, now=T0 + 45 * DAY)  # superseded, expired on day 30: inside the window
    with pytest.raises(PacketError) as info:
        verify_packet(before, trust, now=T0 + 61 * DAY)  # past expiry + the 30-day window
    assert info.value.reason == "expired"
    revoke(fleet, "kiosk-1", now=T0 + 21 * DAY)
    with pytest.raises(PacketError) as info:  # made before the revocation, refused all the same
        verify_packet(before, load_trust(fleet.root), now=T0 + 22 * DAY)
    assert info.value.reason == "revoked"
    entry = fleet.registry()["kiosks"]["kiosk-1"]
    assert set(entry["revoked_serials"]) == set(entry["certificates"])  # superseded + active


# -- the kiosk's side ---------------------------------------------------------------------------
def wire(fleet, renewer, transport, now):
    """Carry what the kiosk published on renew to the signer and its answer back."""
    renewer.pump(now)
    for topic, payload, _retain in transport.published:
        kiosk_id, kind = topics.parse(topic)
        if kind == "renew":
            transport.inject(topics.topic(kiosk_id, "renewed"), answer(fleet, kiosk_id, payload, now=now).to_json())
    transport.published.clear()
    for ev in transport.poll():
        if ev.kind is LinkEventKind.MESSAGE and ev.topic == renewer.reply_topic:
            renewer.on_message(ev.payload, now)


def test_the_renewer_waits_for_two_thirds_then_installs_and_reconnects(fleet, bundle):
    transport = MemoryTransport()
    transport.start()
    seen = []
    renewer = Renewer(bundle=bundle, transport=transport, on_renewed=seen.append, retry_s=60)
    assert transport.subscriptions == [topics.topic("kiosk-1", "renewed")]
    assert renew_at(bundle) == pytest.approx(T0 - 300 + (30 * DAY + 300) * 2 / 3)
    wire(fleet, renewer, transport, T0 + 19 * DAY)
    assert not seen and not (bundle.root / "renewal").exists()
    wire(fleet, renewer, transport, T0 + 20.1 * DAY)
    assert len(seen) == 1 and renewer.renewals == 1
    new = load_bundle(bundle.root)
    assert new.cert_expires_at == pytest.approx(T0 + 50.1 * DAY) and seen[0].cert_expires_at == new.cert_expires_at
    assert new.identity.private_key.private_bytes_raw() != bundle.identity.private_key.private_bytes_raw()
    assert not (bundle.root / "renewal" / "pending.key").exists()
    verify_packet(make(new, now=T0 + 21 * DAY), load_trust(fleet.root), now=T0 + 21 * DAY)
    assert oct(os.stat(bundle.root / "device.key").st_mode & 0o777) == "0o600"


def test_a_refusal_keeps_the_certificate_and_is_shown(fleet, bundle):
    transport = MemoryTransport()
    transport.start()
    renewer = Renewer(bundle=bundle, transport=transport, retry_s=60)
    revoke(fleet, "kiosk-1", now=T0 + DAY)
    wire(fleet, renewer, transport, T0 + 21 * DAY)
    assert renewer.last_refusal.startswith("revoked") and renewer.renewals == 0
    assert load_bundle(bundle.root).identity.certificate == bundle.identity.certificate


def test_a_reply_for_another_key_or_garbage_changes_nothing(fleet, bundle, tmp_path):
    rekey.stage_key(bundle.root)
    payload, _key = renewal(bundle, T0 + 21 * DAY)  # issued for a key the kiosk does not hold
    reply = answer(fleet, "kiosk-1", payload, now=T0 + 21 * DAY)
    renewer = Renewer(bundle=bundle, transport=MemoryTransport())
    renewer.on_message(reply.to_json(), T0 + 21 * DAY)
    renewer.on_message(b"\xff{", T0 + 21 * DAY)
    forged = RenewalReply(request_id="r-1", outcome=RenewalOutcome.ISSUED,
                          certificate=(tmp_path / "fleet" / "centre.pem").read_text())
    renewer.on_message(forged.to_json(), T0 + 21 * DAY)
    assert renewer.renewals == 0
    assert load_bundle(bundle.root).identity.certificate == bundle.identity.certificate


# -- crash safety of the install (the SIGKILL tests in tests/kiosk/test_renewal_live.py) ----------
@pytest.mark.parametrize("crash", ["staged", "received", "key_moved"])
def test_every_crash_point_leaves_a_working_identity(fleet, bundle, crash):
    key = rekey.stage_key(bundle.root)
    csr = px.make_csr(key, "kiosk-1").public_bytes(serialization.Encoding.PEM).decode()
    proof = bundle.identity.private_key.sign(renewal_proof_bytes("r-1", csr)).hex()
    req = RenewalRequest(kiosk_id="kiosk-1", request_id="r-1", at=T0, csr=csr, proof=proof,
                         certificate=(bundle.root / "device.pem").read_text())
    reply = answer(fleet, "kiosk-1", req.to_json(), now=T0 + 21 * DAY)
    if crash in ("received", "key_moved"):
        (bundle.root / "renewal" / "pending.pem").write_text(reply.certificate)
    if crash == "key_moved":
        os.replace(bundle.root / "renewal" / "pending.key", bundle.root / "device.key")
    after = load_bundle(bundle.root)  # recovers
    cert = x509.load_der_x509_certificate(after.identity.certificate)
    assert cert.public_key().public_bytes_raw() == after.identity.private_key.public_key().public_bytes_raw()
    renewed = crash != "staged"
    assert (after.identity.certificate != bundle.identity.certificate) is renewed
    assert rekey.pending_key(bundle.root) is None or not renewed
    if not renewed:  # the next try reuses the staged key and completes
        assert rekey.stage_key(bundle.root).public_key().public_bytes_raw() == key.public_key().public_bytes_raw()


def test_status_of_a_fresh_fleet_shows_short_kiosk_certificates_and_a_crl_refreshed_in_time(tmp_path, capsys):
    f = str(tmp_path / "fleet")
    assert main(["provision", "init-fleet", f]) == 0
    assert main(["provision", "enroll", f, "--kiosk-id", "kiosk-1", "--out", str(tmp_path / "k")]) == 0
    capsys.readouterr()
    assert main(["provision", "status", f, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    kiosks = [i for i in shown["items"] if i["kind"] == "kiosk"]
    assert kiosks and all(i["days_left"] <= 31 for i in kiosks)
    crl = next(i for i in shown["items"] if i["kind"] == "crl")
    assert shown["crl"]["refresh_at"] < crl["expires_at"]
    assert all(i["days_left"] > 7 and i["state"] == "ok" for i in shown["items"])
    kinds = [i["kind"] for i in shown["items"]]
    assert kinds[:2] == ["ca", "issuing"] and kinds.count("centre") == 3


def test_the_shipped_signer_unit_runs_a_command_our_cli_accepts():
    unit = Path(__file__).resolve().parents[2] / "provisioning" / "rpi" / "anjungan-signer.service"
    line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    args = build_parser().parse_args(argv[1:])
    assert (args.dir, args.centre_dir, args.mosquitto_conf_dir) == (
        "/etc/anjungan/fleet", "/etc/anjungan/centre", "/etc/mosquitto/conf.d/anjungan")
    assert not args.allow_ca_key
