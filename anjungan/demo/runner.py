"""The demo's composition root: every real part, started as its own process.

    fleet + kiosk bundles  (provisioning, in-process)
    mosquitto              private, TLS + ACLs + CRL from `provision mosquitto`, free port
    anjungan siak-sim      the SIAK simulator, down for the outage window from the start
    anjungan broker run    central service on SQLite, relay to SIAK, dashboard on --http
    anjungan kiosk run     N kiosks, headless, simulated peripherals, scripted residents

The demo watches from outside, as staff would: the kiosks' journals (stdout), the SIAK
simulator's record of what it accepted, the central queue's depth. Then it counts.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anjungan.demo.processes import Child, ProcessGroup
from anjungan.demo.report import ResidentOutcome, SiakRecord, summarize
from anjungan.demo.residents import OFFICER_ID, OFFICER_PIN, Resident, deal, script_for
from anjungan.errors import AnjunganError
from anjungan.packet.model import PriorityClass

OFFICES = ("Denpasar Selatan", "Denpasar Timur", "Denpasar Barat", "Denpasar Utara")


class DemoError(AnjunganError):
    """The demo could not run (a part failed to start, or it ran out of time)."""


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    kiosks: int = 3
    residents: int = 30
    siak_outage_s: float = 20.0
    siak_capacity_rps: float = 4.0
    siak_concurrency: int = 2
    peripherals: str = "auto"  # auto: kiosk 1 on the real firmware link, the rest on twins
    timeout_s: float = 110.0
    workdir: Path | None = None
    keep_running: bool = False


@dataclass
class KioskWatch:
    """One kiosk process and what its journal has told us so far."""

    kiosk_id: str
    child: Child
    residents: list[Resident]
    marks: list[tuple[str, float]] = field(default_factory=list)
    stored: list[dict[str, Any]] = field(default_factory=list)
    feedback: int = 0
    ended_at: float | None = None
    failures: list[str] = field(default_factory=list)

    def read(self) -> None:
        """Runs on a thread: one JSON event per line of the kiosk's stdout."""
        assert self.child.process.stdout is not None
        for raw in self.child.process.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            name = event.get("event")
            if name == "mark":
                self.marks.append((str(event["label"]), float(event["at"])))
            elif name == "stored":
                self.stored.append(event)
            elif name == "feedback_queued":
                self.feedback += 1
            elif name == "script_done":
                self.ended_at = time.time()
            elif name in ("store_failed", "capture_failed", "receipt_failed"):
                self.failures.append(name)

    def outcomes(self) -> list[ResidentOutcome]:
        """Pair each resident (a mark) with the packet stored before the next mark."""
        out = []
        ends = [t for _, t in self.marks[1:]] + [self.ended_at or time.time()]
        stored = list(self.stored)
        for (kind, start), end in zip(self.marks, ends, strict=True):
            packet = None
            if kind != "feedback" and stored:
                packet = stored.pop(0)
            out.append(ResidentOutcome(
                kiosk_id=self.kiosk_id, kind=kind, seconds=end - start,
                served=kind == "feedback" or packet is not None,
                packet_id=packet["packet_id"] if packet else None,
                priority=_PRIORITY[packet["priority"]] if packet else None,
            ))  # fmt: skip
        return out


_PRIORITY = {"vulnerable": 0, "first_recording": 1, "routine": 2}


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - our own loopback service
        return json.loads(resp.read())


def _last_line(child: Child) -> str:
    lines = child.log.read_text(errors="replace").strip().splitlines()
    return lines[-1][:200] if lines else "no output"


def _await_port(child: Child, port: int) -> None:
    from provisioning.broker_process import wait_for_port

    try:
        wait_for_port(port)
    except AnjunganError:
        raise DemoError(f"{child.name} did not start: {_last_line(child)}") from None


def _wait_for_line(child: Child, prefix: str, timeout: float) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in child.log.read_text(errors="replace").splitlines():
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        if not child.alive():
            break
        time.sleep(0.1)
    raise DemoError(f"{child.name} did not start: {_last_line(child)}")


class Demo:
    def __init__(self, cfg: DemoConfig, *, on_progress: Callable[[dict[str, Any]], None]) -> None:
        self.cfg = cfg
        self.on_progress = on_progress
        self.work = cfg.workdir or Path(tempfile.mkdtemp(prefix="anjungan-demo-"))
        self.kiosks: list[KioskWatch] = []
        self.dashboard_url = ""
        self.staff_password = secrets.token_urlsafe(9)
        self.outage: tuple[float, float] = (0.0, 0.0)
        self.siak_url = ""
        self.started = time.time()

    def run(self) -> dict[str, Any]:
        try:
            with ProcessGroup(self.work / "logs") as group:
                self._start(group)
                summary = self._watch()
                if self.cfg.keep_running:
                    self.on_progress({"phase": "kept", "dashboard": self.dashboard_url,
                                      "staff": ("staff", self.staff_password), "work": str(self.work)})  # fmt: skip
                    threading.Event().wait()  # until Ctrl-C / SIGTERM
                return summary
        finally:
            if self.cfg.workdir is None and not self.cfg.keep_running:
                shutil.rmtree(self.work, ignore_errors=True)

    # --- start-up ---------------------------------------------------------------------

    def _start(self, group: ProcessGroup) -> None:
        from broker.dashboard.auth import hash_password
        from broker.fleet.store import open_store
        from kiosk.officers import add_officer
        from provisioning.broker_process import free_port, mosquitto_binary
        from provisioning.bundle import complete, request
        from provisioning.fleet import init_fleet
        from provisioning.mosquitto import write_config

        cfg, work = self.cfg, self.work
        mqtt_port, siak_port = free_port(), free_port()
        fleet = init_fleet(work / "fleet", broker_port=mqtt_port, name="anjungan-demo")
        bundles = []
        for i in range(cfg.kiosks):
            kid = f"dps-{i + 1:02d}"
            request(work / kid, kid)
            complete(fleet, work / kid, office=OFFICES[i % len(OFFICES)])
            add_officer(work / kid / "officers.json", OFFICER_ID, OFFICER_PIN)
            bundles.append((kid, work / kid))
        conf = write_config(fleet, work / "mosquitto", port=mqtt_port)
        _await_port(group.start("mosquitto", [mosquitto_binary(), "-c", str(conf)]), mqtt_port)
        store = open_store(f"sqlite://{work / 'centre' / 'fleet-health.db'}")
        store.set_staff("staff", hash_password(self.staff_password), at=time.time())
        store.close()
        self.siak_url = siak_url = f"http://127.0.0.1:{siak_port}"
        centre = group.anjungan(
            "centre", "broker", "run", "--fleet", str(fleet.root), "--siak", siak_url,
            "--workers", str(cfg.siak_concurrency), "--rate", str(cfg.siak_capacity_rps),
            "--breaker-cooldown", "1", "--status-poll", "1", "--http", "127.0.0.1:0",
        )  # fmt: skip
        self.dashboard_url = _wait_for_line(centre, "staff dashboard: ", 30)
        outage = ["--outage", f"0:{cfg.siak_outage_s}"] if cfg.siak_outage_s > 0 else []
        siak = group.anjungan(
            "siak-sim", "siak-sim", "--port", str(siak_port),
            "--capacity", str(cfg.siak_capacity_rps), "--concurrency", str(cfg.siak_concurrency),
            *outage,
        )  # fmt: skip
        _await_port(siak, siak_port)
        self.outage = (time.time(), time.time() + cfg.siak_outage_s)
        for (kid, bundle), queue in zip(bundles, deal(cfg.residents, cfg.kiosks), strict=True):
            script = work / f"{kid}-residents.json"
            script.write_text(json.dumps([step for r in queue for step in script_for(r)]))
            child = group.anjungan(
                kid, "kiosk", "run", "--bundle", str(bundle), "--peripherals", self._peripherals(kid),
                "--headless", "--script", str(script), "--drain", str(cfg.timeout_s),
                "--resend-after", "5", "--health-interval", "2",
                stdout_to_log=False,
            )  # fmt: skip
            watch = KioskWatch(kid, child, queue)
            threading.Thread(target=watch.read, daemon=True, name=f"journal-{kid}").start()
            self.kiosks.append(watch)

    def _peripherals(self, kiosk_id: str) -> str:
        if self.cfg.peripherals != "auto":
            return self.cfg.peripherals
        # the controller's real firmware (under micropython) on a pty for the first kiosk;
        # image transfers at line rate would make a resident take minutes, so the biometric
        # devices stay in-process twins
        return "sim-controller" if kiosk_id == "dps-01" else "sim"

    # --- watching ---------------------------------------------------------------------

    def _snapshot(self, queue: Any) -> dict[str, Any]:
        try:
            siak = _get_json(f"{self.siak_url}/_sim/accepted")
        except OSError:
            siak = {"accepted": [], "counts": {}}
        backlog: dict[str, int] = {}
        if queue is not None:
            for row in queue.depth(now=time.time()):
                backlog[PriorityClass(int(row.priority)).label] = row.depth
        now = time.time()
        return {
            "phase": "running",
            "elapsed_s": now - self.started,
            "residents_served": sum(len(k.marks) for k in self.kiosks),
            "residents": self.cfg.residents,
            "captured": sum(len(k.stored) for k in self.kiosks),
            "outbox": {k.kiosk_id: _outbox_depth(self.work / k.kiosk_id / "outbox.db")
                       for k in self.kiosks},  # fmt: skip
            "backlog": backlog,
            "siak": "DOWN (outage)" if self.outage[0] <= now < self.outage[1] else "up",
            "accepted_by_siak": len({a["idempotency_key"] for a in siak["accepted"]}),
            "siak_accepted": siak["accepted"],
            "siak_answers": siak.get("counts", {}),
        }

    def _watch(self) -> dict[str, Any]:
        from broker.queue import open_queue

        deadline = time.monotonic() + self.cfg.timeout_s
        queue_db = self.work / "centre" / "queue.db"
        queue = None
        while True:
            if queue is None and queue_db.exists():
                queue = open_queue(f"sqlite://{queue_db}")
            snap = self._snapshot(queue)
            self.on_progress(snap)
            captured = {e["packet_id"] for k in self.kiosks for e in k.stored}
            accepted = {a["idempotency_key"] for a in snap["siak_accepted"]}
            done = all(not k.child.alive() for k in self.kiosks)
            if (done and captured <= accepted) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if queue is not None:
            queue.close()
        outcomes = [o for k in self.kiosks for o in k.outcomes()]
        records = [SiakRecord(key=a["idempotency_key"], at=float(a["at"]),
                              duplicate_nik=a["state"] == "DUPLICATE")
                   for a in snap["siak_accepted"]]  # fmt: skip
        summary = summarize(outcomes, records, outages=[self.outage])
        summary.update({
            "kiosks": self.cfg.kiosks, "siak_outage_s": self.cfg.siak_outage_s,
            "siak_capacity_rps": self.cfg.siak_capacity_rps,
            "elapsed_s": round(time.time() - self.started, 1),
            "kiosk_exit_codes": {k.kiosk_id: k.child.process.poll() for k in self.kiosks},
            "kiosk_faults": sum(len(k.failures) for k in self.kiosks),
            "siak_answers": snap["siak_answers"], "dashboard": self.dashboard_url,
        })  # fmt: skip
        return summary


def _outbox_depth(path: Path) -> int:
    """Pending packets in a kiosk's outbox, read-only from outside the kiosk."""
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    except sqlite3.Error:
        return -1
