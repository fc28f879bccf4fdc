"""Run a fleet's NATS cluster on loopback (`anjungan provision nats --run`, benches, tests).

Each node is a `nats-server` child that dies with its parent (PR_SET_PDEATHSIG), so no
node outlives the command that started it. The signal comes when the *thread* that
started the node ends: call `start` and `restart` from one that lives as long as the nodes
(the main thread, as every caller here does). `start` waits until every node answers and the
JetStream meta group has a leader; `kill` and `restart` one node are for fault tests.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from anjungan.children import die_with_parent
from provisioning.errors import ProvisioningError
from provisioning.nats import INGEST_CONSUMER, INGEST_STREAM, Node, read_layout

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


def _health(port: int) -> str:
    """'' when the node's /healthz says ok, else why not (its error, shortened)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:  # noqa: S310 - loopback
            body = r.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except OSError as exc:
        return type(exc).__name__
    try:
        data = json.loads(body)
    except ValueError:
        return "no answer"
    return "" if data.get("status") == "ok" else str(data.get("error", "unavailable"))[:160]


class NatsCluster:
    """The nodes of `anjungan provision nats --out DIR`, as child processes."""

    def __init__(self, conf_dir: str | Path) -> None:
        self.dir = Path(conf_dir)
        self.nodes: list[Node] = read_layout(self.dir)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.unhealthy: dict[str, str] = {}  # node -> why /healthz was not ok, at the last look

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

    def wait_ready(self, timeout_s: float = READY_S, *, healthy: bool = True) -> None:
        """One JetStream meta leader that every running node sees, and (`healthy`) every
        node's /healthz ok: each of its streams and consumers current."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready(healthy=healthy):
                return
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ProvisioningError(f"NATS node {name} exited ({proc.returncode}); see {self.dir / name}.log")
            time.sleep(0.2)
        why = "; ".join(f"{n}: {e}" for n, e in self.unhealthy.items())
        raise ProvisioningError(f"the NATS cluster was not ready within {timeout_s:.0f} s ({why or 'no meta leader'}; "
                                f"logs in {self.dir})")

    def ready(self, *, healthy: bool = True) -> bool:
        leaders = set()
        self.unhealthy = {}
        for node in self.nodes:
            if node.name not in self.procs or self.procs[node.name].poll() is not None:
                continue
            jsz = _get_json(node.http_port, "/jsz")
            if healthy and (why := _health(node.http_port)):
                self.unhealthy[node.name] = why
            if not jsz:
                return False
            leaders.add((jsz.get("meta_cluster") or {}).get("leader") or "")
        return len(leaders) == 1 and "" not in leaders and not self.unhealthy

    def ingest_current(self) -> bool:
        """The ingest stream and its consumer have every node as a current replica, as their
        leaders see it: a node that rejoined has caught up. (Not /healthz: NATS 2.9.10 can
        report its own MQTT retained-message consumer of a restarted node "not current" for
        good, while our stream is fine.)"""
        seen = set()
        for node in self.nodes:
            jsz = _get_json(node.http_port, "/jsz?accounts=true&streams=true&consumers=true")
            for account in (jsz or {}).get("account_details") or []:
                for stream in account.get("stream_detail") or []:
                    if stream.get("name") != INGEST_STREAM:
                        continue
                    items = [("stream", stream.get("cluster") or {})]
                    items += [("consumer", c.get("cluster") or {}) for c in stream.get("consumer_detail") or []
                              if c.get("name") == INGEST_CONSUMER]
                    for what, cluster in items:
                        if cluster.get("leader") != node.name:
                            continue
                        replicas = cluster.get("replicas") or []
                        if len(replicas) != min(3, len(self.nodes)) - 1 or not all(r.get("current") for r in replicas):
                            return False
                        seen.add(what)
        return seen == {"stream", "consumer"}

    def reload(self) -> None:
        """SIGHUP every running node: it re-reads its config (users after an enrolment or a
        revocation); the connections of users no longer there are closed."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGHUP)

    def kill(self, index: int) -> None:
        """SIGKILL node `index` (fault tests)."""
        proc = self.procs.get(self.nodes[index].name)
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()

    def restart(self, index: int) -> None:
        """Start node `index` again from its store, and wait until it has rejoined: it sees
        the others' meta leader (catching up its streams comes after: `wait_ready`)."""
        self._spawn(self.nodes[index])
        self.wait_ready(healthy=False)

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
