"""The staff dashboard as an ASGI app: `create_app(service, api_token=...)`.

Every page needs a signed-in staff member; every POST form carries the session's CSRF
token (the sign-in form a pre-session token, double-submitted in a cookie). `/api/fleet`
and `/metrics` take `Authorization: Bearer <api token>` (or a signed-in session). Nothing
here shows biometrics or a full NIK: the fleet messages carry neither, and resident
feedback is redacted when it arrives (`anjungan.nik.redact`, shared with the kiosk).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anjungan.ids import KIOSK_ID_RE
from broker.fleet.dashboard import auth, views
from broker.fleet.dashboard.edge import BodyLimit, Network, TrustedProxies
from broker.fleet.dashboard.i18n import LANGS, translator
from broker.fleet.service import FleetService
from broker.fleet.store import StaffSession

log = logging.getLogger("anjungan.dashboard")

SESSION_COOKIE, PRE_COOKIE, LANG_COOKIE = "anjungan_session", "anjungan_pre", "anjungan_lang"
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;"
                               " form-action 'self'; frame-ancestors 'none'",
    "x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
HSTS = "max-age=31536000"  # sent over HTTPS only (RFC 6797 says ignore it over HTTP anyway)
FORM_FIELDS, FORM_FIELD_BYTES = 8, 4096  # the largest dashboard form has four short fields

Handler = Callable[[Request], Awaitable[Response]]


def create_app(service: FleetService, *, api_token: str, secure_cookies: bool = False,
               session_ttl_s: float = 8 * 3600.0, trusted_proxies: tuple[Network, ...] = ()) -> Starlette:
    """`secure_cookies` forces `Secure` cookies; they are `Secure` anyway on any request that
    came over HTTPS (TLS here, or `X-Forwarded-Proto: https` from one of `trusted_proxies`)."""
    templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    store = service.store
    throttle = auth.SignInThrottle()

    def lang_of(request: Request) -> str:
        lang = request.cookies.get(LANG_COOKIE, "id")
        return lang if lang in LANGS else "id"

    def render(request: Request, name: str, staff: StaffSession | None, status: int = 200,
               **context: Any) -> Response:
        lang = lang_of(request)
        base = {"t": translator(lang), "lang": lang, "staff": staff, "now": service.clock(),
                "csrf": staff.csrf if staff else "", "path": request.url.path,
                "ago": views.ago, "when": service.settings.local_time.stamp}
        return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)

    def set_cookie(request: Request, response: Response, name: str, value: str, *,
                   max_age: int | None = None, delete: bool = False) -> None:
        secure = secure_cookies or request.url.scheme == "https"
        if delete:
            response.delete_cookie(name, secure=secure, httponly=True, samesite="strict")
        else:
            response.set_cookie(name, value, max_age=max_age, secure=secure, httponly=True, samesite="strict")

    def current(request: Request) -> StaffSession | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not views.plain_token(token):
            return None
        return store.session(auth.token_hash(token), now=service.clock())

    async def read_form(request: Request) -> dict[str, str]:
        """The posted fields. Starlette answers 400 with its reason to a file, a field over
        FORM_FIELD_BYTES (as sent, before decoding) or more than FORM_FIELDS fields."""
        form = await request.form(max_files=0, max_fields=FORM_FIELDS, max_part_size=FORM_FIELD_BYTES)
        return {name: value for name, value in form.multi_items() if isinstance(value, str)}

    def bearer_ok(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and auth.same(header[7:], api_token)

    def staff_page(handler: Callable[[Request, StaffSession], Awaitable[Response]]) -> Handler:
        async def page(request: Request) -> Response:
            staff = current(request)
            if staff is None:
                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
            return await handler(request, staff)

        return page

    def staff_form(handler: Callable[[Request, StaffSession, Any], Awaitable[Response]]) -> Handler:
        async def post(request: Request) -> Response:
            staff = current(request)
            if staff is None:
                return RedirectResponse("/login", status_code=303)
            form = await read_form(request)
            if not auth.same(form.get("csrf"), staff.csrf):
                return PlainTextResponse(translator(lang_of(request))("bad_csrf"), status_code=403)
            return await handler(request, staff, form)

        return post

    async def login_page(request: Request) -> Response:
        pre = request.cookies.get(PRE_COOKIE, "")
        pre = pre if views.plain_token(pre) else auth.new_token()
        response = render(request, "login.html", None, pre=pre, error="",
                          next=views.safe_next(request.query_params.get("next")))
        set_cookie(request, response, PRE_COOKIE, pre)
        return response

    async def login(request: Request) -> Response:
        form = await read_form(request)
        pre = request.cookies.get(PRE_COOKIE, "")
        pre = pre if views.plain_token(pre) else ""
        nxt = views.safe_next(form.get("next", "/"))
        t = translator(lang_of(request))
        if not auth.same(form.get("csrf"), pre):
            return render(request, "login.html", None, status=403, pre=pre or auth.new_token(),
                          error=t("bad_csrf"), next=nxt)
        user, password = form.get("username", ""), form.get("password", "")
        address, started = request.client.host if request.client else "-", service.clock()
        if not throttle.attempt(user, address, started):
            log.warning("sign-in for %.32r from %.64s refused: too many failures", user, address)
            return render(request, "login.html", None, status=429, pre=pre, error=t("too_many"), next=nxt)
        stored = store.staff_hash(user) if auth.USERNAME_RE.match(user) else None
        if not await run_in_threadpool(auth.verify_password, stored, password):
            log.warning("failed sign-in for %.32r from %.64s", user, address)
            return render(request, "login.html", None, status=401, pre=pre, error=t("bad_login"), next=nxt)
        throttle.succeeded(user, address, started)
        token = auth.new_token()
        store.add_session(StaffSession(token_hash=auth.token_hash(token), user=user,
                                       csrf=auth.new_token(), expires_at=service.clock() + session_ttl_s))
        log.info("%s signed in", user)
        response = RedirectResponse(nxt, status_code=303)
        set_cookie(request, response, SESSION_COOKIE, token, max_age=int(session_ttl_s))
        set_cookie(request, response, PRE_COOKIE, "", delete=True)
        return response

    async def logout(request: Request, staff: StaffSession, _form: Any) -> Response:
        store.drop_session(staff.token_hash)
        response = RedirectResponse("/login", status_code=303)
        set_cookie(request, response, SESSION_COOKIE, "", delete=True)
        return response

    async def set_lang(request: Request) -> Response:
        lang = request.path_params["lang"]
        response = RedirectResponse(views.safe_next(request.query_params.get("next")), status_code=303)
        if lang in LANGS:
            set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
        return response

    async def overview(request: Request, staff: StaffSession) -> Response:
        q = views.Filters.from_query(request.query_params)
        data = await run_in_threadpool(views.overview_data, service, q, translator(lang_of(request)),
                                       views.window_s(request.query_params))
        return render(request, "overview.html", staff, q=q, **data)

    async def kiosk(request: Request, staff: StaffSession) -> Response:
        kiosk_id = request.path_params["kiosk_id"]
        data = None if not KIOSK_ID_RE.match(kiosk_id) else await run_in_threadpool(
            views.kiosk_data, service, kiosk_id, translator(lang_of(request)),
            views.window_s(request.query_params))
        if data is None:
            return render(request, "missing.html", staff, status=404)
        return render(request, "kiosk.html", staff, **data)

    async def feedback(request: Request, staff: StaffSession) -> Response:
        show = request.query_params.get("show", "open")
        answered = {"open": False, "answered": True}.get(show)
        items = await run_in_threadpool(lambda: store.feedback(answered=answered, limit=500))
        return render(request, "feedback.html", staff, items=items, show=show)

    async def answer(request: Request, staff: StaffSession, _form: Any) -> Response:
        fid = request.path_params["feedback_id"]
        if views.plain_id(fid) and store.mark_answered(fid, by=staff.user, at=service.clock()):
            log.info("feedback %.40s answered by %s", fid, staff.user)
        return RedirectResponse("/feedback", status_code=303)

    async def api_fleet(request: Request) -> Response:
        if not (bearer_ok(request) or current(request)):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        kiosk_id = request.query_params.get("kiosk", "")[:64]
        return JSONResponse(await run_in_threadpool(views.fleet_json, service, kiosk_id))

    async def metrics(request: Request) -> Response:
        if not (bearer_ok(request) or current(request)):
            return PlainTextResponse("unauthorized\n", status_code=401)
        body = await run_in_threadpool(generate_latest, service.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    app = Starlette(routes=[
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", staff_form(logout), methods=["POST"]),
        Route("/lang/{lang}", set_lang, methods=["GET"]),
        Route("/", staff_page(overview), methods=["GET"]),
        Route("/kiosk/{kiosk_id}", staff_page(kiosk), methods=["GET"]),
        Route("/feedback", staff_page(feedback), methods=["GET"]),
        Route("/feedback/{feedback_id}/answer", staff_form(answer), methods=["POST"]),
        Route("/api/fleet", api_fleet, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ], middleware=[Middleware(TrustedProxies, trusted=trusted_proxies), Middleware(SecurityHeaders),
                   Middleware(BodyLimit)])
    return app


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response, and HSTS to those over HTTPS (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if scope.get("scheme") == "https":
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)
