"""The kiosk process's composition root: bundle, peripherals, outbox, publisher, screen, loop."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anjungan import logs
from anjungan.sdnotify import Watchdog
from drivers.factory import open_peripherals
from kiosk.app import Journal, KioskApp
from kiosk.errors import KioskError
from kiosk.flow.machine import Flow, FlowConfig
from kiosk.headphones import Jack, JackWatcher
from kiosk.lock import hold
from kiosk.officers import LOCK_FILE, load_officers, load_pin_lock
from kiosk.outbox import SqliteOutbox
from kiosk.publisher import Publisher, offline_will
from kiosk.renewal import RETRY_S, Renewer
from kiosk.script import ScriptStopped, load_script, run_script, settle
from kiosk.speech import Speaker
from kiosk.submit import SealingKeys
from kiosk.transport import MqttTransport, TlsFiles
from kiosk.ui.panel import Panel
from kiosk.ui.screen import Renderer
from provisioning.bundle import KioskBundle, load_bundle


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    bundle: Path
    peripherals: str = "sim"
    headless: bool = True
    script: Path | None = None
    screenshots: Path | None = None
    lang: str = "id"
    size: tuple[int, int] = (800, 480)
    outbox: Path | None = None
    officers: Path | None = None
    broker: tuple[str, int] | None = None
    tls: bool = True
    drain_s: float = 0.0
    resend_after_s: float = 30.0
    health_interval_s: float = 60.0
    speech: bool = False
    renew_retry_s: float = RETRY_S
    headphone_jack: Jack | None = None  # where the platform tells: speech on when plugged in
    panel: Panel | None = None  # None: the panel this size usually comes on


def _peripherals(spec: str) -> Any:
    if spec.partition(":")[0] in ("sim", "sim-pty", "sim-controller"):
        return open_peripherals(spec)
    try:
        config = json.loads(Path(spec).read_text())
    except (OSError, ValueError) as exc:
        raise KioskError(f"peripheral config {spec!r} unreadable: {type(exc).__name__}") from None
    return open_peripherals(config)


def run_kiosk(opts: RunOptions) -> int:
    os.umask(0o077)  # outbox, WAL and screenshots: readable by the kiosk user only
    # warnings (the broker refusing TLS, a lost link) to stderr, one escaped line each;
    # the JSON journal stays on stdout
    logs.configure(logging.WARNING, sys.stderr)
    bundle = load_bundle(opts.bundle)
    steps = load_script(opts.script) if opts.script else None
    officers_file = opts.officers or (bundle.root / "officers.json")
    officers = load_officers(officers_file) if (opts.officers or officers_file.exists()) else {}
    journal = Journal()
    lock_path = officers_file.with_name(LOCK_FILE)
    pin_lock, lock_problem = load_pin_lock(lock_path, time.time())
    if lock_problem:
        journal.write("officer_lock_problem", problem=lock_problem)
    session_id = uuid.uuid4().hex
    host, port = opts.broker or (bundle.broker_host, bundle.broker_port)
    tls = TlsFiles(ca_file=bundle.ca_file, cert_file=bundle.cert_file, key_file=bundle.key_file) if opts.tls else None
    outbox_path = opts.outbox or bundle.root / "outbox.db"
    # before the peripherals: a second kiosk on this outbox stops here, touching nothing
    instance = hold(outbox_path, what="kiosk")
    peripherals = _peripherals(opts.peripherals)
    outbox = SqliteOutbox(outbox_path, sequence_floor=bundle.sequence_floor)
    renderer = Renderer(*opts.size, headless=opts.headless, panel=opts.panel)
    keys = SealingKeys(identity=bundle.identity, gateway_public_key=bundle.gateway_public_key, suite=bundle.suite,
                       key_id=bundle.gateway_key_id)
    app = KioskApp(
        flow=Flow(FlowConfig(default_lang=opts.lang, officers=officers, speech=opts.speech, pin_lock=pin_lock)),
        renderer=renderer, peripherals=peripherals, outbox=outbox, keys=keys, speaker=Speaker(),
        screenshots=opts.screenshots, journal=journal, session_id=session_id,
        cert_expires_at=bundle.cert_expires_at, clock=time.time, monotonic=time.monotonic,
    )
    transport = MqttTransport(client_id=bundle.kiosk_id, host=host, port=port,
                              will=offline_will(bundle.kiosk_id, session_id, time.time()), tls=tls)
    app.publisher = Publisher(kiosk_id=bundle.kiosk_id, session_id=session_id, outbox=outbox,
                              transport=transport, health=app.health, resend_after_s=opts.resend_after_s,
                              health_interval_s=opts.health_interval_s)
    app.cert_valid_from = bundle.cert_valid_from
    app.pin_lock_path = lock_path
    if opts.headphone_jack is not None:
        app.jack = JackWatcher(opts.headphone_jack).start()
    journal.write("headphone_jack", watched=repr(opts.headphone_jack) if opts.headphone_jack else "")

    def renewed(new: KioskBundle) -> None:  # sign with the new key, connect with the new certificate
        app.keys = SealingKeys(identity=new.identity, gateway_public_key=new.gateway_public_key, suite=new.suite,
                               key_id=new.gateway_key_id)
        app.cert_expires_at, app.cert_valid_from = new.cert_expires_at, new.cert_valid_from
        journal.write("renewed", cert_expires_at=new.cert_expires_at)
        transport.reconnect()

    if opts.tls:
        app.publisher.extensions.append(Renewer(bundle=bundle, transport=transport, on_renewed=renewed,
                                                retry_s=opts.renew_retry_s))
    # SIGTERM only sets `stop`; every loop below (the script's actions and waits included)
    # asks it at least every 50 ms, so the kiosk closes its outbox cleanly within moments
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    journal.write("started", kiosk_id=bundle.kiosk_id, session_id=session_id, pending=outbox.depth(),
                  broker=f"{host}:{port}", tls=opts.tls)
    app.check_printer()
    app.publisher.start()
    # systemd (Type=notify): up now; then every turn of whichever loop runs calls app.step,
    # which pings the watchdog, so a hung loop is restarted
    app.watchdog = Watchdog(parent_ok=True)  # the unit's main process is cage, our parent
    app.watchdog.ready()
    try:
        if steps is not None:
            try:
                run_script(app, steps, stop=stop.is_set)
                journal.write("script_done", screen=app.flow.screen.value, tickets=app.tickets)
                _drain(app, opts.drain_s, stop)
            except ScriptStopped as exc:
                journal.write("script_stopped", reason=str(exc), screen=app.flow.screen.value)
        elif opts.headless:
            while not stop.wait(0.05):
                app.step()
        else:
            _interactive(app, stop)
        if not stop.is_set():
            settle(app, timeout=5)
    finally:
        journal.write("stopped", pending=outbox.depth(), frames=len(renderer.frame_ms))
        app.publisher.stop(time.time())
        app.close()
        renderer.close()
        peripherals.close()
        outbox.close()
        instance.release()
    return 0


def _drain(app: KioskApp, seconds: float, stop: threading.Event) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        if app.outbox.depth() == 0 and not app.outbox.messages():
            app.journal.write("drained")
            return
        app.step()
        time.sleep(0.02)


def on_event(app: KioskApp, ev: Any) -> bool:
    """One pygame event to the app: a touch, a click, a key (keyboard or scanner). False to quit."""
    import pygame

    if ev.type == pygame.QUIT:
        return False
    if ev.type == pygame.MOUSEBUTTONDOWN:
        app.touch(ev.pos)
    elif ev.type == pygame.FINGERDOWN:
        app.touch((int(ev.x * app.renderer.width), int(ev.y * app.renderer.height)))
    elif ev.type == pygame.KEYDOWN:
        app.key(ev.unicode, pygame.key.name(ev.key), shift=bool(ev.mod & pygame.KMOD_SHIFT))
    return True


def _interactive(app: KioskApp, stop: threading.Event) -> None:
    import pygame

    clock = pygame.time.Clock()
    while not stop.is_set():
        for ev in pygame.event.get():
            if not on_event(app, ev):
                return
        app.step()
        clock.tick(30)
