"""The fleet's pages: the overview (help requests, filters, plots), one kiosk's detail, and
acknowledging a help request ("on my way": the alert clears, the kiosk tells the resident)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from anjungan.ids import KIOSK_ID_RE
from broker.fleet.dashboard import views
from broker.fleet.dashboard.guard import StaffGuard
from broker.fleet.dashboard.i18n import translator
from broker.fleet.dashboard.web import Renderer, lang_of
from broker.fleet.service import FleetService
from broker.fleet.store import StaffSession


@dataclass(frozen=True, kw_only=True)
class FleetPages:
    service: FleetService
    guard: StaffGuard
    renderer: Renderer

    def routes(self) -> list[Route]:
        return [
            Route("/", partial(self.guard.page, self.overview), methods=["GET"]),
            Route("/kiosk/{kiosk_id}", partial(self.guard.page, self.kiosk), methods=["GET"]),
            Route("/help/{kiosk_id}/{request_id}/ack", partial(self.guard.form, self.acknowledge_help),
                  methods=["POST"]),
        ]

    async def overview(self, request: Request, staff: StaffSession) -> Response:
        q = views.Filters.from_query(request.query_params)
        data = await run_in_threadpool(views.overview_data, self.service, q, translator(lang_of(request)),
                                       views.window_s(request.query_params))
        return self.renderer.render(request, "overview.html", staff, q=q, **data)

    async def kiosk(self, request: Request, staff: StaffSession) -> Response:
        kiosk_id = request.path_params["kiosk_id"]
        data = None if not KIOSK_ID_RE.match(kiosk_id) else await run_in_threadpool(
            views.kiosk_data, self.service, kiosk_id, translator(lang_of(request)),
            views.window_s(request.query_params))
        if data is None:
            return self.renderer.render(request, "missing.html", staff, status=404)
        return self.renderer.render(request, "kiosk.html", staff, **data)

    async def acknowledge_help(self, request: Request, staff: StaffSession, _form: dict[str, str]) -> Response:
        kiosk_id, request_id = request.path_params["kiosk_id"], request.path_params["request_id"]
        if KIOSK_ID_RE.fullmatch(kiosk_id) and views.plain_id(request_id):
            await run_in_threadpool(self.service.acknowledge_help, kiosk_id, request_id, by=staff.user)
        return RedirectResponse("/", status_code=303)
