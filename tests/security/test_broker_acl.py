"""The generated Mosquitto configuration under attack by a kiosk's own certificate.

One real broker (TLS, client certificates, ACLs, the client id bound to the certificate's
CN) and three honest clients: the victim kiosk dps-02 (with its Last Will, like the kiosk
app), the central ingest and the fleet monitor, each with its own identity. The attacker
holds kiosk dps-01's certificate and Debian's `mosquitto_pub` / `mosquitto_sub`.

Nothing here sleeps to see that nothing arrives: each attack is followed by a marker sent
on a path the attacker may use or the honest clients own, ordered after the attack (same
publisher, or a reconnect of the attacker's id), and the observer's list is read once the
marker is in.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from anjungan import topics
from anjungan.messages import KioskStatus
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import complete, load_bundle, request
from provisioning.centres import CENTRE_ID, FLEET_MONITOR_ID, Role
from provisioning.fleet import add_centre_identity, centre_tls, init_fleet
from provisioning.mosquitto import write_config
from tests.waiting import wait_until

ATTACKER, VICTIM = "dps-01", "dps-02"
SECOND_MONITOR = "anjungan-fleet-2"  # a second fleet monitor: its own identity, no takeover
SECOND_INGEST = "anjungan-centre-2"
TIMEOUT = 10.0


class Observer:
    """An honest client: what it receives, and how often it (re)connected or was dropped."""

    def __init__(self, name: str, port: int, tls, subscribe: list[str], will: bytes | None = None) -> None:
        self.name, self.received = name, []
        self.connects, self.drops = 0, 0
        self.subscribed = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, clean_session=True)
        self.c.tls_set(ca_certs=tls.ca_file, certfile=tls.cert_file, keyfile=tls.key_file)
        if will is not None:
            self.c.will_set(topics.topic(name, "status"), will, qos=1, retain=True)
        self.c.on_connect = lambda c, *_a: (self._count(), c.subscribe([(t, 1) for t in subscribe]))
        self.c.on_subscribe = lambda *_a: self.subscribed.set()
        self.c.on_disconnect = lambda *_a: setattr(self, "drops", self.drops + 1)
        self.c.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload)))
        self.c.reconnect_delay_set(0.1, 0.5)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        assert self.subscribed.wait(TIMEOUT), f"{name} could not subscribe"

    def _count(self) -> None:
        self.connects += 1

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """QoS 1, round trip done: the broker has it (and this link is still the same one)."""
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT)

    def expect(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        """Wait for a marker; return everything received before it, and forget all of it."""
        assert wait_until(lambda: (topic, payload) in self.received), f"{self.name} missed {topic}"
        before = self.received[: self.received.index((topic, payload))]
        self.received.clear()
        return before

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


class Stack:
    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.fleet = root / "fleet"
        self.bundles = {kid: load_bundle(root / kid) for kid in (ATTACKER, VICTIM)}
        self.online = KioskStatus(kiosk_id=VICTIM, state="online", session_id="s1", at=1.0).to_json()
        will = KioskStatus(kiosk_id=VICTIM, state="offline", session_id="s1", at=1.0).to_json()
        self.victim = Observer(VICTIM, port, self.bundles[VICTIM], [topics.topic(VICTIM, "ack")], will=will)
        self.victim.publish(topics.topic(VICTIM, "status"), self.online, retain=True)
        self.centre = Observer(CENTRE_ID, port, centre_tls(self.fleet),
                               [topics.subscription("capture"), topics.subscription("query")])
        self.monitor = Observer(FLEET_MONITOR_ID, port, centre_tls(self.fleet, FLEET_MONITOR_ID),
                                [topics.subscription(k) for k in ("status", "health", "feedback", "help")])
        self.monitor.expect(topics.topic(VICTIM, "status"), self.online)  # the retained status

    def marker(self) -> bytes:
        return f"marker-{uuid.uuid4().hex[:8]}".encode()

    def centre_gets_nothing_more(self) -> list[tuple[str, bytes]]:
        mark = self.marker()
        self.victim.publish(topics.topic(VICTIM, "capture"), mark)
        return self.centre.expect(topics.topic(VICTIM, "capture"), mark)

    def monitor_gets_nothing_more(self) -> list[tuple[str, bytes]]:
        mark = self.marker()
        self.victim.publish(topics.topic(VICTIM, "health"), mark)
        return self.monitor.expect(topics.topic(VICTIM, "health"), mark)

    def victim_gets_nothing_more(self) -> list[tuple[str, bytes]]:
        mark = self.marker()
        self.centre.publish(topics.topic(VICTIM, "ack"), mark)
        return self.victim.expect(topics.topic(VICTIM, "ack"), mark)

    def honest_links_intact(self) -> None:
        """Neither the victim nor the centre was thrown off, and no will went out."""
        for o in (self.victim, self.centre, self.monitor):  # a round trip on each link
            mine = o is self.victim
            try:
                o.publish(topics.topic(VICTIM, "feedback") if mine else topics.topic(ATTACKER, "ack"), b"rt")
            except RuntimeError:  # paho: not connected
                pytest.fail(f"{o.name} was thrown off")
            assert (o.connects, o.drops) == (1, 0), f"{o.name} was thrown off"
        assert self.centre_gets_nothing_more() == []
        assert self.monitor_gets_nothing_more() == [(topics.topic(VICTIM, "feedback"), b"rt")]
        assert self.victim_gets_nothing_more() == []


def cli(tool: str, bundle, port: int, *args: str, cert: bool = True) -> list[str]:
    """mosquitto_pub / mosquitto_sub with a bundle's certificate, QoS 1, debug output."""
    creds = ["--cert", bundle.cert_file, "--key", bundle.key_file] if cert else []
    return [shutil.which(tool) or tool, "-h", "127.0.0.1", "-p", str(port), "--cafile", bundle.ca_file,
            *creds, "-q", "1", "-d", *args]


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)


class Subscriber:
    """A mosquitto_sub running in the background, once its SUBACK (or its refusal) is in."""

    def __init__(self, argv: list[str]) -> None:
        # line-buffered, so its "Subscribed" line arrives when it is printed
        self.p = subprocess.Popen(["stdbuf", "-oL", *argv], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Subscribed"):
                break

    def finish(self) -> list[str]:
        """The topic-and-payload lines it printed (-v), after it exits (-C / -W)."""
        out, _ = self.p.communicate(timeout=TIMEOUT)
        self.lines += out.splitlines()
        return [x for x in self.lines if x.startswith(("anjungan/", "$SYS"))]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    for tool in ("mosquitto_pub", "mosquitto_sub"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: apt-get install mosquitto-clients (scripts/setup.sh does)")
    root = tmp_path_factory.mktemp("acl")
    port = free_port()
    fleet = init_fleet(root / "fleet", broker_port=port)
    add_centre_identity(fleet, SECOND_MONITOR, Role.FLEET)
    add_centre_identity(fleet, SECOND_INGEST, Role.INGEST)
    for kid in (ATTACKER, VICTIM):
        request(root / kid, kid)
        complete(fleet, root / kid)
    other = init_fleet(root / "other", broker_port=port)  # a foreign CA, its own "dps-02"
    request(root / "foreign", VICTIM)
    complete(other, root / "foreign")
    broker = BrokerProcess(write_config(fleet, root / "conf", port=port, persistence=False), port)
    broker.start(log=root / "mosquitto.log")
    s = Stack(root, port)
    yield s
    for o in (s.victim, s.centre, s.monitor):
        o.close()
    broker.stop()


@pytest.fixture
def attacker(stack: Stack):
    yield stack.bundles[ATTACKER]
    stack.honest_links_intact()


@pytest.mark.parametrize("kind", ["capture", "status", "health", "feedback", "query", "help"])
def test_cross_kiosk_publish_reaches_nobody(stack, attacker, kind) -> None:
    retain = ["-r"] if kind == "status" else []
    done = run(cli("mosquitto_pub", attacker, stack.port, "-t", topics.topic(VICTIM, kind), "-m", "forged", *retain))
    assert done.returncode == 0  # MQTT 3.1.1 cannot say no to a publish: it is dropped
    assert stack.centre_gets_nothing_more() == []
    assert stack.monitor_gets_nothing_more() == []


def test_forged_ack_to_another_kiosk_reaches_nobody(stack, attacker) -> None:
    run(cli("mosquitto_pub", attacker, stack.port, "-t", topics.topic(VICTIM, "ack"), "-m", "forged"))
    assert stack.victim_gets_nothing_more() == []


@pytest.mark.parametrize("wanted", [topics.topic(VICTIM, "ack"), topics.topic(VICTIM, "status"),
                                    topics.subscription("capture"), "#", "$SYS/#"])
def test_foreign_subscriptions_receive_nothing(stack, attacker, wanted) -> None:
    own_ack = topics.topic(ATTACKER, "ack")
    sub = Subscriber(cli("mosquitto_sub", attacker, stack.port, "-v", "-C", "1", "-W", "8",
                         "-t", wanted, "-t", own_ack))
    # traffic it must not see: the victim's capture and health, an ack to the victim, and
    # (retained, delivered at once if allowed) the victim's status and the broker's $SYS
    assert stack.centre_gets_nothing_more() == []
    assert stack.monitor_gets_nothing_more() == []
    assert stack.victim_gets_nothing_more() == []
    stack.centre.publish(own_ack, b"yours")  # after all of the above, from the same publisher
    assert sub.finish() == [f"{own_ack} yours"]


def test_will_on_another_kiosks_status_is_never_published(stack, attacker) -> None:
    forged = KioskStatus(kiosk_id=VICTIM, state="offline", session_id="s1", at=2.0).to_json().decode()
    sub = Subscriber(cli("mosquitto_sub", attacker, stack.port, "-t", topics.topic(ATTACKER, "ack"),
                         "--will-topic", topics.topic(VICTIM, "status"), "--will-payload", forged,
                         "--will-qos", "1", "--will-retain"))
    refused = sub.p.poll() is not None
    sub.p.kill()  # the link dies without DISCONNECT: the broker would send the will now
    sub.p.wait(TIMEOUT)
    # the attacker's id connects again: any will of the dead link goes out before this
    run(cli("mosquitto_pub", attacker, stack.port, "-t", topics.topic(ATTACKER, "health"), "-m", "back"))
    assert stack.monitor.expect(topics.topic(ATTACKER, "health"), b"back") == []
    assert not refused or "not authorised" in "\n".join(sub.lines).lower()
    # the retained status is still the victim's own
    late = Observer(SECOND_MONITOR, stack.port, centre_tls(stack.fleet, SECOND_MONITOR),
                    [topics.topic(VICTIM, "status")])
    try:
        assert wait_until(lambda: late.received == [(topics.topic(VICTIM, "status"), stack.online)])
    finally:
        late.close()


@pytest.mark.parametrize("who", ["foreign-ca", "no-certificate"])
def test_connections_without_a_fleet_certificate_are_refused(stack, attacker, who) -> None:
    bundle = load_bundle(stack.root / "foreign") if who == "foreign-ca" else attacker
    argv = cli("mosquitto_pub", bundle, stack.port, "-t", topics.topic(VICTIM, "capture"), "-m", "forged",
               cert=who == "foreign-ca")
    if who == "foreign-ca":  # it trusts our broker, to get as far as the handshake
        argv[argv.index("--cafile") + 1] = attacker.ca_file
    done = run(argv)
    assert done.returncode != 0 and "received CONNACK" not in done.stdout + done.stderr
    assert stack.centre_gets_nothing_more() == []


@pytest.mark.parametrize("victim_id", [VICTIM, CENTRE_ID, FLEET_MONITOR_ID])
def test_client_id_takeover_throws_nobody_off(stack, attacker, victim_id) -> None:
    own_ack = topics.topic(ATTACKER, "ack")
    sub = Subscriber(cli("mosquitto_sub", attacker, stack.port, "-i", victim_id, "-v", "-C", "1",
                         "-W", "8", "-t", own_ack))
    stack.centre.publish(own_ack, b"yours")
    assert sub.finish() == [f"{own_ack} yours"]  # it got in, as itself
    # the victim's link is the same one, no will went out, the centre still receives
    stack.honest_links_intact()


@pytest.mark.parametrize(("identity", "denied", "allowed"), [
    (SECOND_MONITOR, ("capture", "query"), "health"),
    (SECOND_INGEST, ("status", "health", "feedback", "help"), "capture"),
])
def test_each_centre_identity_reads_only_what_its_role_needs(stack, attacker, identity, denied, allowed) -> None:
    tls = centre_tls(stack.fleet, identity)
    wanted = [arg for kind in (*denied, allowed) for arg in ("-t", topics.subscription(kind))]
    sub = Subscriber(cli("mosquitto_sub", tls, stack.port, "-v", "-C", "1", "-W", "8", *wanted))
    for kind in denied:  # (and the victim's retained status, at once, if status were allowed)
        stack.victim.publish(topics.topic(VICTIM, kind), b"not-for-you")
    stack.victim.publish(topics.topic(VICTIM, allowed), b"yours")
    assert sub.finish() == [f"{topics.topic(VICTIM, allowed)} yours"]
    stack.centre_gets_nothing_more()  # what the honest centre and monitor got meanwhile
    stack.monitor_gets_nothing_more()
