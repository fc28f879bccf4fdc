"""`anjungan provision signer`: the signing service. Registered by `provisioning.cli`."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from anjungan.commands import port_number
from provisioning.centre_folder import holds_ca_key
from provisioning.centres import SIGNER_ID
from provisioning.errors import ProvisioningError
from provisioning.fleet import open_fleet
from provisioning.keeper import check_conf_dir
from provisioning.signer_service import SignerOptions, SignerService
from provisioning.trust_cli import _broker, _interval, broker_args


def register_signer(p: argparse._SubParsersAction) -> None:
    s = p.add_parser("signer", help="run the signing service: answer kiosks' certificate renewals "
                     "over MQTT and keep the CRL fresh (holds the issuing CA's key)")
    s.add_argument("dir", help="fleet folder (or a copy holding issuing.key, without ca.key)")
    s.add_argument("--broker-host", default=None, help="broker address (default: the fleet's)")
    s.add_argument("--broker-port", type=port_number, default=None, help="broker TLS port (default: the fleet's)")
    s.add_argument("--identity", default=SIGNER_ID, help=f"its centre identity, role signer (default {SIGNER_ID})")
    s.add_argument("--crl-interval", type=_interval, default=300.0, metavar="S",
                   help="seconds between CRL checks (default 300)")
    s.add_argument("--allow-ca-key", action="store_true",
                   help="run even beside ca.key (a bench; in production the root stays offline)")
    broker_args(s, "push a re-signed CRL and the ACL into this Mosquitto config folder")
    s.set_defaults(func=run_signer)


def run_signer(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    fleet = open_fleet(args.dir)
    if holds_ca_key(fleet.root) and not args.allow_ca_key:
        raise ProvisioningError(f"{fleet.root} holds ca.key, the root CA's key: keep it offline "
                                "(move it away) or give --allow-ca-key")
    broker = fleet.settings["broker"]
    conf = check_conf_dir(args.mosquitto_conf_dir) if args.mosquitto_conf_dir else None
    opts = SignerOptions(host=args.broker_host or str(broker["host"]), port=args.broker_port or int(broker["port"]),
                         identity=args.identity, crl_interval_s=args.crl_interval, conf_dir=conf,
                         broker=_broker(args), centre_dir=Path(args.centre_dir) if args.centre_dir else None)
    service = SignerService(fleet, opts)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"signer {opts.identity}: {fleet.root} on {opts.host}:{opts.port}", flush=True)
    try:
        service.serve(stop)
    except KeyboardInterrupt:
        pass
    return 0



