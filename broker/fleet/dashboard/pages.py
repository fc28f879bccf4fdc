"""The fleet's pages: the overview (filters, plots) and one kiosk's detail."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
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
