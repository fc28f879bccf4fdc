"""The real kiosk window under Xvfb, driven by xdotool: real SDL mouse events, the way a
resident's finger reaches the app. Positions come from the same layout, computed here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kiosk.flow.machine import Flow
from kiosk.flow.model import Button, Choose, Digit, Page, Press
from kiosk.ui.screen import Renderer
from kiosk.ui.views import build_view
from provisioning.bundle import KioskBundle
from tests.kiosk.helpers import NOW
from tests.kiosk.kiosk_process import ROOT

SIZE = (800, 480)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Xvfb and xdotool"),
]


class Window:
    """`anjungan kiosk run` in a window on a private Xvfb display, its journal read as it goes."""

    def __init__(self, bundle: Path, tmp: Path) -> None:
        self.display = f":{70 + os.getpid() % 200}"
        self.xvfb = subprocess.Popen(["Xvfb", self.display, "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24",
                                      "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
        self.env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"} | {"DISPLAY": self.display}
        self.events: list[dict] = []
        self.proc: subprocess.Popen | None = None
        socket = Path(f"/tmp/.X11-unix/X{self.display[1:]}")
        for _ in range(200):
            if socket.exists():
                break
            time.sleep(0.05)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "kiosk", "run", "--bundle", str(bundle), "--broker",
             "127.0.0.1:1", "--no-tls", "--outbox", str(tmp / "outbox.db"), "--size", f"{SIZE[0]}x{SIZE[1]}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env, cwd=ROOT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        end = time.monotonic() + 30
        while not any(e.get("event") == "started" for e in list(self.events)):  # window is up
            if time.monotonic() > end or self.proc.poll() is not None:
                self.close()
                raise AssertionError(f"the kiosk did not start: {self.events}")
            time.sleep(0.05)
        # no window manager: the window sits at (0, 0) and fills the screen, so screen
        # coordinates are window coordinates

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def xdo(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()

    def click(self, pos: tuple[int, int]) -> None:
        time.sleep(0.6)  # past the guard after a new screen: a deliberate touch
        self.xdo("mousemove", "--sync", str(pos[0]), str(pos[1]), "click", "1")

    def screens(self) -> list[str]:
        return [e["screen"] for e in list(self.events) if e.get("event") == "screen"]

    def wait_screen(self, name: str, count: int = 1) -> None:
        end = time.monotonic() + 20
        while self.screens().count(name) < count:
            assert time.monotonic() < end, (name, self.screens())
            time.sleep(0.02)

    def close(self) -> None:
        for p in (self.proc, self.xvfb):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(timeout=10)


def centre(flow: Flow, widget_id: str, renderer: Renderer) -> tuple[int, int]:
    frame = renderer.draw(build_view(flow, NOW))
    return next(p.box.center for p in frame.buttons if p.widget.id == widget_id)


def reach(w: Window, flow: Flow, widget_id: str, renderer: Renderer) -> tuple[int, int]:
    """Where `widget_id` is, after clicking "More ›" as a resident would, page by page."""
    for _ in range(20):
        frame = renderer.draw(build_view(flow, NOW))
        ids = {p.widget.id: p.box.center for p in frame.buttons}
        if widget_id in ids:
            return ids[widget_id]
        w.click(ids["page:next"])
        flow.handle(Page(step=1), NOW)
    raise AssertionError(f"{widget_id} on no page")


def empty_spot(flow: Flow, renderer: Renderer) -> tuple[int, int]:
    frame = renderer.draw(build_view(flow, NOW))
    return next((x, y) for y in range(100, SIZE[1], 10) for x in range(20, SIZE[0], 10) if frame.hit(x, y) is None)


def test_real_clicks_exit_asks_back_keeps_and_empty_space_is_harmless(bundle: KioskBundle, tmp_path: Path) -> None:
    os.environ["SDL_VIDEODRIVER"] = "dummy"  # this process only measures the layout
    r = Renderer(*SIZE)
    model = Flow()  # the same screens, driven alongside to know where things are
    w = Window(bundle.root, tmp_path)
    try:
        w.click(centre(model, "start", r))
        model.handle(Press(button=Button.START), NOW)
        w.wait_screen("menu")
        w.click(empty_spot(model, r))  # nothing there: activity, no action
        w.click(reach(w, model, "choose:new_recording", r))
        model.handle(Choose(option="new_recording"), NOW)
        w.wait_screen("nik")
        w.click(centre(model, "digit:5", r))
        model.handle(Digit(digit="5"), NOW)
        w.click(centre(model, "home", r))  # Exit with a digit typed: asks
        w.wait_screen("confirm_leave")
        model.handle(Press(button=Button.HOME), NOW)
        w.click(reach(w, model, "stay", r))
        w.wait_screen("nik", 2)
        model.handle(Press(button=Button.STAY), NOW)
        w.click(centre(model, "home", r))
        w.wait_screen("confirm_leave", 2)
        model.handle(Press(button=Button.HOME), NOW)
        w.click(reach(w, model, "leave", r))
        w.wait_screen("welcome")
    finally:
        w.close()
        r.close()
    assert w.screens() == ["menu", "nik", "confirm_leave", "nik", "confirm_leave", "welcome"]  # each once
    assert [e["reason"] for e in w.events if e.get("event") == "session_wiped"] == ["home"]
    assert not [e for e in w.events if e.get("event") == "ignored"]


def test_a_real_keyboard_types_the_nik_and_a_wedge_scanner_reads_a_receipt(bundle: KioskBundle,
                                                                            tmp_path: Path) -> None:
    """xdotool types as a USB keyboard does (X key events, SDL KEYDOWN): a NIK on the keypad
    screen, then on the status screen a receipt QR typed fast and ended with Enter, the way a
    keyboard-wedge scanner sends it."""
    from kiosk.ticket import make_ticket, qr_payload

    os.environ["SDL_VIDEODRIVER"] = "dummy"
    r = Renderer(*SIZE)
    model = Flow()
    w = Window(bundle.root, tmp_path)
    try:
        w.click(centre(model, "start", r))
        model.handle(Press(button=Button.START), NOW)
        w.wait_screen("menu")
        w.click(reach(w, model, "choose:new_recording", r))
        model.handle(Choose(option="new_recording"), NOW)
        w.wait_screen("nik")
        time.sleep(0.6)  # past the guard after a new screen
        w.xdo("type", "--delay", "40", "5101015203500001")
        w.xdo("key", "Return")
        w.wait_screen("kk")
        for d in "5101015203500001":
            model.handle(Digit(digit=d), NOW)
        model.handle(Press(button=Button.CONFIRM), NOW)
        w.click(centre(model, "home", r))
        model.handle(Press(button=Button.HOME), NOW)
        w.wait_screen("confirm_leave")
        w.click(reach(w, model, "leave", r))
        w.wait_screen("welcome")
        model = Flow()
        w.click(centre(model, "start", r))
        model.handle(Press(button=Button.START), NOW)
        w.wait_screen("menu", 2)
        w.click(reach(w, model, "choose:status", r))
        w.wait_screen("status_entry")
        time.sleep(0.6)
        qr = qr_payload("kiosk-09", make_ticket(158), "0190a5c8-0000-7000-8000-000000000158")
        w.xdo("type", "--delay", "12", qr)  # a wedge scanner types ~100 characters a second
        w.xdo("key", "Return")
        try:
            w.wait_screen("status_result")
        except AssertionError:
            raise AssertionError(w.events[-12:]) from None
    finally:
        w.close()
        r.close()
    assert not [e for e in w.events if e.get("event") == "ignored"]


def test_a_real_keyboard_reaches_start_with_tab_and_presses_it_with_enter(bundle: KioskBundle, tmp_path: Path) -> None:
    """ADA 707.6 through X: Tab moves the focus in reading order (computed here from the same
    layout), Return presses the focused control; Shift+Tab goes back."""
    from kiosk.ui.focus import reading_order

    os.environ["SDL_VIDEODRIVER"] = "dummy"
    r = Renderer(*SIZE)
    model = Flow()
    w = Window(bundle.root, tmp_path)
    try:
        order = [p.widget.id for p in reading_order(r.draw(build_view(model, NOW)))]
        time.sleep(0.6)
        for _ in range(order.index("start") + 2):  # one past Start ...
            w.xdo("key", "Tab")
        w.xdo("key", "shift+Tab")  # ... and back
        w.xdo("key", "Return")
        w.wait_screen("menu")
        model.handle(Press(button=Button.START), NOW)
        menu = [p.widget.id for p in reading_order(r.draw(build_view(model, NOW)))]
        time.sleep(0.6)
        for _ in range(menu.index("choose:new_recording") + 1):
            w.xdo("key", "Down")
        w.xdo("key", "KP_Enter")  # the keypad's Enter too
        w.wait_screen("nik")
    finally:
        w.close()
        r.close()
    assert not [e for e in w.events if e.get("event") == "ignored"]
