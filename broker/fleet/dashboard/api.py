"""What machines read: `/api/fleet` (JSON), `/metrics` (Prometheus) and `/healthz`.

The first two take `Authorization: Bearer <api token>` or a signed-in session.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from broker.fleet.dashboard import views
from broker.fleet.dashboard.guard import StaffGuard
from broker.fleet.service import FleetService


@dataclass(frozen=True, kw_only=True)
class MachineApi:
    service: FleetService
    guard: StaffGuard

    def routes(self) -> list[Route]:
        return [
            Route("/api/fleet", self.fleet, methods=["GET"]),
            Route("/metrics", self.metrics, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]

    async def fleet(self, request: Request) -> Response:
        if not self.guard.machine_ok(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        kiosk_id = request.query_params.get("kiosk", "")[:64]
        return JSONResponse(await run_in_threadpool(views.fleet_json, self.service, kiosk_id))

    async def metrics(self, request: Request) -> Response:
        if not self.guard.machine_ok(request):
            return PlainTextResponse("unauthorized\n", status_code=401)
        body = await run_in_threadpool(generate_latest, self.service.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


async def healthz(_request: Request) -> Response:
    return PlainTextResponse("ok\n")
