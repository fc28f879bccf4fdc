"""A kiosk whose clock is outside its certificate's validity signs nothing: it refuses to
start a capture or seal a packet, keeps its outbox, and says why in its health."""

from __future__ import annotations

import time

from tests.kiosk.test_app import Harness, h  # noqa: F401 - the harness fixture

START = [{"tap": "start"}, {"tap": "choose:new_recording"}, {"type": "5101010507090002"},
         {"tap": "confirm"}, {"type": "5101010101200001"}, {"tap": "confirm"}, {"tap": "agree"}]


def test_a_clock_past_the_certificate_refuses_captures_and_alerts(h: Harness) -> None:  # noqa: F811
    now = time.time()
    h.app.cert_valid_from, h.app.cert_expires_at = now - 30 * 86400, now + 86400
    assert h.app.out_of_service(now) == "" and h.app.health(now).out_of_service == ""
    h.app.cert_expires_at = now - 1  # the clock has run past the certificate
    h.play(START + [{"capture": 1}])
    assert h.events("out_of_service")[0]["reason"] == "clock past the certificate's expiry"
    assert {e["reason"] for e in h.events("capture_failed")} <= {"unavailable"}
    assert h.outbox.depth() == 0 and not h.events("stored")
    assert h.app.health(now).out_of_service == "clock past the certificate's expiry"
    h.app.cert_valid_from, h.app.cert_expires_at = now + 3600, now + 31 * 86400
    assert h.app.out_of_service(now) == "clock before the certificate's start"
