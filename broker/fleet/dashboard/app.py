"""The staff dashboard as an ASGI app: `create_app(service, api_token=...)`.

Every page needs a signed-in staff member; every POST form carries the session's CSRF
token (the sign-in form a pre-session token, double-submitted in a cookie). `/api/fleet`
and `/metrics` take `Authorization: Bearer <api token>` (or a signed-in session). Nothing
here shows biometrics or a full NIK: the fleet messages carry neither, and resident
feedback is redacted when it arrives (`anjungan.nik.redact`, shared with the kiosk).

This module only composes: who is asking (`guard`), the pages (`signin`, `pages`,
`feedback`, `api`), what they share (`web`) and the middleware (`edge`, `headers`).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.templating import Jinja2Templates

from broker.fleet.dashboard.api import MachineApi
from broker.fleet.dashboard.auth import SignInThrottle
from broker.fleet.dashboard.edge import BodyLimit, Network, TrustedProxies
from broker.fleet.dashboard.feedback import FeedbackPages
from broker.fleet.dashboard.guard import StaffGuard
from broker.fleet.dashboard.headers import SecurityHeaders
from broker.fleet.dashboard.pages import FleetPages
from broker.fleet.dashboard.signin import SignIn
from broker.fleet.dashboard.web import Cookies, Renderer
from broker.fleet.service import FleetService


def create_app(service: FleetService, *, api_token: str, secure_cookies: bool = False,
               session_ttl_s: float = 8 * 3600.0, trusted_proxies: tuple[Network, ...] = ()) -> Starlette:
    """`secure_cookies` forces `Secure` cookies; they are `Secure` anyway on any request that
    came over HTTPS (TLS here, or `X-Forwarded-Proto: https` from one of `trusted_proxies`)."""
    store = service.store
    renderer = Renderer(templates=Jinja2Templates(directory=str(Path(__file__).parent / "templates")),
                        service=service)
    guard = StaffGuard(service=service, store=store, api_token=api_token)
    sign_in = SignIn(service=service, store=store, guard=guard, renderer=renderer,
                     cookies=Cookies(always_secure=secure_cookies), throttle=SignInThrottle(),
                     session_ttl_s=session_ttl_s)
    routes = [*sign_in.routes(),
              *FleetPages(service=service, guard=guard, renderer=renderer).routes(),
              *FeedbackPages(service=service, store=store, guard=guard, renderer=renderer).routes(),
              *MachineApi(service=service, guard=guard).routes()]
    return Starlette(routes=routes, middleware=[
        Middleware(TrustedProxies, trusted=trusted_proxies), Middleware(SecurityHeaders), Middleware(BodyLimit)])
