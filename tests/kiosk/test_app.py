"""The app shell in-process: drivers' sim twin, outbox, memory MQTT twin, the real renderer."""

from __future__ import annotations

import io
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from anjungan import topics
from anjungan.messages import (
    Ack,
    AckOutcome,
    Feedback,
    Health,
    HelpAck,
    HelpReason,
    HelpRequest,
    HelpState,
    StatusQuery,
    StatusReply,
)
from drivers.twin import InMemoryPeripherals
from kiosk.app import Journal, KioskApp
from kiosk.flow.machine import Flow
from kiosk.flow.model import Button, Press, ScanQr
from kiosk.outbox import MemoryOutbox
from kiosk.publisher import Publisher
from kiosk.script import parse_script, run_script
from kiosk.speech import Speaker
from kiosk.submit import SealingKeys
from kiosk.ticket import make_ticket
from kiosk.transport import MemoryTransport
from kiosk.ui.screen import Renderer
from tests.kiosk.helpers import ManualClock
from tests.kiosk.kiosk_process import SCRIPTS


class Harness:
    def __init__(self, keys: SealingKeys, speaker: Speaker | None = None) -> None:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        self.out = io.StringIO()
        self.peripherals = InMemoryPeripherals()
        self.outbox = MemoryOutbox()
        self.transport = MemoryTransport()
        self.renderer = Renderer(800, 480)
        # time moves only when a test (or a script's wait) moves it: no test sleeps
        self.clock, self.monotonic = ManualClock(time.time()), ManualClock(1000.0)
        self.app = KioskApp(flow=Flow(), renderer=self.renderer, peripherals=self.peripherals,
                            outbox=self.outbox, keys=keys, journal=Journal(out=self.out),
                            speaker=speaker, session_id="s1", clock=self.clock, monotonic=self.monotonic)
        self.app.publisher = Publisher(kiosk_id=keys.kiosk_id, session_id="s1", outbox=self.outbox,
                                       transport=self.transport, health=self.app.health)

    def play(self, steps: list[dict] | str) -> None:
        text = (SCRIPTS / f"{steps}.json").read_text() if isinstance(steps, str) else json.dumps(steps)
        run_script(self.app, parse_script(text))

    def renderer_text(self) -> str:
        """What the current screen says (its view's title and lines)."""
        from kiosk.ui.views import build_view

        view = build_view(self.app.flow, self.app.flow_now())
        return "\n".join([view.title, *view.lines])

    def events(self, name: str) -> list[dict]:
        lines = [json.loads(x) for x in self.out.getvalue().splitlines()]
        return [e for e in lines if e["event"] == name]

    def close(self) -> None:
        self.app.close()
        self.renderer.close()


@pytest.fixture
def h(keys: SealingKeys) -> Iterator[Harness]:
    harness = Harness(keys)
    yield harness
    harness.close()


def test_receipt_is_printed_through_the_driver_with_ticket_and_qr(h: Harness) -> None:
    h.play("replacement")
    ((lines, qr),) = h.peripherals.receipts
    ticket = h.events("stored")[0]["ticket"]
    assert lines[1] == f"Nomor tiket: {ticket}" and lines[2] == "Layanan: Ganti KTP hilang/rusak"
    assert qr == h.app.last_qr and qr.startswith(f"anjungan:v1:ticket:kiosk-01:{ticket}:")


def test_printer_out_still_shows_done_with_ticket(h: Harness) -> None:
    h.peripherals.unplug("printer")
    h.play([{"tap": "start"}, {"tap": "choose:replacement"}, {"tap": "choose:lost"},
            {"type": "5101010507090002"}, {"tap": "confirm"}, {"type": "5101010101200001"},
            {"tap": "confirm"}, {"tap": "agree"}, {"capture": "all"}, {"tap": "submit"},
            {"expect": "done"}])
    assert h.events("receipt_failed") and h.app.flow.session.receipt.ticket == h.events("stored")[0]["ticket"]
    said = h.renderer_text()
    assert "Simpan struk ini" not in said and "Struk tidak dapat dicetak" in said
    ticket = h.app.flow.session.receipt.ticket
    assert f"{ticket[:4]} {ticket[4:]}" in said  # as the receipt would have printed it
    h.play([{"wait": 60}, {"expect": "done"}])  # kept longer than the usual 45 s to note it down


def test_unplugged_iris_camera_is_the_kiosks_fault_and_never_a_dead_end(h: Harness) -> None:
    h.play([{"tap": "start"}, {"tap": "choose:new_recording"}, {"type": "5101010507090002"},
            {"tap": "confirm"}, {"type": "5101010101200001"}, {"tap": "confirm"}, {"tap": "agree"},
            {"capture": 4}, {"unplug": "iris"}, {"capture": 1}, {"expect": "capture_result"}])
    said = h.renderer_text()
    assert "bukan kesalahan Anda" in said and "Kualitas kurang" not in said
    for _ in range(5):  # a dead device uses up none of the resident's tries
        h.play([{"tap": "retry"}, {"expect": "capture_result"}])
    assert h.app.flow.session.capture.tries == 0 and h.app.flow.session.capture.best == {}
    h.play([{"tap": "see_officer"}, {"expect": "see_officer"}])
    assert h.outbox.depth() == 0  # nothing half-done is sent
    assert {e["reason"] for e in h.events("help_requested")} == {"device"}
    # the officer plugs it back in: Back, Back to the step's guide, and the recording goes on
    h.play([{"replug": "iris"}, {"tap": "back"}, {"expect": "capture_result"}, {"tap": "back"},
            {"expect": "capture_guide"}, {"capture": "all"}, {"expect": "review"}, {"tap": "submit"},
            {"expect": "done"}])
    assert len(h.events("capture_failed")) == 6 and h.outbox.depth() == 1


def test_publisher_sends_acks_and_the_status_screen_follows(h: Harness) -> None:
    h.app.publisher.start()  # type: ignore[union-attr]
    h.play("replacement")
    sent = [p for t, p, _r in h.transport.published if t.endswith("/capture")]
    assert len(sent) == 1
    pid = h.events("stored")[0]["packet_id"]
    h.transport.inject(topics.topic("kiosk-01", "ack"), Ack(packet_id=pid, outcome=AckOutcome.ACCEPTED).to_json())
    h.play([{"tap": "start"}, {"tap": "choose:status"}, {"type": "$ticket"}, {"tap": "confirm"},
            {"expect": "status_result"}])
    assert h.app.flow.session.status.state == "QUEUED" and h.outbox.depth() == 0


OTHER_QR = f"anjungan:v1:ticket:kiosk-02:{make_ticket(41)}:01a21f8d-7cc7-73ef-8861-e7964dd646c3"


def scan_at_status_screen(h: Harness, payload: str) -> None:
    h.play([{"tap": "start"}, {"tap": "choose:status"}])
    h.app.dispatch(ScanQr(payload=payload))


def test_receipt_from_another_kiosk_is_asked_of_the_centre(h: Harness) -> None:
    h.app.publisher.start()  # type: ignore[union-attr]
    h.app.step()
    scan_at_status_screen(h, OTHER_QR)
    (query,) = [StatusQuery.from_json(p) for t, p, _r in h.transport.published if t.endswith("/query")]
    assert query.packet_id == "01a21f8d-7cc7-73ef-8861-e7964dd646c3"
    assert h.app.busy() and h.app.flow.session.status.checking
    assert "Sedang memeriksa…" in h.renderer_text()
    h.transport.inject(topics.topic("kiosk-01", "ack"), StatusReply(
        query_id=query.query_id, packet_id=query.packet_id, state="PRINT_READY").to_json())
    h.app.step()
    assert h.app.flow.screen.value == "status_result" and h.app.flow.session.status.state == "PRINT_READY"
    assert not h.app.busy() and h.outbox.depth() == 0  # nothing of this kiosk's was touched


def test_centre_out_of_reach_is_said_not_waited_on(h: Harness) -> None:
    scan_at_status_screen(h, OTHER_QR)  # never connected
    assert h.app.flow.session.status.state == "UNREACHABLE"
    assert not [t for t, _p, _r in h.transport.published if t.endswith("/query")]


def test_no_answer_in_time_is_unreachable_and_a_late_answer_is_dropped(h: Harness) -> None:
    h.app.publisher.start()  # type: ignore[union-attr]
    h.app.step()
    scan_at_status_screen(h, OTHER_QR)
    (query,) = [StatusQuery.from_json(p) for t, p, _r in h.transport.published if t.endswith("/query")]
    h.clock.advance(5.9)  # the flow's lookup deadline (6 s) runs on the injected clock
    h.app.step()
    assert h.app.busy() and h.app.flow.session.status.checking
    h.clock.advance(0.1)
    h.app.step()
    assert h.app.flow.session.status.state == "UNREACHABLE" and not h.app.busy()
    assert h.events("status_answer") == [{"event": "status_answer", "ticket": make_ticket(41), "state": "UNREACHABLE"}]
    h.transport.inject(topics.topic("kiosk-01", "ack"), StatusReply(
        query_id=query.query_id, packet_id=query.packet_id, state="PRINT_READY").to_json())
    h.app.step()
    assert h.app.flow.session.status.state == "UNREACHABLE" and h.app.publisher.replies == {}  # type: ignore[union-attr]


def test_feedback_and_health_go_to_their_topics(h: Harness) -> None:
    h.app.publisher.start()  # type: ignore[union-attr]
    h.play("feedback")
    by_kind = {topics.parse(t)[1]: p for t, p, _r in h.transport.published}
    fb = Feedback.from_json(by_kind["feedback"])
    assert (fb.category, fb.text, fb.kiosk_id) == ("waiting", "antrian terlalu lama", "kiosk-01")
    assert fb.contact == "+6281234567890"  # for the answer, in full to the centre only
    (queued,) = h.events("feedback_queued")
    assert queued["contact"] == "**********890"
    assert "4567890" not in h.out.getvalue()  # no journal line holds the number
    health = Health.from_json(by_kind["health"])
    assert health.peripherals["printer"]["ok"] and health.outbox_depth == 0 and health.app_version


def test_help_goes_to_the_dashboard_once_and_staff_s_answer_is_shown(h: Harness) -> None:
    h.app.publisher.start()  # type: ignore[union-attr]
    h.app.dispatch(Press(button=Button.HELP))
    h.app.dispatch(Press(button=Button.HELP))  # a second press: still one request
    h.app.step()
    sent = [HelpRequest.from_json(p) for t, p, _r in h.transport.published if t.endswith("/help")]
    assert [(r.kiosk_id, r.screen, r.reason) for r in sent] == [("kiosk-01", "welcome", HelpReason.HELP)]
    assert set(json.loads(sent[0].to_json())) == {"type", "kiosk_id", "request_id", "screen", "at", "reason"}
    ack = topics.topic("kiosk-01", "ack")
    h.transport.inject(ack, HelpAck(request_id="someone-else", state=HelpState.COMING).to_json())
    h.transport.inject(ack, HelpAck(request_id=sent[0].request_id, state=HelpState.RECEIVED).to_json())
    h.app.step()
    assert h.outbox.messages() == [] and not h.app.flow.session.officer_coming
    h.transport.inject(ack, HelpAck(request_id=sent[0].request_id, state=HelpState.COMING).to_json())
    h.app.step()
    assert h.app.flow.session.officer_coming and h.events("officer_coming")
    assert h.app.renderer.frame is not None
    assert any("An officer is on the way" in x or "Petugas sedang menuju" in x
               for x in (p.text for p in h.app.renderer.frame.texts))


def test_journal_never_carries_the_nik(h: Harness) -> None:
    h.play("elderly_missing_finger")
    assert "5203500001" not in h.out.getvalue() and "5101015203" not in h.out.getvalue()


def fake_espeak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `espeak-ng` on PATH that logs its arguments and takes a moment, like speech does."""
    fake = tmp_path / "espeak-ng"
    log = tmp_path / "said.txt"
    fake.write_text(f'#!/bin/sh\nsleep 0.05\necho "$@" >> {log}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    return log


def test_speech_is_off_until_the_resident_turns_it_on_then_reads_everything(
        keys: SealingKeys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not Speaker(enabled=False).available
    log = fake_espeak(tmp_path, monkeypatch)
    speaker = Speaker()
    assert speaker.available
    harness = Harness(keys, speaker=speaker)
    try:
        harness.play([{"tap": "start"}, {"tap": "choose:replacement"}])
        assert speaker.said == []  # off by default
        harness.play([{"tap": "audio"}, {"lang": "en"}, {"tap": "choose:lost"},
                      {"type": "5101010507"}, {"tap": "confirm"}])
        error_at = len(speaker.said)
        harness.play([{"tap": "back"}, {"tap": "choose:lost"}, {"type": "5101010507090002"},
                      {"tap": "confirm"}, {"type": "5101010101200001"}, {"tap": "confirm"},
                      {"tap": "agree"}, {"capture": "all"}, {"tap": "submit"}])
        while speaker.speaking:
            harness.app.step()
    finally:
        harness.close()
    said = speaker.said
    assert said[:2] == ["Mengapa KTP diganti? Pilih satu.", "Why replace the card? Choose one."]  # at once
    assert said[error_at - 1] == "The NIK has 16 digits."  # an error as it appears
    assert any("only Dukcapil can open it" in u for u in said)  # the consent, in full
    assert any("Face: good (quality" in u and "needs 50)" in u for u in said)  # quality results
    assert not any(u.startswith("Saving") for u in said)  # dropped: gone before its turn
    done = said[-1]
    ticket = harness.app.flow.session.receipt.ticket
    assert done.startswith("Done. Thank you! Your ticket number: " + " ".join(ticket))  # digit by digit
    spoken = log.read_text().splitlines()
    assert spoken[-1].startswith("-v en -s 140 Done. Thank you!")  # never cut off: it finished


def test_speech_turned_off_stops_at_once(keys: SealingKeys, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fake_espeak(tmp_path, monkeypatch)
    speaker = Speaker()
    harness = Harness(keys, speaker=speaker)
    try:
        harness.play([{"tap": "audio"}, {"tap": "start"}, {"tap": "audio"}, {"tap": "choose:feedback"}])
    finally:
        harness.close()
    assert not speaker.speaking and len(speaker.said) == 2  # welcome, menu; nothing after "off"


def test_declining_all_biometrics_is_two_taps_to_an_officer_and_sends_nothing(h: Harness) -> None:
    h.play("decline_biometrics")
    marks = [json.loads(x) for x in h.out.getvalue().splitlines()]
    after = marks[next(i for i, e in enumerate(marks) if e.get("label") == "first_capture_screen"):]
    screens = [e["screen"] for e in after if e["event"] == "screen"]
    assert screens[:2] == ["exception_reason", "see_officer"]  # two taps (one position: no "which")
    assert [e["reason"] for e in h.events("help_requested")] == ["declined"]
    assert h.outbox.depth() == 0 and not h.events("stored") and not h.peripherals.receipts
    assert [e["reason"] for e in h.events("session_wiped")] == ["home"]


def test_a_pulled_fingerprint_line_burns_no_tries_and_keeps_nothing_bad(h: Harness) -> None:
    h.play("device_fault")
    assert len(h.events("capture_failed")) == 2 and h.outbox.depth() == 1
    assert {e["reason"] for e in h.events("help_requested")} == {"device"}


def test_a_touch_on_empty_space_is_activity_and_a_fast_second_tap_presses_nothing(h: Harness) -> None:
    h.play([{"tap": "start"}, {"wait": 65}])
    assert h.app.flow.warned
    h.app.render()
    h.monotonic.advance(1.0)  # the menu has been up a while
    frame = h.renderer.frame
    assert frame is not None
    empty = next((x, y) for y in range(0, 480, 10) for x in range(0, 800, 10) if frame.hit(x, y) is None)
    h.app.touch(empty)  # where no button is
    assert not h.app.flow.warned and h.app.flow.screen.value == "menu"
    h.app.render()
    frame = h.renderer.frame
    assert frame is not None
    back = next(p for p in frame.buttons if p.widget.id == "back")
    h.app.touch(back.box.center)  # a deliberate touch: goes back
    assert h.app.flow.screen.value == "welcome"
    h.app.render()
    start = next(p for p in h.renderer.frame.buttons if p.widget.id == "start")  # type: ignore[union-attr]
    h.app.touch(start.box.center)  # at once after the welcome appeared: activity only
    assert h.app.flow.screen.value == "welcome"


def test_the_printer_is_checked_before_a_session_and_no_receipt_is_promised(h: Harness) -> None:
    h.peripherals.unplug("printer")
    h.play([{"tap": "start"}, {"tap": "back"}])  # a session ends: the printer is looked at
    assert h.events("printer") == [{"event": "printer", "ok": False}]
    h.play([{"tap": "start"}])
    assert "Printer struk sedang rusak" in h.renderer_text()
    h.peripherals.replug("printer")
    h.app.health(0.0)  # every health report looks again
    assert "Printer struk" not in h.renderer_text() and h.events("printer")[-1]["ok"] is True


def test_a_second_touch_before_the_new_screen_is_drawn_presses_nothing(h: Harness) -> None:
    h.app.render()
    h.monotonic.advance(1.0)  # the welcome has been up a while
    start = next(p for p in h.renderer.frame.buttons if p.widget.id == "start")  # type: ignore[union-attr]
    h.app.touch(start.box.center)  # Start: the menu is due but not drawn yet
    h.app.touch(start.box.center)  # the same place again, still over the old frame
    assert h.app.flow.screen.value == "menu" and not h.events("ignored")


def test_the_app_reads_time_only_from_its_injected_clocks(h: Harness) -> None:
    import inspect

    source = inspect.getsource(KioskApp)
    body = source[source.index(") -> None:"):]  # past the defaults in the signature
    assert "time.time" not in body and "time.monotonic" not in body
    h.play([{"tap": "start"}])
    h.clock.advance(61.0)  # the menu's 90 s timer warns 30 s ahead: no sleep, no skip
    h.app.step()
    assert h.app.flow.warned and h.app.flow.screen.value == "menu"
    h.clock.advance(30.0)
    h.app.step()
    assert h.app.flow.screen.value == "welcome" and h.events("session_wiped")[-1]["reason"] == "idle"


@pytest.mark.parametrize("steps,reason", [
    ([{"tap": "start"}, {"tap": "choose:status"}, {"type": "1"}, {"tap": "home"}, {"tap": "leave"}], "home"),
    ([{"tap": "start"}, {"tap": "back"}], "back"),
    ([{"tap": "start"}, {"wait": 200}], "idle"),
])
def test_a_wipe_journals_the_welcome_screen_once(h: Harness, steps: list, reason: str) -> None:
    h.play(steps)
    lines = [json.loads(x) for x in h.out.getvalue().splitlines()]
    wiped = next(i for i, e in enumerate(lines) if e["event"] == "session_wiped")
    assert lines[wiped]["reason"] == reason
    around = [e for e in lines[wiped - 1:] if e["event"] == "screen"]  # dispatch wrote it just before
    assert [e["screen"] for e in around] == ["welcome"]  # once, not twice


def _key(h: Harness, key: int, *, shift: bool = False, text: str = "") -> None:
    """A real pygame KEYDOWN, as SDL delivers it, through the loop's own handler."""
    import pygame

    from kiosk.runner import on_event

    mod = pygame.KMOD_LSHIFT if shift else pygame.KMOD_NONE
    assert on_event(h.app, pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode=text))


def test_a_keyboard_reaches_every_control_shows_its_focus_and_presses_it(
        keys: SealingKeys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ADA 707.6: Tab (and the arrows) go round every control of the screen in reading order,
    a thick ring shows where, speech (when on) says its name, Enter presses it."""
    import pygame

    from kiosk.ui.focus import reading_order
    from kiosk.ui.palette import STANDARD

    fake_espeak(tmp_path, monkeypatch)
    speaker = Speaker()
    h = Harness(keys, speaker=speaker)
    try:
        h.app.render()
        frame = h.renderer.frame
        assert frame is not None
        order = [p.widget.id for p in reading_order(frame)]
        visited = []
        for _ in order:
            _key(h, pygame.K_TAB, text="\t")
            visited.append(h.app.focus.widget_id)
        assert visited == order  # every control, once, in reading order
        _key(h, pygame.K_TAB, text="\t")
        assert h.app.focus.widget_id == order[0]  # round again
        _key(h, pygame.K_TAB, shift=True)
        assert h.app.focus.widget_id == order[-1]  # Shift+Tab goes back
        for _ in range(len(order) - order.index("audio") - 1):
            _key(h, pygame.K_UP)
        assert h.app.focus.widget_id == "audio"
        _key(h, pygame.K_RETURN, text="\r")  # speech on, from the keyboard
        assert h.app.flow.session.speech
        while h.app.focus.widget_id != "start":
            _key(h, pygame.K_DOWN)
        from kiosk.i18n import t

        assert speaker.said[-1] == t("btn_start", "id")  # the focused control, read aloud
        start = next(p for p in h.renderer.frame.buttons if p.widget.id == "start")  # type: ignore[union-attr]
        ring = {tuple(h.renderer.surface.get_at((start.box.x + start.box.w // 2, start.box.y - dy)))[:3]
                for dy in range(1, 9)}
        assert STANDARD.focus in ring and STANDARD.focus_halo in ring  # visible, outside the button
        _key(h, pygame.K_RETURN, text="\r")
        assert h.app.flow.screen.value == "menu"
        assert h.app.focus.widget_id == ""  # a new screen: nothing focused
        _key(h, pygame.K_RIGHT)
        assert h.app.focus.widget_id  # the arrows reach the menu's controls too
    finally:
        h.close()


def test_enter_keeps_its_typing_meaning_until_a_control_is_focused(h: Harness) -> None:
    import pygame

    from kiosk.ticket import make_ticket

    h.play([{"tap": "start"}, {"tap": "choose:status"}])
    for d in make_ticket(7):
        _key(h, getattr(pygame, f"K_{d}"), text=d)
    _key(h, pygame.K_RETURN, text="\r")  # nothing focused: Enter is Next on the keypad
    assert h.app.flow.screen.value == "status_result"


def test_the_demo_s_feedback_resident_still_plays_through(h: Harness) -> None:
    from entrypoints.demo.residents import Resident, script_for

    h.play(script_for(Resident(number=1, kind="feedback")))
    (queued,) = h.events("feedback_queued")
    assert queued["contact"] == "" and h.app.flow.screen.value == "welcome"


def test_a_fast_second_tap_on_more_turns_one_page_only(h: Harness) -> None:
    """A new page is a new screen under the finger: the touch guard holds there too."""
    h.play([{"tap": "start"}, {"tap": "large_text"}])
    h.app.render()
    frame = h.renderer.frame
    assert frame is not None and frame.pages > 2
    h.monotonic.advance(1.0)
    more = next(p for p in frame.buttons if p.widget.id == "page:next")
    h.app.touch(more.box.center)
    h.app.render()
    assert h.app.flow.page == 1
    assert h.app.renderer.hit(more.box.center) == more.widget  # "More ›" again, in the same place
    h.app.touch(more.box.center)  # at once, again: activity only
    assert h.app.flow.page == 1
    h.monotonic.advance(1.0)
    h.app.touch(more.box.center)  # a deliberate touch: the next page
    assert h.app.flow.page == 2
