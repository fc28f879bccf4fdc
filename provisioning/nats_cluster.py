"""Run a fleet's NATS cluster on loopback (`anjungan provision nats --run`, benches, tests).

Each node is a `nats-server` child that dies with its parent (PR_SET_PDEATHSIG), so no
node outlives the command that started it. `start` waits until every node answers and the
JetStream meta group has a leader; `kill` and `restart` one node are for fault tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from anjungan.children import die_with_parent
from provisioning.errors import ProvisioningError
from provisioning.nats import Node, read_layout

READY_S = 30.0


def nats_binary() -> str:
    found = shutil.which("nats-server") or ("/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None)
    if not found:
        raise ProvisioningError("nats-server is not installed; run: sudo apt-get install nats-server")
    return found


def _get_json(port: int, path: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:  # noqa: S310 - loopback
            data = json.loads(r.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class NatsCluster:
    """The nodes of `anjungan provision nats --out DIR`, as child processes."""

    def __init__(self, conf_dir: str | Path) -> None:
        self.dir = Path(conf_dir)
        self.nodes: list[Node] = read_layout(self.dir)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def mqtt_ports(self) -> list[int]:
        return [n.mqtt_port for n in self.nodes]

    @property
    def nats_urls(self) -> list[str]:
        return [f"tls://127.0.0.1:{n.client_port}" for n in self.nodes]

    def _spawn(self, node: Node) -> None:
        log = open(self.dir / f"{node.name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.procs[node.name] = subprocess.Popen(
            [nats_binary(), "-c", str(self.dir / f"{node.name}.conf")], stdout=log, stderr=log,
            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent())  # noqa: PLW1509 - one prctl, no locks
        log.close()

    def start(self) -> NatsCluster:
        for node in self.nodes:
            self._spawn(node)
        try:
            self.wait_ready()
        except ProvisioningError:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout_s: float = READY_S) -> None:
        """Every running node healthy, and one JetStream meta leader that all of them see."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready():
                return
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ProvisioningError(f"NATS node {name} exited ({proc.returncode}); see {self.dir / name}.log")
            time.sleep(0.2)
        raise ProvisioningError(f"the NATS cluster was not ready within {timeout_s:.0f} s (logs in {self.dir})")

    def ready(self) -> bool:
        leaders = set()
        for node in self.nodes:
            if node.name not in self.procs or self.procs[node.name].poll() is not None:
                continue
            jsz = _get_json(node.http_port, "/jsz")
            if not jsz or not _get_json(node.http_port, "/healthz"):
                return False
            leaders.add((jsz.get("meta_cluster") or {}).get("leader") or "")
        return len(leaders) == 1 and "" not in leaders

    def kill(self, index: int) -> None:
        """SIGKILL node `index` (fault tests)."""
        proc = self.procs.get(self.nodes[index].name)
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()

    def restart(self, index: int) -> None:
        """Start node `index` again; it rejoins the cluster from its store."""
        self._spawn(self.nodes[index])
        self.wait_ready()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
