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
import ssl
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anjungan.errors import AnjunganError
from anjungan.packet.model import PriorityClass
from entrypoints.demo.processes import Child, ProcessGroup
from entrypoints.demo.report import ResidentOutcome, SiakRecord, summarize
from entrypoints.demo.residents import OFFICER_ID, OFFICER_PIN, Resident, deal, script_for
from kiosk.outbox import pending_in

OFFICES = ("Denpasar Selatan", "Denpasar Timur", "Denpasar Barat", "Denpasar Utara")


class DemoError(AnjunganError):
    """The demo could not run (a part failed to start, or it ran out of time)."""


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    kiosks: int = 3
    residents: int = 30
    siak_outage_s: float = 20.0
    siak_capacity_rps: float = 1.5  # low enough that the backlog takes a while to drain
    siak_concurrency: int = 2
    peripherals: str = "auto"  # auto: kiosk 1 on the real firmware link, the rest on twins
    timeout_s: float = 110.0
    workdir: Path | None = None
    keep_running: bool = False
    faults: tuple[str, ...] = ()  # of FAULTS: what the system tests inject


FAULTS = ("kill-kiosk", "kill-centre", "revoke-kiosk")


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
    killed: bool = False  # SIGKILLed by a fault: its last resident is served again elsewhere
    reader: threading.Thread | None = None

    def follow(self) -> KioskWatch:
        self.reader = threading.Thread(target=self.read, daemon=True, name=f"journal-{self.kiosk_id}")
        self.reader.start()
        return self

    def mid_session(self) -> bool:
        """A resident is being served: marked, and nothing stored since."""
        if not self.marks or self.marks[-1][0] == "feedback":
            return False
        return len(self.stored) < sum(1 for kind, _ in self.marks if kind != "feedback")

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
        marks = list(self.marks)
        if self.killed and self.mid_session():
            marks, ends = marks[:-1], ends[:-1]  # interrupted: that resident starts over
        for (kind, start), end in zip(marks, ends, strict=True):
            packet = None
            if kind != "feedback" and stored:
                packet = stored.pop(0)
            out.append(ResidentOutcome(
                kiosk_id=self.kiosk_id, kind=kind, seconds=end - start,
                served=kind == "feedback" or packet is not None,
                packet_id=packet["packet_id"] if packet else None,
                priority=int(PriorityClass.from_label(packet["priority"])) if packet else None,
            ))
        return out


def _get_json(url: str, context: ssl.SSLContext | None = None) -> Any:
    with urllib.request.urlopen(url, timeout=5, context=context) as resp:  # noqa: S310 - our own loopback service
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
        self.siak_tls: ssl.SSLContext | None = None
        self.started = time.time()
        self.injected: dict[str, float] = {}  # fault -> when
        self.revoked = ""

    def run(self) -> dict[str, Any]:
        try:
            with ProcessGroup(self.work / "logs") as group:
                self._start(group)
                summary = self._watch()
                if self.cfg.keep_running:
                    for kid in sorted({k.kiosk_id for k in self.kiosks}):
                        self._start_kiosk(kid, [], attempt=0)  # idle, online, sending health
                    self.on_progress({"phase": "kept", "dashboard": self.dashboard_url,
                                      "staff": ("staff", self.staff_password), "work": str(self.work)})
                    threading.Event().wait()  # until Ctrl-C / SIGTERM
                return summary
        finally:  # normal end, Ctrl-C or SIGTERM: nothing left behind but a --workdir
            if self.cfg.workdir is None:
                shutil.rmtree(self.work, ignore_errors=True)

    # --- start-up ---------------------------------------------------------------------

    def _start(self, group: ProcessGroup) -> None:
        from broker.fleet.dashboard.auth import hash_password
        from broker.fleet.store import open_store
        from broker.fleet.store.records import Site
        from broker.siak.simtls import sim_tls
        from kiosk.officers import add_officer
        from provisioning.broker_process import free_port, mosquitto_binary
        from provisioning.bundle import complete, request
        from provisioning.centre_folder import export_centre
        from provisioning.files import write_atomic
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
        # the centre runs from its own folder, never beside the fleet CA's key
        self.centre_dir = work / "centre"
        export_centre(fleet, self.centre_dir)
        _await_port(group.start("mosquitto", [mosquitto_binary(), "-c", str(conf)]), mqtt_port)
        store = open_store(f"sqlite://{work / 'centre' / 'fleet-health.db'}")
        store.set_staff("staff", hash_password(self.staff_password), at=time.time())
        for i, (kid, _bundle) in enumerate(bundles):
            store.set_site(Site(kiosk_id=kid, office="Dukcapil Kota Denpasar",
                                kecamatan=OFFICES[i % len(OFFICES)]))
        store.close()
        # SIAK as in production: https, its CA pinned, our client certificate and a token
        siak_tls = sim_tls(work / "siak-tls")
        token_file = work / "siak-token"
        write_atomic(token_file, secrets.token_urlsafe(24).encode(), private=True)
        self.siak_tls = siak_tls.client_context()
        self.siak_url = siak_url = f"https://127.0.0.1:{siak_port}"
        siak_access = ("--siak-ca", str(siak_tls.ca_file), "--siak-cert", str(siak_tls.client_cert),
                       "--siak-key", str(siak_tls.client_key), "--siak-token-file", str(token_file))
        self.centre_args = (
            "broker", "run", "--fleet", str(self.centre_dir), "--siak", siak_url, *siak_access,
            "--workers", str(cfg.siak_concurrency), "--rate", str(cfg.siak_capacity_rps),
            "--breaker-cooldown", "1", "--status-poll", "1", "--http", "127.0.0.1:0",
        )
        self.group = group
        self._start_centre()
        outage = ["--outage", f"0:{cfg.siak_outage_s}"] if cfg.siak_outage_s > 0 else []
        siak = group.anjungan(
            "siak-sim", "siak-sim", "--port", str(siak_port), "--tls-dir", str(siak_tls.folder),
            "--client-cert", "--token-file", str(token_file),
            "--capacity", str(cfg.siak_capacity_rps), "--concurrency", str(cfg.siak_concurrency),
            *outage,
        )
        _await_port(siak, siak_port)
        self.outage = (time.time(), time.time() + cfg.siak_outage_s)
        self.group, self.fleet = group, fleet
        for (kid, _bundle), queue in zip(bundles, deal(cfg.residents, cfg.kiosks), strict=True):
            self.kiosks.append(self._start_kiosk(kid, queue))

    def _start_kiosk(self, kid: str, queue: list[Resident], *, attempt: int = 1) -> KioskWatch:
        """A kiosk serving `queue`; with attempt 0, an idle kiosk that runs until stopped."""
        script = self.work / f"{kid}-residents-{attempt}.json"
        script.write_text(json.dumps([step for r in queue for step in script_for(r)]))
        plan = ["--script", str(script), "--drain", str(self.cfg.timeout_s)] if attempt else []
        child = self.group.anjungan(
            f"{kid}-{attempt}", "kiosk", "run", "--bundle", str(self.work / kid),
            "--peripherals", self._peripherals(kid), "--headless", *plan,
            "--resend-after", "5", "--health-interval", "2", stdout_to_log=False,
        )
        return KioskWatch(kid, child, queue).follow()

    def _start_centre(self, *, attempt: int = 1) -> None:
        centre = self.group.anjungan(f"centre-{attempt}", *self.centre_args)
        self.dashboard_url = _wait_for_line(centre, "staff dashboard: ", 30)
        self.centre = centre

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
            siak = _get_json(f"{self.siak_url}/_sim/accepted", self.siak_tls)
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
            "residents_served": sum(len(k.marks) - (k.killed and k.mid_session()) for k in self.kiosks),
            "residents": self.cfg.residents,
            "captured": sum(len(k.stored) for k in self.kiosks),
            "outbox": {k.kiosk_id: _outbox_depth(self.work / k.kiosk_id / "outbox.db")
                       for k in self.kiosks},
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
            self._inject(snap)
            captured = {e["packet_id"] for k in self.kiosks for e in k.stored}
            accepted = {a["idempotency_key"] for a in snap["siak_accepted"]}
            refused = self._refused(queue)
            done = all(not k.child.alive() for k in self.kiosks)
            if (done and captured <= accepted | refused) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if queue is not None:
            queue.close()
        outcomes = [o for k in self.kiosks for o in k.outcomes()]
        records = [SiakRecord(key=a["idempotency_key"], at=float(a["at"]),
                              duplicate_nik=a["state"] == "DUPLICATE")
                   for a in snap["siak_accepted"]]
        summary = summarize(outcomes, records, outages=[self.outage], refused=refused)
        summary.update({
            "kiosks": self.cfg.kiosks, "siak_outage_s": self.cfg.siak_outage_s,
            "siak_capacity_rps": self.cfg.siak_capacity_rps,
            "elapsed_s": round(time.time() - self.started, 1),
            "kiosk_exit_codes": {k.kiosk_id: k.child.process.poll() for k in self.kiosks},
            "kiosk_faults": sum(len(k.failures) for k in self.kiosks),
            "siak_answers": snap["siak_answers"], "dashboard": self.dashboard_url,
            "faults_injected": sorted(self.injected),
            "interrupted_sessions": sum(1 for k in self.kiosks if k.killed and k.mid_session()),
            "problems": self._problems(),
        })
        return summary


    def _problems(self) -> list[str]:
        """Kiosks that ended badly on their own (not by a fault the demo injected), with the
        last line each logged: what a failed run's reader needs first."""
        return [f"kiosk {k.kiosk_id} exited with code {code}: {_last_line(k.child)}"
                for k in self.kiosks
                if (code := k.child.process.poll()) not in (0, None) and not k.killed]

    def _refused(self, queue: Any) -> set[str]:
        """Packets the centre refused because their kiosk was revoked (on purpose, not lost)."""
        if queue is None or not self.revoked:
            return set()
        return {r.packet_id for r in queue.rejections(limit=10_000)
                if r.kiosk_id == self.revoked and r.reason == "revoked"}

    def _inject(self, snap: dict[str, Any]) -> None:
        """The system tests' faults, each once, at the moment that hurts most."""
        from provisioning.centre_folder import export_centre
        from provisioning.fleet import revoke

        wanted = [f for f in self.cfg.faults if f not in self.injected]
        now = time.time()
        if "kill-kiosk" in wanted:
            watch = self.kiosks[-1]  # the last kiosk, while it serves its second resident
            if len(watch.marks) >= 2 and watch.mid_session() and now - watch.marks[-1][1] > 0.3:
                watch.child.kill()
                watch.killed = True
                if watch.reader is not None:
                    watch.reader.join(timeout=5)  # every journal line written before the kill
                served = len(watch.marks) - (1 if watch.mid_session() else 0)
                self.kiosks.append(self._start_kiosk(watch.kiosk_id, watch.residents[served:],
                                                     attempt=2))
                self.injected["kill-kiosk"] = now
        if "kill-centre" in wanted and snap["siak"].startswith("DOWN"):
            if sum(snap["backlog"].values()) >= 3:  # packets committed, waiting for SIAK
                self.centre.kill()
                self._start_centre(attempt=2)
                self.injected["kill-centre"] = now
        if "revoke-kiosk" in wanted and len(self.kiosks) > 1:
            target = self.kiosks[1]  # once two of its packets are safely at the centre
            if len(target.stored) >= 2 and snap["outbox"].get(target.kiosk_id) == 0:
                revoke(self.fleet, target.kiosk_id)
                export_centre(self.fleet, self.centre_dir)  # as `provision revoke --centre-dir`
                self.revoked = target.kiosk_id
                self.injected["revoke-kiosk"] = now


def _outbox_depth(path: Path) -> int:
    """Pending packets in a kiosk's outbox, read-only from outside the kiosk."""
    return pending_in(path)
