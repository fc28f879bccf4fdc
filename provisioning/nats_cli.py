"""`anjungan provision nats`: a fleet's NATS cluster, configured and (with --run) started."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from anjungan.commands import port_number
from provisioning.broker_process import free_port
from provisioning.errors import ProvisioningError
from provisioning.fleet import open_fleet
from provisioning.nats import LAYOUT, plan_nodes, read_layout, write_cluster
from provisioning.nats_cluster import NatsCluster


def register_nats(p: argparse._SubParsersAction) -> None:
    n = p.add_parser("nats", help="write (and --run) a NATS cluster for the fleet: MQTT for kiosks, "
                     "JetStream for the centre, TLS users and per-kiosk permissions")
    n.add_argument("dir", help="fleet folder")
    n.add_argument("--out", required=True, type=Path, help="folder for the nodes' configs, TLS files and stores")
    n.add_argument("--nodes", type=int, default=3, help="how many nodes (default 3: survives losing one)")
    n.add_argument("--base-port", type=port_number, default=0,
                   help="ports from here on, four per node (client, MQTT, route, monitor); default: "
                   "the ports of an earlier config in --out, else free ones")
    n.add_argument("--run", action="store_true",
                   help="start the nodes on loopback, wait until JetStream is ready, run until Ctrl-C/SIGTERM")
    n.set_defaults(func=run_nats)


def run_nats(args: argparse.Namespace) -> int:
    fleet = open_fleet(args.dir)
    if args.base_port:
        if args.base_port + 4 * args.nodes > 65536:
            raise ProvisioningError("--base-port leaves no room for the nodes' ports")
        ports = list(range(args.base_port, args.base_port + 4 * args.nodes))
        nodes = plan_nodes(args.nodes, ports)
    elif (args.out / LAYOUT).exists() and len(read_layout(args.out)) == args.nodes:
        nodes = read_layout(args.out)  # regenerated after an enrolment: same ports
    else:
        nodes = plan_nodes(args.nodes, [free_port() for _ in range(4 * args.nodes)])
    confs = write_cluster(fleet, args.out, nodes)
    mqtt = ",".join(f"127.0.0.1:{n.mqtt_port}" for n in nodes)
    nats = ",".join(f"tls://127.0.0.1:{n.client_port}" for n in nodes)
    print(f"wrote {len(confs)} node configs in {args.out}\n  kiosks (MQTT, TLS): {mqtt}\n"
          f"  centre: anjungan broker run --broker cluster --nats {nats} …")
    if not args.run:
        print(f"start each with: nats-server -c {confs[0]} (…); after enrolling or revoking a kiosk, "
              "run this again and reload each node: nats-server --signal reload=PID")
        return 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with NatsCluster(args.out) as cluster:
        print(f"cluster ready: {len(cluster.nodes)} nodes, JetStream meta leader elected", flush=True)
        stop.wait()
    return 0
