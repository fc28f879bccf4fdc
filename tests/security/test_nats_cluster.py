"""The generated NATS cluster (`provision nats`) under attack by a kiosk's own certificate.

Three real nodes on loopback (TLS, certificates mapped to users, per-kiosk permissions),
a victim kiosk dps-02 and a centre observer on the NATS protocol. The attacker holds kiosk
dps-01's certificate and speaks MQTT with paho, as kiosks do. As in test_broker_acl.py,
nothing sleeps to see that nothing arrives: each attack is followed by a marker on a path
the attacker may use, and the observer's list is read once the marker is in.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import nats
import paho.mqtt.client as mqtt
import pytest

from anjungan import topics
from anjungan.topics import TopicKind
from broker.nats_ingest import CentreNats, NatsSettings
from entrypoints.cli import main
from kiosk.transport import LinkEventKind, MqttTransport, Will
from provisioning.broker_process import free_port
from provisioning.bundle import complete, load_bundle, request
from provisioning.centres import Role
from provisioning.errors import ProvisioningError
from provisioning.fleet import TlsFiles, centre_tls, open_fleet, revoke
from provisioning.nats import (
    centre_permissions,
    kiosk_permissions,
    plan_nodes,
    read_layout,
    user_name,
    users,
    write_cluster,
)
from provisioning.nats_cluster import NatsCluster, nats_binary
from tests.broker.kit import make_fleet
from tests.waiting import wait_until

ATTACKER, VICTIM, REVOKED = "dps-01", "dps-02", "dps-03"
TIMEOUT = 15.0



# -- the generated configuration ----------------------------------------------------------

@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nats-fleet")
    fleet_dir, _ = make_fleet(root, (ATTACKER, VICTIM, REVOKED))
    revoke(open_fleet(fleet_dir), REVOKED)
    return fleet_dir


def test_a_kiosk_may_use_its_own_subjects_only() -> None:
    perms = kiosk_permissions("dps-01")
    assert perms["publish"]["allow"] == [f"anjungan.v1.kiosk.dps-01.{k}" for k in
                                         ("capture", "health", "feedback", "help", "query", "status", "renew")]
    assert perms["subscribe"]["allow"] == ["anjungan.v1.kiosk.dps-01.status", "anjungan.v1.kiosk.dps-01.ack",
                                           "anjungan.v1.kiosk.dps-01.renewed", "$MQTT.sub.>"]


def test_the_ingest_role_reaches_its_stream_only() -> None:
    perms = centre_permissions(Role.INGEST)
    assert "anjungan.v1.kiosk.*.ack" in perms["publish"]["allow"]
    assert not any(p.startswith("$JS.API.STREAM.DELETE") or p == "$JS.API.>" for p in perms["publish"]["allow"])
    assert all("ANJUNGAN_INGEST" in p for p in perms["publish"]["allow"] if p.startswith("$JS.API.STREAM"))
    assert centre_permissions(Role.SIGNER)["publish"]["allow"] == ["anjungan.v1.kiosk.*.renewed"]
    assert "_INBOX.>" not in centre_permissions(Role.FLEET)["subscribe"]["allow"]


def test_users_come_from_the_fleet_and_a_revoked_kiosk_has_none(fleet_dir: Path) -> None:
    by_name = {u["user"]: u for u in users(open_fleet(fleet_dir))}
    assert user_name(ATTACKER, "kiosk") == "CN=dps-01,OU=kiosk,O=Anjungan e-KTP fleet"
    assert by_name[user_name(ATTACKER, "kiosk")]["allowed_connection_types"] == ["MQTT"]
    assert user_name(REVOKED, "kiosk") not in by_name
    assert by_name[user_name("anjungan-centre", Role.INGEST.unit)]["allowed_connection_types"] == ["STANDARD"]
    assert by_name[user_name("anjungan-fleet", Role.FLEET.unit)]["allowed_connection_types"] == ["MQTT"]


def test_each_node_routes_to_the_others_with_tls_mapped_users(fleet_dir: Path, tmp_path: Path) -> None:
    nodes = plan_nodes(3, list(range(20000, 20012)))
    confs = write_cluster(open_fleet(fleet_dir), tmp_path / "nats", nodes)
    text = confs[0].read_text()
    assert '"verify_and_map": true' in text and '"stream_replicas": 3' in text
    assert text.count("nats-route://route:") == 2 and "127.0.0.1:20002" not in text.split("routes")[1]
    assert oct(confs[0].stat().st_mode & 0o777) == "0o600"  # it holds the route password
    assert read_layout(tmp_path / "nats") == nodes


@pytest.mark.parametrize("garbage", [
    b"", b"{", b"[]", b'{"nodes": 5}', b'{"nodes": [{"name": "n1"}]}', b'{"nodes": []}',
    b'{"nodes": [{"name": "n1", "client_port": NaN, "mqtt_port": 1, "cluster_port": 2, "http_port": 3}]}',
    b'{"nodes": [{"name": "../x", "client_port": 1, "mqtt_port": 1, "cluster_port": 2, "http_port": 3}]}',
    b'{"nodes": [{"name": "n1", "client_port": 1e999, "mqtt_port": 1, "cluster_port": 2, "http_port": 3}]}',
    b'{"nodes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"x" * 1_000_000,
])
def test_a_damaged_layout_is_one_clear_error(tmp_path: Path, garbage: bytes) -> None:
    (tmp_path / "cluster.json").write_bytes(garbage)
    with pytest.raises(ProvisioningError, match="is not a cluster layout"):
        read_layout(tmp_path)


def test_the_command_refuses_bad_input_in_one_line(fleet_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nats"
    assert main(["provision", "nats", str(fleet_dir), "--out", str(out), "--nodes", "0"]) != 0
    assert main(["provision", "nats", str(fleet_dir), "--out", str(out), "--base-port", "65530"]) != 0
    assert main(["provision", "nats", str(tmp_path / "nope"), "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(line.startswith("anjungan: error:") for line in err.splitlines())
    assert main(["provision", "nats", str(fleet_dir), "--out", str(out)]) == 0
    first = read_layout(out)
    conf = (out / "n1.conf").read_text()
    assert main(["provision", "nats", str(fleet_dir), "--out", str(out)]) == 0
    assert read_layout(out) == first  # regenerated after an enrolment: the same ports…
    assert (out / "n1.conf").read_text() == conf  # …and route password: nodes reload one by one


# -- the live cluster ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(fleet_dir: Path) -> Any:
    nats_binary()
    conf = fleet_dir.parent / "nats"
    write_cluster(open_fleet(fleet_dir), conf, plan_nodes(3, [free_port() for _ in range(12)]))
    with NatsCluster(conf) as c:
        yield c


def kiosk_tls(fleet_dir: Path, kiosk_id: str) -> dict[str, str]:
    b = load_bundle(fleet_dir.parent / kiosk_id)
    return {"ca_certs": b.ca_file, "certfile": b.cert_file, "keyfile": b.key_file}


class MqttKiosk:
    """A kiosk's certificate on paho (MQTT 3.1.1), as the kiosk app uses it."""

    def __init__(self, fleet_dir: Path, kiosk_id: str, port: int, *, wait: bool = True) -> None:
        self.kiosk_id, self.received, self.granted = kiosk_id, [], {}
        self.connack: list[Any] = []
        self.subacks = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=kiosk_id, protocol=mqtt.MQTTv311)
        self.c.tls_set(**kiosk_tls(fleet_dir, kiosk_id), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.c.on_connect = lambda _c, _u, _f, rc, _p: self.connack.append(rc)
        self.c.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload)))
        self.c.reconnect_delay_set(0.1, 0.5)
        self.c.connect_async("127.0.0.1", port)
        self.c.loop_start()
        if wait:
            assert wait_until(lambda: self.connack, TIMEOUT), f"{kiosk_id} got no CONNACK"

    def subscribe(self, topic: str) -> int:
        """The granted QoS, or 128 (refused)."""
        done = threading.Event()
        codes: list[int] = []
        self.c.on_subscribe = lambda _c, _u, _m, rcs, _p: (codes.extend(int(r.value) for r in rcs), done.set())
        self.c.subscribe(topic, qos=1)
        assert done.wait(TIMEOUT), "no SUBACK"
        return codes[0]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def file_tls(tls: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    ctx.load_cert_chain(tls.cert_file, tls.key_file)
    return ctx


class CentreObserver:
    """The ingest identity on the NATS protocol, subscribed to every kiosk's captures."""

    def __init__(self, fleet_dir: Path, urls: list[str]) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.tls = file_tls(centre_tls(fleet_dir))
        self.urls = urls
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(TIMEOUT)

    async def _start(self) -> None:
        self.nc = await nats.connect(servers=self.urls, tls=self.tls)

        async def got(m: Any) -> None:
            self.received.append((m.subject, m.data))

        await self.nc.subscribe("anjungan.v1.kiosk.*.capture", cb=got)
        await self.nc.flush()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.nc.close(), self.loop).result(TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)


def test_a_kiosk_cannot_publish_as_another_or_read_anothers_topics(cluster: Any, fleet_dir: Path) -> None:
    centre = CentreObserver(fleet_dir, cluster.nats_urls)
    victim = MqttKiosk(fleet_dir, VICTIM, cluster.mqtt_ports[1])
    attacker = MqttKiosk(fleet_dir, ATTACKER, cluster.mqtt_ports[0])
    try:
        assert victim.subscribe(topics.topic(VICTIM, TopicKind.ACK)) == 1
        # reading another kiosk's acks, all kiosks' topics, or the QoS 1 inboxes: refused
        for topic in (topics.topic(VICTIM, TopicKind.ACK), "anjungan/v1/kiosk/+/ack", "#", "$MQTT/sub/#"):
            assert attacker.subscribe(topic) == 128, topic
        # publishing as the victim: dropped; the marker on its own topic arrives
        attacker.c.publish(topics.topic(VICTIM, TopicKind.CAPTURE), b"forged", qos=1)
        attacker.c.publish(topics.topic(ATTACKER, TopicKind.CAPTURE), b"marker", qos=1)
        assert wait_until(lambda: any(p == b"marker" for _s, p in centre.received), TIMEOUT)
        assert [s for s, _p in centre.received] == [topics.subject(topics.topic(ATTACKER, TopicKind.CAPTURE))]
        # an ack for the victim reaches the victim only
        asyncio.run_coroutine_threadsafe(centre.nc.publish(topics.subject(topics.topic(VICTIM, TopicKind.ACK)),
                                                           b"ack"), centre.loop).result(TIMEOUT)
        assert wait_until(lambda: victim.received, TIMEOUT)
        attacker.c.publish(topics.topic(ATTACKER, TopicKind.CAPTURE), b"marker-2", qos=1)
        assert wait_until(lambda: any(p == b"marker-2" for _s, p in centre.received), TIMEOUT)
        assert attacker.received == []
    finally:
        for c in (victim, attacker):
            c.close()
        centre.close()


def test_the_kiosk_apps_own_transport_works_unchanged_on_a_node(cluster: Any, fleet_dir: Path) -> None:
    """kiosk/transport.py (paho, MQTT 3.1.1, clean session, retained Last Will): connected,
    its capture PUBACKed and seen by the centre, the centre's answer delivered back."""
    b = load_bundle(fleet_dir.parent / VICTIM)
    centre = CentreObserver(fleet_dir, cluster.nats_urls)
    link = MqttTransport(client_id=VICTIM, host="127.0.0.1", port=cluster.mqtt_ports[2],
                         will=Will(topic=topics.topic(VICTIM, TopicKind.STATUS), payload=b"{}"),
                         tls=TlsFiles(ca_file=b.ca_file, cert_file=b.cert_file, key_file=b.key_file))
    events: list[Any] = []

    def seen(kind: LinkEventKind) -> bool:
        events.extend(link.poll())
        return any(e.kind is kind for e in events)

    try:
        link.subscribe(topics.topic(VICTIM, TopicKind.ACK))
        link.start()
        assert wait_until(lambda: seen(LinkEventKind.CONNECTED), TIMEOUT)
        mid = link.publish(topics.topic(VICTIM, TopicKind.CAPTURE), b"capture")
        assert wait_until(lambda: seen(LinkEventKind.PUBLISHED), TIMEOUT)
        assert [e.mid for e in events if e.kind is LinkEventKind.PUBLISHED] == [mid]
        assert wait_until(lambda: (topics.subject(topics.topic(VICTIM, TopicKind.CAPTURE)), b"capture")
                          in centre.received, TIMEOUT)
        asyncio.run_coroutine_threadsafe(centre.nc.publish(topics.subject(topics.topic(VICTIM, TopicKind.ACK)),
                                                           b"answer"), centre.loop).result(TIMEOUT)
        assert wait_until(lambda: seen(LinkEventKind.MESSAGE), TIMEOUT)
        assert [(e.topic, e.payload) for e in events if e.kind is LinkEventKind.MESSAGE] == [
            (topics.topic(VICTIM, TopicKind.ACK), b"answer")]
    finally:
        link.stop()
        centre.close()


def test_a_revoked_kiosk_and_a_kiosk_on_the_nats_port_are_refused(cluster: Any, fleet_dir: Path) -> None:
    revoked = MqttKiosk(fleet_dir, REVOKED, cluster.mqtt_ports[0])
    try:
        assert getattr(revoked.connack[0], "is_failure", False)
    finally:
        revoked.close()
    tls = kiosk_tls(fleet_dir, ATTACKER)
    ctx = ssl.create_default_context(cafile=tls["ca_certs"])
    ctx.load_cert_chain(tls["certfile"], tls["keyfile"])

    async def connect() -> str:
        try:
            nc = await nats.connect(servers=cluster.nats_urls[:1], tls=ctx, allow_reconnect=False,
                                    max_reconnect_attempts=0, connect_timeout=5)
        except Exception as exc:  # noqa: BLE001 - the refusal is what we look for
            return f"{type(exc).__name__}: {exc}".lower()
        await nc.close()
        return "connected"

    assert "authorization" in asyncio.run(connect())


def test_an_enrolment_and_a_revocation_take_effect_at_a_reload(cluster: Any, fleet_dir: Path) -> None:
    fleet, late = open_fleet(fleet_dir), "dps-04"
    request(fleet_dir.parent / late, late)
    complete(fleet, fleet_dir.parent / late)
    before = MqttKiosk(fleet_dir, late, cluster.mqtt_ports[0])
    before.close()
    assert getattr(before.connack[0], "is_failure", False)  # no user yet
    write_cluster(fleet, cluster.dir, cluster.nodes)
    cluster.reload()
    kiosk = MqttKiosk(fleet_dir, late, cluster.mqtt_ports[0], wait=False)
    try:
        assert wait_until(lambda: kiosk.connack and not getattr(kiosk.connack[-1], "is_failure", False), TIMEOUT)
        revoke(fleet, late)
        write_cluster(fleet, cluster.dir, cluster.nodes)
        cluster.reload()
        # its open connection is closed, and every attempt after that is refused
        assert wait_until(lambda: len(kiosk.connack) >= 2, TIMEOUT)
        assert all(getattr(rc, "is_failure", False) for rc in kiosk.connack[1:])
    finally:
        kiosk.close()


def test_no_node_outlives_the_command_that_started_it(fleet_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "nats"
    proc = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "provision", "nats", str(fleet_dir),
                             "--out", str(out), "--run"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.decode(errors="replace"))
            if "cluster ready" in lines[-1]:
                break
        assert "cluster ready" in lines[-1], "".join(lines)
        nodes = children(proc.pid)
        assert len(nodes) == 3
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_until(lambda: not any(alive(pid) for pid in nodes), TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert json.loads((out / "cluster.json").read_text())["nodes"]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("extra,says", [
    (["--broker", "cluster"], "needs --nats"),
    (["--broker", "cluster", "--nats", "tls://127.0.0.1:1", "--http", "127.0.0.1:0"], "serves no --http"),
    (["--nats", "tls://127.0.0.1:1"], "goes with --broker cluster"),
    (["--broker", "cluster", "--nats", "nats://127.0.0.1:1,\x00" + "x" * 10_000], "must be tls://"),
])
def test_broker_run_refuses_a_bad_cluster_setting_in_one_line(fleet_dir: Path, extra: list[str], says: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["broker", "run", "--fleet", str(fleet_dir), "--allow-ca-key", "--db", "memory://", *extra]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and len(err.splitlines()) == 1 and len(err) < 400


def test_a_centre_started_before_the_cluster_connects_when_it_is_up(fleet_dir: Path, tmp_path: Path) -> None:
    write_cluster(open_fleet(fleet_dir), tmp_path / "nats", plan_nodes(3, [free_port() for _ in range(12)]))
    cluster = NatsCluster(tmp_path / "nats")
    tls = centre_tls(fleet_dir)
    centre = CentreNats(NatsSettings(urls=tuple(cluster.nats_urls), ca_file=tls.ca_file, cert_file=tls.cert_file,
                                     key_file=tls.key_file), lambda batch: [])
    centre.start()
    try:
        assert centre.alive() and not centre.connected.is_set()
        with cluster:
            assert centre.connected.wait(TIMEOUT)
            assert centre.alive()
    finally:
        centre.stop()
