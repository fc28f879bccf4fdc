"""NATS cluster configuration for a fleet: N nodes on loopback, JetStream, MQTT with TLS,
certificates mapped to users, per-kiosk permissions generated from the fleet.

Each node serves kiosks on an MQTT 3.1.1 listener (paho, unchanged) and the centre on the
NATS protocol, both TLS with client certificates: `verify_and_map` makes the certificate's
subject (`CN=ID,OU=kiosk,O=…`) the user, so the fleet's CA vouches for the name. NATS has
no `%u` pattern, so every active kiosk gets a user of its own, allowed only its own
subjects (MQTT topic `a/b/c` is NATS subject `a.b.c`, `anjungan.topics.subject`) and only
over MQTT (`allowed_connection_types`): a kiosk certificate cannot open a NATS connection,
where `$MQTT.sub.>` (the inboxes of QoS 1 deliveries, which every MQTT user needs) would
reach other kiosks' messages. A revoked kiosk has no user at all (NATS 2.9 reads no CRL):
regenerate after a revocation or enrolment and send the nodes SIGHUP.

An ingest identity connects over NATS only: it consumes captures and queries from
INGEST_STREAM (a work-queue stream, replicated over the nodes) through the durable
INGEST_CONSUMER and publishes acks. The fleet monitor and signer (paho, MQTT 3.1.1) connect
over MQTT only, with what their role reads and writes. The nodes route to each other on loopback with a password generated
per configuration.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from anjungan import topics
from anjungan.packet.codec import MAX_PACKET_BYTES
from anjungan.topics import PREFIX, TopicKind
from provisioning import centres
from provisioning.centres import Role
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes, write_atomic
from provisioning.fleet import Fleet
from provisioning.mosquitto import KIOSK_ACCESS

ORGANIZATION = "Anjungan e-KTP fleet"  # the O of every certificate `provisioning.x509` issues
INGEST_STREAM = "ANJUNGAN_INGEST"  # captures and queries, a work queue
INGEST_CONSUMER = "ingest"  # the durable pull consumer every `broker run` instance shares
INGEST_KINDS = (TopicKind.CAPTURE, TopicKind.QUERY)
CLUSTER_NAME = "anjungan"
MAX_PAYLOAD = MAX_PACKET_BYTES + 65536
LAYOUT = "cluster.json"  # the nodes' names and ports, read by `NatsCluster`
MAX_LAYOUT_BYTES = 65536
ROUTE_SECRET = "route.secret"
MAX_NODES = 9


def every_kiosk(kind: TopicKind) -> str:
    """The NATS subject of one kind for every kiosk, e.g. `anjungan.v1.kiosk.*.capture`."""
    return f"{topics.subject(PREFIX)}.*.{kind}"


INGEST_SUBJECTS = tuple(every_kiosk(kind) for kind in INGEST_KINDS)


@dataclass(frozen=True, kw_only=True)
class Node:
    name: str
    client_port: int  # NATS protocol, TLS (the centre)
    mqtt_port: int  # MQTT 3.1.1, TLS (kiosks)
    cluster_port: int  # routes between nodes
    http_port: int  # monitoring (/healthz, /jsz), loopback only


def user_name(name: str, unit: str) -> str:
    """The user NATS maps a certificate to: its subject as RFC 4514 prints it (most
    specific first), e.g. `CN=kiosk-1,OU=kiosk,O=Anjungan e-KTP fleet`."""
    return f"CN={name},OU={unit},O={ORGANIZATION}"


def kiosk_permissions(kiosk_id: str) -> dict[str, Any]:
    """Kiosk K: its own subjects only, as `provision mosquitto`'s ACL patterns allow."""
    pub = [topics.subject(topics.topic(kiosk_id, k)) for k, a in KIOSK_ACCESS.items() if "write" in a]
    sub = [topics.subject(topics.topic(kiosk_id, k)) for k, a in KIOSK_ACCESS.items() if "read" in a]
    return {"publish": {"allow": pub}, "subscribe": {"allow": [*sub, "$MQTT.sub.>"]}}


def centre_permissions(role: Role) -> dict[str, Any]:
    """A centre identity: its role's reads and writes for every kiosk; an ingest identity
    (NATS protocol) also the JetStream API of the ingest stream alone, the others (MQTT)
    the inboxes of their QoS 1 deliveries."""
    pub = [every_kiosk(kind) for kind in role.writes]
    sub = [every_kiosk(kind) for kind in role.reads] + ["_INBOX.>" if role is Role.INGEST else "$MQTT.sub.>"]
    if role is Role.INGEST:
        s = INGEST_STREAM
        pub += ["$JS.API.INFO", f"$JS.API.STREAM.CREATE.{s}", f"$JS.API.STREAM.UPDATE.{s}",
                f"$JS.API.STREAM.INFO.{s}", f"$JS.API.CONSUMER.CREATE.{s}", f"$JS.API.CONSUMER.CREATE.{s}.>",
                f"$JS.API.CONSUMER.DURABLE.CREATE.{s}.{INGEST_CONSUMER}",
                f"$JS.API.CONSUMER.INFO.{s}.{INGEST_CONSUMER}",
                f"$JS.API.CONSUMER.MSG.NEXT.{s}.{INGEST_CONSUMER}", f"$JS.ACK.{s}.{INGEST_CONSUMER}.>"]
    return {"publish": {"allow": pub}, "subscribe": {"allow": sub}}


def connection_type(role: Role) -> str:
    """How a centre identity connects: ingest pulls from JetStream, the rest speak MQTT."""
    return "STANDARD" if role is Role.INGEST else "MQTT"


def users(fleet: Fleet) -> list[dict[str, Any]]:
    """Every centre identity (ingest over NATS, the fleet monitor and signer over MQTT, as
    they speak) and every active kiosk (MQTT only), by name."""
    out = [{"user": user_name(i.name, i.role.unit), "permissions": centre_permissions(i.role),
            "allowed_connection_types": [connection_type(i.role)]} for i in centres.identities(fleet.root)]
    for kiosk_id, entry in sorted(fleet.registry()["kiosks"].items()):
        if entry.get("state") == "active":  # a revoked kiosk has no user: refused at connect
            out.append({"user": user_name(kiosk_id, "kiosk"), "permissions": kiosk_permissions(kiosk_id),
                        "allowed_connection_types": ["MQTT"]})
    return out


def node_config(node: Node, nodes: list[Node], *, conf_dir: Path, route_secret: str,
                user_list: list[dict[str, Any]]) -> dict[str, Any]:
    d = conf_dir.resolve()
    tls = {"cert_file": str(d / "broker.pem"), "key_file": str(d / "broker.key"), "ca_file": str(d / "ca.pem"),
           "verify_and_map": True, "timeout": 5}
    replicas = min(3, len(nodes))
    return {
        "server_name": node.name,
        "listen": f"127.0.0.1:{node.client_port}",
        "http": f"127.0.0.1:{node.http_port}",
        "max_payload": MAX_PAYLOAD,
        "max_pending": 64 * 1024 * 1024,
        "tls": tls,
        "authorization": {"users": user_list},
        "jetstream": {"store_dir": str(d / node.name), "max_memory_store": 64 * 1024 * 1024,
                      "max_file_store": 16 * 1024**3},  # a ceiling streams reserve from, not disk used
        "cluster": {
            "name": CLUSTER_NAME,
            "listen": f"127.0.0.1:{node.cluster_port}",
            "authorization": {"user": "route", "password": route_secret},
            "routes": [f"nats-route://route:{route_secret}@127.0.0.1:{n.cluster_port}"
                       for n in nodes if n is not node],
        },
        "mqtt": {
            "listen": f"127.0.0.1:{node.mqtt_port}",
            "tls": tls,
            "stream_replicas": replicas,  # sessions, retained messages, QoS 1 in flight
            "ack_wait": "30s",
            "max_ack_pending": 100,
        },
    }


def config_text(cfg: dict[str, Any]) -> str:
    """NATS reads JSON values in its configuration format: one `key: value` line each."""
    lines = ["# Generated by `anjungan provision nats`; regenerate after enrolling or revoking a kiosk."]
    lines += [f"{key}: {json.dumps(value)}" for key, value in cfg.items()]
    return "\n".join(lines) + "\n"


def plan_nodes(count: int, ports: list[int]) -> list[Node]:
    """`count` nodes on the given free ports, four each."""
    if not 1 <= count <= MAX_NODES:
        raise ProvisioningError("a NATS cluster here has 1 to 9 nodes (3 to survive losing one)")
    if len(ports) < 4 * count:
        raise ProvisioningError("not enough ports for the nodes")
    return [Node(name=f"n{i + 1}", client_port=ports[4 * i], mqtt_port=ports[4 * i + 1],
                 cluster_port=ports[4 * i + 2], http_port=ports[4 * i + 3]) for i in range(count)]


def write_cluster(fleet: Fleet, conf_dir: str | Path, nodes: list[Node]) -> list[Path]:
    """Write one config per node, the TLS files and `cluster.json` into conf_dir; the nodes'
    JetStream stores go in conf_dir/NAME. Returns the configs, in node order."""
    out = Path(conf_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, private in (("broker.pem", False), ("broker.key", True)):
        write_atomic(out / name, read_bytes(fleet.path(name), name), private=private)
    write_atomic(out / "ca.pem", fleet.chain_pem())
    secret = _route_secret(out / ROUTE_SECRET)
    user_list = users(fleet)
    confs = []
    for node in nodes:
        (out / node.name).mkdir(exist_ok=True)
        conf = out / f"{node.name}.conf"
        text = config_text(node_config(node, nodes, conf_dir=out, route_secret=secret, user_list=user_list))
        write_atomic(conf, text.encode(), private=True)  # it holds the route password
        confs.append(conf)
    write_atomic(out / LAYOUT, json.dumps({"nodes": [asdict(n) for n in nodes]}, indent=1).encode())
    return confs


def _route_secret(path: Path) -> str:
    """The nodes' route password: kept across regenerations, so reloading one node after
    another never leaves two that refuse each other's routes."""
    if path.exists():
        kept = read_bytes(path, "route password").decode(errors="replace").strip()
        if re.fullmatch(r"[0-9a-f]{32}", kept):
            return kept
    made = secrets.token_hex(16)
    write_atomic(path, made.encode(), private=True)
    return made


def read_layout(conf_dir: str | Path) -> list[Node]:
    """The nodes `write_cluster` recorded; ProvisioningError for anything else."""
    path = Path(conf_dir) / LAYOUT
    raw = read_bytes(path, "NATS cluster layout")
    try:
        if len(raw) > MAX_LAYOUT_BYTES:
            raise ValueError("too large")
        items = json.loads(raw)["nodes"]
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_NODES:
            raise ValueError("no list of nodes")
        return [_node(item) for item in items]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ProvisioningError(f"{path} is not a cluster layout (run `anjungan provision nats` again): "
                                f"{str(exc)[:80] or type(exc).__name__}") from None


def _node(item: object) -> Node:
    if not isinstance(item, dict) or set(item) != set(Node.__dataclass_fields__):
        raise ValueError("a node is not {name, client_port, mqtt_port, cluster_port, http_port}")
    ports = {k: v for k, v in item.items() if k != "name"}
    if any(type(v) is not int or not 0 < v < 65536 for v in ports.values()):
        raise ValueError("a port is not 1..65535")
    if not isinstance(item["name"], str) or not re.fullmatch(r"n[1-9]", item["name"]):
        raise ValueError("a node name is not n1..n9")
    return Node(name=item["name"], **ports)
