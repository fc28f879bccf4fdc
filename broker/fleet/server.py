"""The standalone fleet service: monitor + dashboard in one process (composition root).

`anjungan fleet serve` calls `serve(...)`; the central service's `broker run` can instead
build a `FleetService`, `attach()` it to its own MQTT client and mount `create_app(...)`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from broker.fleet import runtime
from broker.fleet.centre_sample import with_trust
from broker.fleet.dashboard.app import create_app
from broker.fleet.dashboard.auth import new_token
from broker.fleet.dashboard.edge import HttpOptions
from broker.fleet.errors import FleetConfigError
from broker.fleet.localtime import DEFAULT_TIMEZONE, SiteTime
from broker.fleet.model import Thresholds
from broker.fleet.mqtt import FleetMonitor
from broker.fleet.service import CentreSampler, FleetService, FleetSettings, Registry, SiteSource
from broker.fleet.store import FleetStore, Site, open_store
from provisioning.centres import FLEET_MONITOR_ID

log = logging.getLogger("anjungan.fleet")
STOP_GRACE_S = 3  # at SIGTERM, requests still running after this long are cut off

SETTING_KEYS = ("history_every_s", "retention_s", "flush_every_s", "tick_every_s", "sample_every_s")


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    store_url: str
    mqtt_url: str
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    tls: Any = None  # provisioning.fleet.TlsFiles for mqtts://
    client_id: str = FLEET_MONITOR_ID  # with TLS, the identity's name (the broker enforces it)
    settings: FleetSettings = FleetSettings()
    staff: tuple[tuple[str, str], ...] = ()  # (username, password hash) from the config file
    captures: bool = True
    queue_url: str = ""
    api_token: str = field(default="", repr=False)
    http: HttpOptions = HttpOptions()  # dashboard TLS files, trusted reverse proxies
    registry: Registry | None = None  # revoked kiosks are refused (`fleet_registry`)
    sites: SiteSource | None = None  # office and kecamatan given at signing (`fleet_sites`)
    # names the runtime file (broker.fleet.runtime), one per fleet; and alerts 7 days before
    # its CAs, centre certificates or CRL expire
    fleet_dir: Path | None = None


def load_config(path: str | None) -> tuple[FleetSettings, tuple[tuple[str, str], ...]]:
    """A JSON file: {"thresholds": {...}, "history_every_s": 60, ..., "staff": [{...}]}."""
    if not path:
        return FleetSettings(), ()
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise FleetConfigError(f"cannot read fleet config {path}: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise FleetConfigError(f"fleet config {path} must be a JSON object")
    unknown = sorted(set(data) - {"thresholds", "staff", "timezone", *SETTING_KEYS})
    if unknown:
        raise FleetConfigError(f"unknown fleet config keys {unknown}")
    values = {k: data[k] for k in SETTING_KEYS if k in data}
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            raise FleetConfigError(f"fleet config {k} must be a number >= 0")
    zone = data.get("timezone", DEFAULT_TIMEZONE)
    if not isinstance(zone, str):
        raise FleetConfigError("fleet config timezone must be a zone name such as Asia/Makassar or WITA")
    settings = FleetSettings(thresholds=Thresholds.from_mapping(data.get("thresholds") or {}),
                             local_time=SiteTime(zone), **values)
    staff = []
    for entry in data.get("staff") or []:
        if not (isinstance(entry, dict) and isinstance(entry.get("username"), str)
                and str(entry.get("password_hash", "")).startswith("scrypt$")):
            raise FleetConfigError("each staff entry needs username and password_hash (scrypt$...)")
        staff.append((entry["username"], entry["password_hash"]))
    return settings, tuple(staff)


def fleet_registry(fleet_dir: str | Path, *, check_every_s: float = 2.0) -> Registry:
    """The fleet folder's registry states, re-read when `provision revoke` changes it."""
    from broker.trust import TrustSource

    trust = TrustSource(fleet_dir, check_every_s=check_every_s)
    return lambda: trust().kiosks


def fleet_sites(fleet_dir: str | Path) -> SiteSource:
    """The office and kecamatan each kiosk was signed with (`provision sign --office
    --kecamatan`), from the fleet folder's registry (also in the centre's folder)."""
    from provisioning.fleet import kiosk_sites

    def read() -> dict[str, Site]:
        return {kid: Site(kiosk_id=kid, office=office, kecamatan=kecamatan)
                for kid, (office, kecamatan) in kiosk_sites(fleet_dir).items()}

    return read


def queue_sampler_for(url: str) -> CentreSampler | None:
    if not url:
        return None
    from broker.fleet.centre_sample import queue_sampler
    from broker.queue import open_queue

    return queue_sampler(open_queue(url))


def bind(host: str, port: int) -> socket.socket:
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        raise FleetConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def serve(cfg: ServeConfig, *, on_ready: Callable[[str], None] | None = None,
          sampler: CentreSampler | None = None,
          on_service: Callable[[FleetService], None] | None = None) -> int:
    """Run monitor + dashboard until SIGTERM. The central service passes its own queue
    `sampler` and an `on_service` hook (to feed committed captures into the plots)."""
    store: FleetStore = open_store(cfg.store_url)
    for username, password_hash in cfg.staff:
        store.set_staff(username, password_hash, at=time.time())
    sampler = sampler or queue_sampler_for(cfg.queue_url)
    if cfg.fleet_dir is not None:
        sampler = with_trust(sampler, cfg.fleet_dir)
    service = FleetService(store, settings=cfg.settings, registry=cfg.registry, sites=cfg.sites,
                           sampler=sampler, instance=cfg.client_id)  # one identity per monitor
    if on_service:
        on_service(service)
    token = cfg.api_token or new_token()
    cfg.http.check_tls()
    sock = bind(cfg.http_host, cfg.http_port)
    host, port = sock.getsockname()[:2]
    url = f"{'https' if cfg.http.tls else 'http'}://{host}:{port}"
    if not (cfg.http.tls or cfg.http.trusted_proxies or _loopback(host)):
        log.warning("the dashboard on %s is plain HTTP: give --http-cert/--http-key, or put a TLS"
                    " proxy in front (--trusted-proxy)", url)
    running = _running(cfg, url, token)
    monitor = FleetMonitor(service, cfg.mqtt_url, tls=cfg.tls, client_id=cfg.client_id, captures=cfg.captures)
    service.start()
    try:
        monitor.start(wait_s=0)  # connects (and reconnects) in the background
        app = create_app(service, api_token=token, secure_cookies=cfg.http.tls,
                         trusted_proxies=cfg.http.trusted_proxies)
        # forwarded headers are the app's business (broker.fleet.dashboard.edge), never uvicorn's:
        # its default believes them from 127.0.0.1 or from $FORWARDED_ALLOW_IPS
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                               proxy_headers=False, server_header=False,
                                               timeout_graceful_shutdown=STOP_GRACE_S,
                                               ssl_certfile=cfg.http.cert or None,
                                               ssl_keyfile=cfg.http.key or None))
        # SIGTERM asks the server to stop, whenever it comes: before uvicorn takes the signal
        # over (it then stops right after starting up), while it serves (uvicorn's own
        # handler), or when uvicorn raises it again after its graceful shutdown (here, a no-op).
        # No exception is thrown into whatever runs at that moment, so a SIGTERM during
        # start-up cannot leave a half-made event loop behind, and the `finally` below always
        # withdraws the runtime files and flushes the store.
        signal.signal(signal.SIGTERM, lambda _signum, _frame: setattr(server, "should_exit", True))
        runtime.publish(running)
        log.warning("fleet dashboard on %s", url)
        if on_ready:
            on_ready(url)
        server.run(sockets=[sock])
    finally:
        runtime.withdraw(running.key, url)
        monitor.stop()
        service.stop()
        store.close()
        sock.close()
    return 0


def _running(cfg: ServeConfig, url: str, token: str) -> runtime.Running:
    if cfg.fleet_dir is None:
        return runtime.Running(key=runtime.store_key(cfg.store_url), url=url, token=token,
                               folder=cfg.store_url, store=cfg.store_url)
    from provisioning.fleet import open_fleet

    try:
        name = str(open_fleet(cfg.fleet_dir).settings.get("name", ""))
    except Exception:  # noqa: BLE001 - the name is only for people
        name = ""
    return runtime.Running(key=runtime.fleet_key(cfg.fleet_dir), url=url, token=token, fleet=name,
                           folder=str(Path(cfg.fleet_dir).resolve()), store=cfg.store_url)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

