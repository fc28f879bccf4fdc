"""`anjungan siak-sim`: a real HTTP server implementing the SIAK contract, with faults.

Capacity is a token bucket (requests/s) plus a concurrency limit; beyond either the
simulator answers 429 with Retry-After, like a real gateway. Faults: outage windows
(503), a `down` switch, congestion by hour of day (fast 08-10, `slow_factor` times slower
after, per the Denpasar study), random 429 and 5xx rates, timeouts (accepted, then the
answer is lost: the client must retry with the same key), slow responses.
`/_sim/*` is the test and operator side: what was accepted, counters, live fault changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import random
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from anjungan.nik import NikError, parse_nik
from broker.policy import TokenBucket
from broker.siak.contract import (
    IDEMPOTENCY_HEADER,
    KEY_RE,
    MAX_SUBMISSION_BYTES,
    ContractError,
    parse_submission,
    view_json,
)
from broker.siak.ledger import KeyReuse, Ledger
from broker.siak.simtls import SimTls


@dataclass(kw_only=True)
class SimConfig:
    """Everything tunable, at start (CLI flags) or live (POST /_sim/faults)."""

    capacity_rps: float = 50.0
    concurrency: int = 8
    latency_s: float = 0.02  # service time of one request at the fast hours
    slow_factor: float = 4.0  # latency multiplier outside the fast hours
    fast_hours: tuple[float, float] = (8.0, 10.0)
    clock_start_hour: float = 8.0  # simulated hour of day when the server starts
    clock_speed: float = 1.0  # simulated seconds per real second
    outages: list[tuple[float, float]] = field(default_factory=list)  # seconds since start
    down: bool = False
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    timeout_hold_s: float = 15.0
    rate_slow: float = 0.0
    slow_s: float = 2.0
    seed: int = 1


def hour_of_day(cfg: SimConfig, elapsed_s: float) -> float:
    return (cfg.clock_start_hour + elapsed_s * cfg.clock_speed / 3600.0) % 24.0


def latency_for(cfg: SimConfig, elapsed_s: float) -> float:
    lo, hi = cfg.fast_hours
    return cfg.latency_s * (1.0 if lo <= hour_of_day(cfg, elapsed_s) < hi else cfg.slow_factor)


def in_outage(cfg: SimConfig, elapsed_s: float) -> bool:
    return cfg.down or any(a <= elapsed_s < b for a, b in cfg.outages)


class SiakSimulator:
    def __init__(self, cfg: SimConfig, ledger: Ledger | None = None, *, token: str = "") -> None:
        self.cfg = cfg
        self._bearer = f"Bearer {token}".encode() if token else b""  # required on /v1 when set
        self.ledger = ledger or Ledger()
        self.started = time.monotonic()
        self.rng = random.Random(cfg.seed)
        self.bucket = TokenBucket(rate=cfg.capacity_rps, burst=max(1.0, cfg.concurrency / 2))
        self.in_flight = 0
        self.counts: dict[str, int] = {}
        self.accepted_log: list[dict[str, Any]] = []
        self.app = Starlette(routes=[
            Route("/v1/enrollments", self.submit, methods=["POST"]),
            Route("/v1/enrollments/{key}", self.status, methods=["GET"]),
            Route("/_sim/accepted", self.accepted, methods=["GET"]),
            Route("/_sim/faults", self.faults, methods=["GET", "POST"]),
            Route("/_sim/reset", self.reset, methods=["POST"]),
            Route("/_sim/health", lambda _r: JSONResponse({"ok": True}), methods=["GET"]),
        ])

    def _count(self, status: int) -> None:
        self.counts[str(status)] = self.counts.get(str(status), 0) + 1

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        self._count(status)
        return JSONResponse(body, status_code=status, headers=headers)

    def _unauthorized(self, request: Request) -> Response | None:
        given = request.headers.get("authorization", "").encode()
        if self._bearer and not hmac.compare_digest(given, self._bearer):
            return self._answer(401, {"error": "bearer token required"})
        return None

    async def _admit(self) -> Response | float:
        """Outage, capacity and random faults; else the latency to serve with."""
        elapsed = time.monotonic() - self.started
        cfg = self.cfg
        if in_outage(cfg, elapsed):
            return self._answer(503, {"error": "SIAK unavailable"}, {"Retry-After": "1"})
        if self.in_flight >= cfg.concurrency:
            return self._answer(429, {"error": "too many concurrent requests"}, {"Retry-After": "0.05"})
        wait = self.bucket.reserve(time.monotonic())
        if wait > 0:
            self.bucket.reserve_refund()
            return self._answer(429, {"error": "rate limit"}, {"Retry-After": f"{wait:.3f}"})
        if self.rng.random() < cfg.rate_429:
            return self._answer(429, {"error": "congested"}, {"Retry-After": "0.2"})
        if self.rng.random() < cfg.rate_5xx:
            return self._answer(self.rng.choice((500, 502, 503)), {"error": "internal error"})
        latency = latency_for(cfg, elapsed)
        if self.rng.random() < cfg.rate_slow:
            latency += cfg.slow_s
        return latency

    async def submit(self, request: Request) -> Response:
        self.counts["requests"] = self.counts.get("requests", 0) + 1
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        if not KEY_RE.match(key):
            return self._answer(400, {"error": f"missing or invalid {IDEMPOTENCY_HEADER} header"})
        admitted = await self._admit()
        if isinstance(admitted, Response):
            return admitted
        self.in_flight += 1
        try:
            raw = await request.body()
            if len(raw) > MAX_SUBMISSION_BYTES:
                return self._answer(413, {"error": "submission too large"})
            try:
                sub = parse_submission(raw)
                parse_nik(sub.nik, today=_today())
            except (ContractError, NikError) as exc:
                return self._answer(422, {"error": str(exc)})
            await asyncio.sleep(admitted)
            try:
                view = self.ledger.submit(key, sub, hashlib.sha256(raw).hexdigest(), now=time.time())
            except KeyReuse as exc:
                return self._answer(422, {"error": str(exc)})
            if not view.replay:
                self.accepted_log.append({
                    "idempotency_key": key, "enrollment_id": view.enrollment_id,
                    "kiosk_id": sub.kiosk_id, "priority": sub.priority, "state": view.state.value,
                    "at": time.time(), "image_bytes": sub.image_bytes,
                })
            if self.rng.random() < self.cfg.rate_timeout:
                await asyncio.sleep(self.cfg.timeout_hold_s)  # accepted, but the answer is lost
                return self._answer(504, {"error": "gateway timeout"})
            return self._answer(200 if view.replay else 201, view_json(view))
        finally:
            self.in_flight -= 1

    async def status(self, request: Request) -> Response:
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        admitted = await self._admit()
        if isinstance(admitted, Response):
            return admitted
        view = self.ledger.view(request.path_params["key"], now=time.time())
        if view is None:
            return self._answer(404, {"error": "unknown enrollment"})
        return self._answer(200, view_json(view))

    async def accepted(self, _request: Request) -> Response:
        return JSONResponse({
            "accepted": self.accepted_log,
            "duplicate_submissions": self.ledger.duplicate_submissions,
            "counts": self.counts,
            "capacity_rps": self.cfg.capacity_rps,
            "concurrency": self.cfg.concurrency,
        })

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError("not an object")
                self.cfg = dataclasses.replace(self.cfg, **changes)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": f"bad fault change: {exc}"}, status_code=400)
            self.bucket.rate = self.cfg.capacity_rps
        return JSONResponse(dataclasses.asdict(self.cfg))

    async def reset(self, _request: Request) -> Response:
        self.ledger = Ledger(bio_after_s=self.ledger.bio_after_s, print_after_s=self.ledger.print_after_s)
        self.accepted_log, self.counts = [], {}
        return JSONResponse({"ok": True})


def _today():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.date.today()


class SimServer:
    """Run the simulator in this process on a background thread (tests, benchmarks)."""

    def __init__(self, sim: SiakSimulator, *, host: str = "127.0.0.1", port: int = 0,
                 tls: SimTls | None = None, client_cert: bool = False) -> None:
        self.sim, self.scheme = sim, "https" if tls else "http"
        config = uvicorn.Config(sim.app, host=host, port=port, log_level="warning",
                                access_log=False, limit_concurrency=None, **tls_options(tls, client_cert))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> SimServer:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"{self.scheme}://{host}:{port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def tls_options(tls: SimTls | None, client_cert: bool) -> dict[str, Any]:
    """uvicorn's settings to serve https with the simulator's certificates; with
    `client_cert`, only to clients holding a certificate from the simulator's CA."""
    if tls is None:
        return {}
    options: dict[str, Any] = {"ssl_certfile": str(tls.server_cert), "ssl_keyfile": str(tls.server_key)}
    if client_cert:
        options.update(ssl_ca_certs=str(tls.ca_file), ssl_cert_reqs=ssl.CERT_REQUIRED)
    return options
