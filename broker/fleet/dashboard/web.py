"""What every dashboard handler shares: the language, posted forms, cookies and rendering.

No routes here; the page modules (`signin`, `pages`, `feedback`, `api`) take these as
explicit dependencies and `app.create_app` builds one of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from broker.fleet.dashboard import views
from broker.fleet.dashboard.i18n import LANGS, translator
from broker.fleet.service import FleetService
from broker.fleet.store import StaffSession

SESSION_COOKIE, PRE_COOKIE, LANG_COOKIE = "anjungan_session", "anjungan_pre", "anjungan_lang"
FORM_FIELDS, FORM_FIELD_BYTES = 8, 4096  # the largest dashboard form has four short fields


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "id")
    return lang if lang in LANGS else "id"


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields. Starlette answers 400 with its reason to a file, a field over
    FORM_FIELD_BYTES (as sent, before decoding) or more than FORM_FIELDS fields."""
    form = await request.form(max_files=0, max_fields=FORM_FIELDS, max_part_size=FORM_FIELD_BYTES)
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


@dataclass(frozen=True, kw_only=True)
class Cookies:
    """The dashboard's cookies: HttpOnly, SameSite=Strict, and `Secure` when `always_secure`
    or when the request came over HTTPS."""

    always_secure: bool

    def _secure(self, request: Request) -> bool:
        return self.always_secure or request.url.scheme == "https"

    def set(self, request: Request, response: Response, name: str, value: str, *,
            max_age: int | None = None) -> None:
        response.set_cookie(name, value, max_age=max_age, secure=self._secure(request), httponly=True,
                            samesite="strict")

    def delete(self, request: Request, response: Response, name: str) -> None:
        response.delete_cookie(name, secure=self._secure(request), httponly=True, samesite="strict")


@dataclass(frozen=True, kw_only=True)
class Renderer:
    """Renders a template with what every page needs (strings, clock, staff member, CSRF)."""

    templates: Jinja2Templates
    service: FleetService

    def render(self, request: Request, name: str, staff: StaffSession | None, status: int = 200,
               **context: Any) -> Response:
        lang = lang_of(request)
        base = {"t": translator(lang), "lang": lang, "staff": staff, "now": self.service.clock(),
                "csrf": staff.csrf if staff else "", "path": request.url.path,
                "ago": views.ago, "when": self.service.settings.local_time.stamp}
        return self.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
