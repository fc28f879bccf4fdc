"""Fleet trust end to end: CLI, key files, and a real Mosquitto enforcing TLS, ACLs and the CRL."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from anjungan import topics
from entrypoints.cli import main
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import load_bundle
from provisioning.fleet import centre_tls, open_fleet
from provisioning.mosquitto import write_config
from tests.waiting import wait_until


def run(*argv: str) -> int:
    return main(list(argv))


def test_cli_fleet_life_cycle(tmp_path, capsys):
    f, b = str(tmp_path / "fleet"), str(tmp_path / "kiosk")
    assert run("provision", "init-fleet", f) == 0
    for key in ("ca.key", "broker.key", "centre.key", "gateway.key"):
        assert stat.S_IMODE(os.stat(tmp_path / "fleet" / key).st_mode) == 0o600
    assert run("provision", "init-fleet", f) == 1  # never overwrite a fleet
    # the kiosk makes its own key; the technician signs
    assert run("provision", "request", b, "--kiosk-id", "dps-01") == 0
    assert stat.S_IMODE(os.stat(tmp_path / "kiosk" / "device.key").st_mode) == 0o600
    assert run("provision", "sign", f, b, "--office", "Denpasar Selatan") == 0
    assert load_bundle(b).kiosk_id == "dps-01"
    assert run("provision", "enroll", f, "--kiosk-id", "dps-01", "--out", str(tmp_path / "x")) == 1
    assert not (tmp_path / "x").exists()  # no half-made bundle left behind
    assert run("provision", "enroll", f, "--kiosk-id", "Bad Id!", "--out", str(tmp_path / "y")) == 1
    pkt = str(tmp_path / "p.bin")
    assert run("packet", "sample", "--bundle", b, "--out", pkt) == 0
    capsys.readouterr()
    # the sample's body is what a kiosk seals: ISO/IEC 19794 records of the sample captures
    from anjungan.packet import decode_packet, open_body
    from provisioning.fleet import load_gateway_key

    body = open_body(decode_packet(Path(pkt).read_bytes()), load_gateway_key(f))
    formats = {r.image_format for r in body.biometrics}
    assert {"iso19794-4", "iso19794-5", "iso19794-6"} <= formats
    assert all(r.image[:4] in (b"FIR\0", b"FAC\0", b"IIR\0") for r in body.biometrics
               if r.image_format.startswith("iso19794"))
    assert run("packet", "inspect", pkt, "--fleet", f, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["valid"] and shown["header"]["kiosk_id"] == "dps-01"
    assert "5171" not in json.dumps(shown)  # no NIK, no biometrics in what inspect shows
    assert run("provision", "revoke", f, "--kiosk-id", "dps-01") == 0
    assert run("provision", "list", f, "--json") == 0
    capsys.readouterr()
    assert run("packet", "inspect", pkt, "--fleet", f) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "revoked" in err


@pytest.mark.parametrize("argv", [
    ["packet", "inspect", "/nonexistent", "--fleet", "/nonexistent"],
    ["packet", "sample", "--bundle", "/nonexistent", "--out", "/tmp/x"],
    ["provision", "revoke", "/nonexistent", "--kiosk-id", "k"],
    ["provision", "list", "/nonexistent"],
    ["provision", "mosquitto", "/nonexistent", "--out", "/tmp/x"],
    ["nik", "x" * 40],
])
def test_bad_input_is_one_line_and_non_zero(argv, capsys):
    assert run(*argv) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


class Client:
    """A paho client with a certificate, remembering what it receives."""

    def __init__(self, name: str, port: int, ca: str, cert: str, key: str) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
        self.c.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
        self.c.on_connect = lambda *a: self.connected.set() if a[3] == 0 else None
        self.c.on_message = lambda _c, _u, m: self.received.append((m.topic, m.payload))
        self.acked: set[int] = set()  # message ids of acknowledged subscriptions
        self.c.on_subscribe = lambda _c, _u, mid, *_a: self.acked.add(mid)
        try:
            self.c.connect("127.0.0.1", port)
        except OSError:
            return
        self.c.loop_start()

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the broker's SUBACK (granted or not)."""
        _rc, mid = self.c.subscribe(topic, qos=1)
        assert wait_until(lambda: mid in self.acked)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def kiosk_client(bundle_dir, port) -> Client:
    b = load_bundle(bundle_dir)
    return Client(b.kiosk_id, port, b.ca_file, b.cert_file, b.key_file)


def test_real_mosquitto_enforces_acls_and_revocation(tmp_path):
    f = str(tmp_path / "fleet")
    run("provision", "init-fleet", f)
    for kid in ("kiosk-k", "kiosk-l"):
        run("provision", "enroll", f, "--kiosk-id", kid, "--out", str(tmp_path / kid))
    port = free_port()
    conf = write_config(open_fleet(f), tmp_path / "conf", port=port, persistence=False)
    broker = BrokerProcess(conf, port).start()
    try:
        tls = centre_tls(f)
        centre = Client("centre", port, tls.ca_file, tls.cert_file, tls.key_file)
        assert centre.connected.wait(5)
        centre.subscribe(topics.subscription("capture"))
        k, l_ = kiosk_client(tmp_path / "kiosk-k", port), kiosk_client(tmp_path / "kiosk-l", port)
        assert k.connected.wait(5) and l_.connected.wait(5)
        l_.subscribe(topics.topic("kiosk-l", "ack"))
        k.subscribe(topics.topic("kiosk-l", "ack"))  # not its own: nothing may reach it
        k.subscribe(topics.topic("kiosk-k", "ack"))
        # The broker keeps one publisher's messages in order, so once the later message of
        # each pair has arrived, the earlier one (forged, or for someone else) would have too.
        k.c.publish(topics.topic("kiosk-l", "capture"), b"forged", qos=1).wait_for_publish(5)
        k.c.publish(topics.topic("kiosk-k", "capture"), b"mine", qos=1).wait_for_publish(5)
        centre.c.publish(topics.topic("kiosk-l", "ack"), b"for-l", qos=1).wait_for_publish(5)
        centre.c.publish(topics.topic("kiosk-k", "ack"), b"for-k", qos=1).wait_for_publish(5)
        assert wait_until(lambda: centre.received and l_.received and k.received)
        assert centre.received == [(topics.topic("kiosk-k", "capture"), b"mine")]
        assert l_.received == [(topics.topic("kiosk-l", "ack"), b"for-l")]
        assert k.received == [(topics.topic("kiosk-k", "ack"), b"for-k")]
        for c in (centre, k, l_):
            c.close()
    finally:
        broker.stop()

    run("provision", "revoke", f, "--kiosk-id", "kiosk-k")
    conf = write_config(open_fleet(f), tmp_path / "conf", port=port, persistence=False)
    broker = BrokerProcess(conf, port).start()
    try:
        k, l_ = kiosk_client(tmp_path / "kiosk-k", port), kiosk_client(tmp_path / "kiosk-l", port)
        assert l_.connected.wait(5)
        assert not k.connected.wait(2)
        k.close()
        l_.close()
    finally:
        broker.stop()
