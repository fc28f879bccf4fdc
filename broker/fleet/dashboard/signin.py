"""Sign-in, sign-out and the language: the pages that set the dashboard's cookies.

The sign-in form carries a pre-session token, double-submitted in a cookie; attempts pass
the `auth.SignInThrottle` before the password is checked (scrypt, in a worker thread).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from broker.fleet.dashboard import auth, views
from broker.fleet.dashboard.guard import StaffGuard
from broker.fleet.dashboard.i18n import LANGS, translator
from broker.fleet.dashboard.web import (
    LANG_COOKIE,
    PRE_COOKIE,
    SESSION_COOKIE,
    Cookies,
    Renderer,
    lang_of,
    read_form,
)
from broker.fleet.service import FleetService
from broker.fleet.store import FleetStore, StaffSession

log = logging.getLogger("anjungan.dashboard")


@dataclass(frozen=True, kw_only=True)
class SignIn:
    service: FleetService  # its clock, read at each request
    store: FleetStore
    guard: StaffGuard
    renderer: Renderer
    cookies: Cookies
    throttle: auth.SignInThrottle
    session_ttl_s: float

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", partial(self.guard.form, self.logout), methods=["POST"]),
            Route("/lang/{lang}", self.set_lang, methods=["GET"]),
        ]

    async def login_page(self, request: Request) -> Response:
        pre = request.cookies.get(PRE_COOKIE, "")
        pre = pre if views.plain_token(pre) else auth.new_token()
        response = self.renderer.render(request, "login.html", None, pre=pre, error="",
                                        next=views.safe_next(request.query_params.get("next")))
        self.cookies.set(request, response, PRE_COOKIE, pre)
        return response

    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        pre = request.cookies.get(PRE_COOKIE, "")
        pre = pre if views.plain_token(pre) else ""
        nxt = views.safe_next(form.get("next", "/"))
        t, render = translator(lang_of(request)), self.renderer.render
        if not auth.same(form.get("csrf"), pre):
            return render(request, "login.html", None, status=403, pre=pre or auth.new_token(),
                          error=t("bad_csrf"), next=nxt)
        user, password = form.get("username", ""), form.get("password", "")
        address, started = request.client.host if request.client else "-", self.service.clock()
        if not self.throttle.attempt(user, address, started):
            log.warning("sign-in for %.32r from %.64s refused: too many failures", user, address)
            return render(request, "login.html", None, status=429, pre=pre, error=t("too_many"), next=nxt)
        stored = self.store.staff_hash(user) if auth.USERNAME_RE.match(user) else None
        if not await run_in_threadpool(auth.verify_password, stored, password):
            log.warning("failed sign-in for %.32r from %.64s", user, address)
            return render(request, "login.html", None, status=401, pre=pre, error=t("bad_login"), next=nxt)
        self.throttle.succeeded(user, address, started)
        token = auth.new_token()
        self.store.add_session(StaffSession(token_hash=auth.token_hash(token), user=user, csrf=auth.new_token(),
                                            expires_at=self.service.clock() + self.session_ttl_s))
        log.info("%s signed in", user)
        response = RedirectResponse(nxt, status_code=303)
        self.cookies.set(request, response, SESSION_COOKIE, token, max_age=int(self.session_ttl_s))
        self.cookies.delete(request, response, PRE_COOKIE)
        return response

    async def logout(self, request: Request, staff: StaffSession, _form: dict[str, str]) -> Response:
        self.store.drop_session(staff.token_hash)
        response = RedirectResponse("/login", status_code=303)
        self.cookies.delete(request, response, SESSION_COOKIE)
        return response

    async def set_lang(self, request: Request) -> Response:
        lang = request.path_params["lang"]
        response = RedirectResponse(views.safe_next(request.query_params.get("next")), status_code=303)
        if lang in LANGS:
            self.cookies.set(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
        return response
