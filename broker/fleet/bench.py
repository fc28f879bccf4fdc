"""`anjungan bench fleet`: many simulated kiosks' health to one fleet service on this machine.

Set-up (loopback only): a private plain-TCP Mosquitto with a permissive config, the fleet
service as its own process (`anjungan fleet serve --mqtt mqtt://...`), and a few MQTT
connections publishing on behalf of all kiosk ids (`KioskCrowd`), each kiosk's health every
`interval_s` at its own phase. After a warm-up, the steady window measures the service's
CPU (from /proc) and, for a few probe kiosks, the lag between the kiosk's offline status
(what its Last Will would publish) and `/api/fleet` showing it offline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from anjungan.messages import LinkState
from broker.fleet.errors import FleetError
from broker.fleet.simkiosk import KioskCrowd, health_message
from provisioning.broker_process import BrokerProcess, free_port, mosquitto_binary


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    kiosks: int = 10_000
    interval_s: float = 30.0
    duration_s: float = 90.0
    publishers: int = 4
    offline_probes: int = 5
    store_url: str = ""
    warmup_s: float | None = None  # default: one interval


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _plain_broker(folder: Path, port: int) -> BrokerProcess:
    conf = folder / "mosquitto.conf"
    conf.write_text("\n".join([
        "# bench only: plain TCP on loopback, anonymous, no persistence",
        f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false",
        "max_queued_messages 200000", "max_inflight_messages 1000", "log_dest stderr",
        "log_type error", "",
    ]))
    mosquitto_binary()
    return BrokerProcess(conf, port).start(log=folder / "mosquitto.log")


class _Publisher(threading.Thread):
    """Sends each of its kiosks' health every interval, at the kiosk's own phase."""

    def __init__(self, crowd: KioskCrowd, kiosks: list[tuple[str, str, bytes]], interval: float,
                 start_at: float, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.crowd, self.kiosks, self.interval = crowd, kiosks, interval
        self.start_at, self.stop_event = start_at, stop
        self.sent = 0
        self.late_max = 0.0

    def run(self) -> None:
        n = len(self.kiosks)
        k = 0
        while not self.stop_event.is_set():
            cycle, index = divmod(k, n)
            due = self.start_at + cycle * self.interval + self.interval * index / n
            delay = due - time.time()
            if delay > 0:
                if self.stop_event.wait(min(delay, 0.5)):
                    return
                if delay > 0.5:
                    continue
            else:
                self.late_max = max(self.late_max, -delay)
            kiosk_id, session, payload = self.kiosks[index]
            self.crowd.health(kiosk_id, session, at=due, payload=payload)
            self.sent += 1
            k += 1


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="anjungan-bench-fleet-") as tmp:
        return _run(cfg, Path(tmp))


def _run(cfg: BenchConfig, tmp: Path) -> dict[str, Any]:
    port = free_port()
    broker = _plain_broker(tmp, port)
    env = {**os.environ, "ANJUNGAN_RUNTIME_DIR": str(tmp / "run")}
    (tmp / "fleet.json").write_text(json.dumps({"thresholds": {"offline_after_s": cfg.interval_s * 3}}))
    service = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "fleet", "serve", "--mqtt", f"mqtt://127.0.0.1:{port}",
         "--db", cfg.store_url or f"sqlite://{tmp / 'fleet.db'}", "--http", "127.0.0.1:0",
         "--config", str(tmp / "fleet.json"), "--no-captures"],
        stdout=subprocess.PIPE, stderr=open(tmp / "service.log", "wb"), text=True, env=env,  # noqa: SIM115
    )
    crowds: list[KioskCrowd] = []
    stop = threading.Event()
    try:
        assert service.stdout is not None
        url = service.stdout.readline().strip().removeprefix("fleet dashboard: ")
        if not url.startswith("http://"):
            raise FleetError("the fleet service did not start; see its log")
        token = json.loads(next((tmp / "run").glob("fleet-*.json")).read_text())["token"]
        http = httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30)
        ids = [f"bench-{i:05d}" for i in range(cfg.kiosks)]
        sessions = {kid: uuid.uuid4().hex for kid in ids}
        crowds = [KioskCrowd(f"bench-pub-{p}", port) for p in range(cfg.publishers)]
        t0 = time.time()
        for i, kid in enumerate(ids):  # every kiosk comes online (retained status)
            crowds[i % len(crowds)].status(kid, LinkState.ONLINE, sessions[kid], at=t0)
        for c in crowds:
            c.status(ids[0], LinkState.ONLINE, sessions[ids[0]], at=t0).wait_for_publish(60)
        payloads = {kid: health_message(kid, sessions[kid], t0).to_json() for kid in ids}
        start_at = time.time() + 0.5
        pubs = [_Publisher(crowds[p], [(kid, sessions[kid], payloads[kid]) for kid in ids[p::len(crowds)]],
                           cfg.interval_s, start_at, stop) for p in range(len(crowds))]
        for p in pubs:
            p.start()
        warmup = cfg.interval_s if cfg.warmup_s is None else cfg.warmup_s
        time.sleep(warmup + 0.5)
        cpu0, wall0 = _cpu_seconds(service.pid), time.monotonic()
        sent0 = sum(p.sent for p in pubs)
        lags = []
        probes = ids[:: max(1, cfg.kiosks // max(1, cfg.offline_probes))][: cfg.offline_probes]
        gap = cfg.duration_s / (len(probes) + 1)
        for kid in probes:
            time.sleep(gap * 0.5)
            lags.append(_offline_lag(http, crowds[0], kid, sessions[kid]))
            time.sleep(gap * 0.5)
        time.sleep(max(0.0, cfg.duration_s - (time.monotonic() - wall0)))
        cpu1, wall1 = _cpu_seconds(service.pid), time.monotonic()
        sent1 = sum(p.sent for p in pubs)
        stop.set()
        for p in pubs:
            p.join()
        total_sent = sum(p.sent for p in pubs)
        for _ in range(100):  # let the last ones land before counting
            handled = _handled(http)
            if handled >= total_sent:
                break
            time.sleep(0.1)
        fleet = http.get("/api/fleet").json()
        http.close()
    finally:
        stop.set()
        for c in crowds:
            c.close()
        service.terminate()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
        broker.stop()
    cpu_share = (cpu1 - cpu0) / (wall1 - wall0)
    result = {
        "config": asdict(cfg),
        "rate_per_s": round((sent1 - sent0) / (wall1 - wall0), 1),
        "sent_total": total_sent, "handled_total": handled,
        "publisher_late_max_s": round(max(p.late_max for p in pubs), 3),
        "service_cpu_share_of_one_core": round(cpu_share, 4),
        "service_cpu_share_of_machine": round(cpu_share / (os.cpu_count() or 1), 4),
        "offline_lag_s": [round(x, 3) for x in lags],
        "offline_lag_max_s": round(max(lags), 3) if lags else None,
        "kiosks_known": fleet["counts"]["kiosks"], "kiosks_online": fleet["counts"]["online"],
    }
    result["summary"] = (
        f"{cfg.kiosks} kiosks, health every {cfg.interval_s:g} s ({result['rate_per_s']} msg/s)"
        f" for {cfg.duration_s:g} s: service CPU {cpu_share:.1%} of one core"
        f" ({result['service_cpu_share_of_machine']:.1%} of the machine);"
        f" offline shown after {', '.join(f'{x * 1000:.0f}' for x in lags)} ms;"
        f" the service handled {handled} of {total_sent} health messages sent"
    )
    return result


def _handled(http: httpx.Client) -> int:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith('anjungan_fleet_messages_total{kind="health",outcome="ok"}'):
            return int(float(line.split()[-1]))
    return 0


def _offline_lag(http: httpx.Client, crowd: KioskCrowd, kiosk_id: str, session: str) -> float:
    """Publish the kiosk's will (offline, its session) and poll the API until it shows."""
    t0 = time.monotonic()
    crowd.status(kiosk_id, LinkState.OFFLINE, session, at=time.time())
    while time.monotonic() - t0 < 30:
        data = http.get("/api/fleet", params={"kiosk": kiosk_id}).json()
        if data["kiosks"] and not data["kiosks"][0]["online"]:
            return time.monotonic() - t0
        time.sleep(0.01)
    raise FleetError(f"{kiosk_id} was not shown offline within 30 s")
