"""Helpers for the fleet tests: a settable clock, message builders, a signed-in client."""

from __future__ import annotations

import re

from anjungan import topics
from anjungan.messages import Feedback, Health, HelpRequest, KioskStatus


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def status(kiosk: str, state: str, session: str) -> tuple[str, bytes]:
    msg = KioskStatus(kiosk_id=kiosk, state=state, session_id=session, at=0.0)
    return topics.topic(kiosk, "status"), msg.to_json()


def health(kiosk: str, session: str = "s1", **kw) -> tuple[str, bytes]:
    return topics.topic(kiosk, "health"), Health(kiosk_id=kiosk, session_id=session, at=0.0, **kw).to_json()


def feedback(kiosk: str, fid: str, text: str) -> tuple[str, bytes]:
    msg = Feedback(kiosk_id=kiosk, feedback_id=fid, at=0.0, category="layanan", text=text)
    return topics.topic(kiosk, "feedback"), msg.to_json()


def help_request(kiosk: str, request_id: str, screen: str = "fingerprints", **kw) -> tuple[str, bytes]:
    msg = HelpRequest(kiosk_id=kiosk, request_id=request_id, screen=screen, at=0.0, **kw)
    return topics.topic(kiosk, "help"), msg.to_json()


PASSWORD = "rahasia-sekali-123"  # a staff password for the dashboard tests (conftest's password_hash)
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)
