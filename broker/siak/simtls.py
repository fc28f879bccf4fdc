"""TLS for the SIAK simulator: a CA of its own, a server certificate for the loopback
names, and a client certificate for the gateway (mutual TLS), made once in a folder.

    ca.pem                 the gateway pins it: `broker run --siak-ca ca.pem`
    server.pem, server.key the simulator serves https with them
    client.pem, client.key the gateway's certificate: `--siak-cert client.pem --siak-key client.key`
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from provisioning import x509 as px
from provisioning.files import write_atomic


@dataclass(frozen=True)
class SimTls:
    folder: Path

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server.key"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / "client.key"

    def client_context(self) -> ssl.SSLContext:
        """A client's TLS: the simulator's CA pinned, the gateway's certificate shown."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.load_cert_chain(str(self.client_cert), str(self.client_key))
        return ctx


def sim_tls(folder: str | Path, *, names: tuple[str, ...] = ("localhost", "127.0.0.1"),
            now: float | None = None) -> SimTls:
    """The simulator's certificates in `folder`, made there if it has none yet."""
    tls = SimTls(Path(folder))
    if tls.ca_file.exists():
        return tls
    tls.folder.mkdir(parents=True, exist_ok=True)
    when = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC)
    ca_key = px.new_ec_key()
    ca = px.make_ca(ca_key, fleet_name="SIAK simulator", now=when)
    for cert_file, key_file, cn, client in ((tls.server_cert, tls.server_key, "siak-sim", False),
                                            (tls.client_cert, tls.client_key, "siak-gateway", True)):
        key = px.new_ec_key()
        cert = px.issue(ca=ca, ca_key=ca_key, common_name=cn, unit="SIAK simulator",
                        public_key=key.public_key(), server_names=() if client else names,
                        client=client, now=when)
        write_atomic(key_file, px.pem_key(key), private=True)
        write_atomic(cert_file, px.pem_cert(cert))
    write_atomic(tls.ca_file, px.pem_cert(ca))  # last: its presence means the folder is complete
    return tls
