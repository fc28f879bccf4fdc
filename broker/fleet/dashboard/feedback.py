"""Residents' feedback: the list (open, answered or all) and marking one answered."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from broker.fleet.dashboard import views
from broker.fleet.dashboard.guard import StaffGuard
from broker.fleet.dashboard.web import Renderer
from broker.fleet.service import FleetService
from broker.fleet.store import FleetStore, StaffSession

log = logging.getLogger("anjungan.dashboard")


@dataclass(frozen=True, kw_only=True)
class FeedbackPages:
    service: FleetService  # its clock, read at each request
    store: FleetStore
    guard: StaffGuard
    renderer: Renderer

    def routes(self) -> list[Route]:
        return [
            Route("/feedback", partial(self.guard.page, self.listing), methods=["GET"]),
            Route("/feedback/{feedback_id}/answer", partial(self.guard.form, self.answer), methods=["POST"]),
        ]

    async def listing(self, request: Request, staff: StaffSession) -> Response:
        show = request.query_params.get("show", "open")
        answered = {"open": False, "answered": True}.get(show)
        items = await run_in_threadpool(self.store.feedback, answered=answered, limit=500)
        return self.renderer.render(request, "feedback.html", staff, items=items, show=show)

    async def answer(self, request: Request, staff: StaffSession, _form: dict[str, str]) -> Response:
        fid = request.path_params["feedback_id"]
        if views.plain_id(fid) and self.store.mark_answered(fid, by=staff.user, at=self.service.clock()):
            log.info("feedback %.40s answered by %s", fid, staff.user)
        return RedirectResponse("/feedback", status_code=303)
