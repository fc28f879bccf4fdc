"""Who is asking: the signed-in staff member (session cookie) or a machine (API token).

`page` and `form` wrap a handler for a route, with `functools.partial`:
`Route("/", partial(guard.page, handler))`. A page without a session redirects to the
sign-in; a form without a session too, and one without the session's CSRF token is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from broker.fleet.dashboard import auth, views
from broker.fleet.dashboard.i18n import translator
from broker.fleet.dashboard.web import SESSION_COOKIE, lang_of, read_form
from broker.fleet.service import FleetService
from broker.fleet.store import FleetStore, StaffSession

StaffHandler = Callable[[Request, StaffSession], Awaitable[Response]]
FormHandler = Callable[[Request, StaffSession, dict[str, str]], Awaitable[Response]]


@dataclass(frozen=True, kw_only=True)
class StaffGuard:
    service: FleetService  # its clock, read at each request
    store: FleetStore
    api_token: str = field(repr=False)

    def current(self, request: Request) -> StaffSession | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not views.plain_token(token):
            return None
        return self.store.session(auth.token_hash(token), now=self.service.clock())

    def machine_ok(self, request: Request) -> bool:
        """`Authorization: Bearer <api token>`, or a signed-in session."""
        header = request.headers.get("authorization", "")
        bearer = header.startswith("Bearer ") and auth.same(header[7:], self.api_token)
        return bearer or self.current(request) is not None

    async def page(self, handler: StaffHandler, request: Request) -> Response:
        staff = self.current(request)
        if staff is None:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return await handler(request, staff)

    async def form(self, handler: FormHandler, request: Request) -> Response:
        staff = self.current(request)
        if staff is None:
            return RedirectResponse("/login", status_code=303)
        form = await read_form(request)
        if not auth.same(form.get("csrf"), staff.csrf):
            return PlainTextResponse(translator(lang_of(request))("bad_csrf"), status_code=403)
        return await handler(request, staff, form)
