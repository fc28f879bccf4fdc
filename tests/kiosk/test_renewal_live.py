"""Renewal over a real Mosquitto made from the generated configuration, with the signing
service as a process: a kiosk 21 days into a 30-day certificate renews and reconnects with
the new one; another kiosk cannot use its channel; SIGKILL of the kiosk mid-install and of
the signer mid-signing leaves a working identity that renews on the next try."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509

from anjungan import topics
from anjungan.packet import decode_packet, verify_packet
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import complete, load_bundle, request
from provisioning.centres import CENTRE_ID
from provisioning.crl import DAY
from provisioning.fleet import centre_tls, init_fleet, load_trust
from provisioning.mosquitto import write_config
from tests.foundation.test_packet import make
from tests.foundation.test_provisioning import kiosk_client
from tests.kiosk.centre import Centre
from tests.kiosk.kiosk_process import KioskProcess, script_steps

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SIGNER_DIES_AFTER_SIGNING = """
import os, signal, sys
import provisioning.signer_service as service
real = service.answer
def answer_then_die(*a, **k):
    real(*a, **k)  # the certificate is issued and recorded, the answer never sent
    os.kill(os.getpid(), signal.SIGKILL)
service.answer = answer_then_die
from entrypoints.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def site(tmp_path):
    """A fleet made 21 days ago (kiosks due for renewal now) and its broker."""
    made = time.time() - 21 * DAY
    fleet = init_fleet(tmp_path / "fleet", now=made)
    for kid in ("kiosk-1", "kiosk-2"):
        request(tmp_path / kid, kid)
        complete(fleet, tmp_path / kid, now=made)
    port = free_port()
    conf = write_config(fleet, tmp_path / "conf", port=port, persistence=False)
    broker = BrokerProcess(conf, port).start(log=tmp_path / "mosquitto.log")
    yield fleet, port, tmp_path
    broker.stop()


def signer(fleet, port, *, code: str | None = None) -> subprocess.Popen:
    args = ["provision", "signer", str(fleet.root), "--allow-ca-key", "--broker-port", str(port)]
    prefix = ["-c", code] if code else ["-m", "entrypoints.cli"]
    return subprocess.Popen([sys.executable, *prefix, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def kiosk(bundle: Path, port: int, *flags: str, timeout: float = 30.0) -> tuple[int, list[str]]:
    proc = subprocess.run([sys.executable, "-m", "tests.kiosk.renewal_child", str(bundle), str(port), *flags,
                           "--timeout", str(timeout)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout + 30)
    return proc.returncode, [json.loads(line)["event"] for line in proc.stdout.splitlines() if line.startswith("{")]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)


def connects(bundle: Path, port: int) -> bool:
    client = kiosk_client(bundle, port)
    try:
        return client.connected.wait(5)
    finally:
        client.close()


def serial(bundle: Path) -> int:
    return x509.load_pem_x509_certificate((bundle / "device.pem").read_bytes()).serial_number


def test_a_kiosk_renews_over_mqtt_and_reconnects_with_the_new_certificate(site):
    fleet, port, tmp = site
    before = load_bundle(tmp / "kiosk-1")
    old_packet = make(before, now=time.time())  # still in the outbox when the kiosk renews
    # kiosk-2 writes kiosk-1's renew topic (with kiosk-1's own request): the broker drops it
    intruder = kiosk_client(tmp / "kiosk-2", port)
    assert intruder.connected.wait(5)
    intruder.c.subscribe(topics.topic("kiosk-1", "renewed"), qos=1)
    proc = signer(fleet, port)
    try:
        rc, events = kiosk(tmp / "kiosk-1", port)
        assert rc == 0 and events[-1] == "renewed", events
        after = load_bundle(tmp / "kiosk-1")
        assert after.cert_expires_at == pytest.approx(time.time() + 30 * DAY, abs=120)
        assert events.count("connected") == 2  # first with the old certificate, then the new
        assert connects(tmp / "kiosk-1", port)
        trust = load_trust(fleet.root)
        verify_packet(old_packet, trust, now=time.time())  # superseded, not revoked
        verify_packet(make(after, now=time.time()), trust, now=time.time())
        registry = fleet.registry()["kiosks"]["kiosk-1"]
        assert sorted(c["state"] for c in registry["certificates"].values()) == ["active", "superseded"]
        count = len(registry["certificates"])
        assert not intruder.received  # kiosk-2 never reads kiosk-1's answers
        intruder.c.publish(topics.topic("kiosk-1", "renew"), b"{}", qos=1).wait_for_publish(5)
        time.sleep(1.0)
        assert len(fleet.registry()["kiosks"]["kiosk-1"]["certificates"]) == count
    finally:
        intruder.close()
        stop(proc)


def test_sigkill_of_the_kiosk_mid_renewal_leaves_a_working_identity(site):
    fleet, port, tmp = site
    bundle = tmp / "kiosk-1"
    old = serial(bundle)
    # killed right after asking, the signer not yet running: nothing answered
    rc, events = kiosk(bundle, port, "--die-after-request", timeout=10)
    assert rc == -9 and "requested" in events
    assert serial(bundle) == old and connects(bundle, port)
    staged = (bundle / "renewal" / "pending.key").read_bytes()
    proc = signer(fleet, port)
    try:
        # killed between the renames that install the answer: the worst moment
        rc, events = kiosk(bundle, port, "--die-after-first-rename")
        assert rc == -9, events
        assert (bundle / "device.key").read_bytes() == staged  # the staged key was reused
        assert serial(bundle) == old  # ... and device.pem is still the old certificate
        assert connects(bundle, port)  # load_bundle finished the install
        assert serial(bundle) != old and serial(bundle) == int(fleet.registry()["kiosks"]["kiosk-1"]["serial"])
    finally:
        stop(proc)


def test_sigkill_of_the_signer_mid_signing_then_the_kiosk_renews_on_its_next_try(site):
    fleet, port, tmp = site
    bundle = tmp / "kiosk-1"
    old = serial(bundle)
    dying = signer(fleet, port, code=SIGNER_DIES_AFTER_SIGNING)
    rc, events = kiosk(bundle, port, timeout=8)
    assert dying.wait(10) == -9
    assert rc == 1 and events[-1] == "timeout"
    issued = int(fleet.registry()["kiosks"]["kiosk-1"]["serial"])
    assert issued != old and serial(bundle) == old  # recorded at the centre, never received
    assert connects(bundle, port)  # the old certificate is superseded, not revoked
    proc = signer(fleet, port)
    try:
        rc, events = kiosk(bundle, port)
        assert rc == 0 and events[-1] == "renewed", events
        assert serial(bundle) == issued  # the same certificate: the repeat was idempotent
        assert len(fleet.registry()["kiosks"]["kiosk-1"]["certificates"]) == 2
    finally:
        stop(proc)


def test_the_kiosk_process_renews_while_its_outbox_waits_and_loses_nothing(site):
    """`anjungan kiosk run` itself: a resident's packet made under the old certificate waits
    (no centre yet) while the kiosk renews and reconnects; then the centre accepts it."""
    fleet, port, tmp = site
    k = KioskProcess(tmp / "kiosk-1", port, tmp, script_steps("replacement"), tls=True, drain=90,
                     extra=("--renew-retry", "2"))
    centre = proc = None
    try:
        stored = k.wait_for("stored", timeout=60)
        proc = signer(fleet, port)  # only now: the packet is signed under the old certificate
        renewed = k.wait_for("renewed", timeout=60)
        assert renewed["cert_expires_at"] == pytest.approx(time.time() + 30 * DAY, abs=300)
        trust = load_trust(fleet.root)
        centre = Centre(port, trust, tls=centre_tls(fleet.root), client_id=CENTRE_ID)
        assert k.finish() == 0, k.stderr()
        assert k.named("drained") and set(centre.packets) == {stored["packet_id"]} and centre.errors == []
        # it was signed under the certificate the renewal superseded
        signed_by = x509.load_der_x509_certificate(decode_packet(centre.raw[stored["packet_id"]]).certificate)
        states = fleet.registry()["kiosks"]["kiosk-1"]["certificates"]
        assert states[str(signed_by.serial_number)]["state"] == "superseded" and len(k.named("renewed")) == 1
    finally:
        if centre is not None:
            centre.close()
        if k.proc.poll() is None:
            k.kill()
        if proc is not None:
            stop(proc)
