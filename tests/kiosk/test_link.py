"""The kiosk says why the broker refuses it: one log line per new reason (no key material),
every failed attempt counted in its health."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from anjungan import topics
from anjungan.messages import Health
from kiosk.outbox import SqliteOutbox
from kiosk.publisher import Publisher, offline_will
from kiosk.transport import MemoryTransport, MqttTransport, TlsFiles
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import complete, load_bundle, request
from provisioning.fleet import init_fleet
from provisioning.mosquitto import write_config
from tests.waiting import wait_until


@pytest.fixture
def broker_and_stranger(tmp_path: Path):
    """A fleet's broker, and a kiosk enrolled in another fleet."""
    port = free_port()
    ours = init_fleet(tmp_path / "ours", broker_port=port)
    theirs = init_fleet(tmp_path / "theirs", broker_port=port)
    request(tmp_path / "stranger", "stranger-01")
    complete(theirs, tmp_path / "stranger")
    broker = BrokerProcess(write_config(ours, tmp_path / "conf", port=port, persistence=False), port)
    broker.start(log=tmp_path / "mosquitto.log")
    try:
        yield port, ours.root, load_bundle(tmp_path / "stranger")
    finally:
        broker.stop()


@pytest.mark.parametrize("trusts_broker", [True, False], ids=["broker-refuses-kiosk", "kiosk-refuses-broker"])
def test_a_refused_tls_connection_is_logged_once_and_counted(broker_and_stranger, trusts_broker, caplog):
    port, ours, stranger = broker_and_stranger
    # trusting our CA, the kiosk's foreign certificate is refused by the broker (a TLS alert
    # after the handshake); trusting its own CA, it refuses the broker's certificate
    ca = str(ours / "ca.pem") if trusts_broker else stranger.ca_file
    tls = TlsFiles(ca_file=ca, cert_file=stranger.cert_file, key_file=stranger.key_file)
    link = MqttTransport(client_id="stranger-01", host="127.0.0.1", port=port, tls=tls,
                         will=offline_will("stranger-01", "s1", 0.0))
    caplog.set_level(logging.WARNING, logger="anjungan.kiosk.link")
    link.start()
    try:
        assert wait_until(lambda: link.failures >= 2)  # it keeps retrying (1 s apart)
    finally:
        link.stop()
    assert not link.connected
    assert link.last_failure.startswith("TLS")
    expected = "tlsv1 alert unknown ca" if trusts_broker else "certificate is not trusted (self-signed certificate in certificate chain)"
    assert expected in link.last_failure and "_ssl.c" not in link.last_failure, link.last_failure
    lines = [r.getMessage() for r in caplog.records if r.name == "anjungan.kiosk.link"]
    assert len(lines) == 1, lines  # the same reason again is counted, not logged again
    assert lines[0].startswith(f"cannot connect to the broker 127.0.0.1:{port}: TLS") and "(attempt 1; retrying)" in lines[0]
    key_pem = Path(stranger.key_file).read_text()
    assert "PRIVATE KEY" not in caplog.text and key_pem.splitlines()[1] not in caplog.text


def test_an_unreachable_broker_is_logged_with_its_reason(caplog):
    port = free_port()  # nothing listens
    link = MqttTransport(client_id="k-01", host="127.0.0.1", port=port, will=offline_will("k-01", "s1", 0.0))
    caplog.set_level(logging.WARNING, logger="anjungan.kiosk.link")
    link.start()
    try:
        assert wait_until(lambda: link.failures >= 1)
    finally:
        link.stop()
    assert link.last_failure == "Connection refused"
    assert f"cannot connect to the broker 127.0.0.1:{port}: Connection refused (attempt 1; retrying)" in caplog.text


def test_health_carries_the_failed_attempts(tmp_path):
    link = MemoryTransport()
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    health = Publisher(kiosk_id="k-01", session_id="s1", outbox=outbox, transport=link,
                       health=lambda now: Health(kiosk_id="k-01", session_id="s1", at=now))
    link.fail("TLS refused: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca")
    link.fail("TLS refused: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca")
    health.start()
    health.pump(100.0)
    sent = [Health.from_json(p) for t, p, _r in link.published if t == topics.topic("k-01", "health")]
    assert [(h.link_failures, h.link_error) for h in sent] == [
        (2, "TLS refused: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca")]
    outbox.close()
