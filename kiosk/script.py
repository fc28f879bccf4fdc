"""Headless scripts: a JSON list of resident actions that drives the real flow and screens.

    [
      {"comment": "an elderly resident with a missing finger"},
      {"lang": "en"},                      tap the language button (if not already that language)
      {"tap": "start"},                    tap a visible button by id (see README for ids)
      {"tap": "choose:new_recording"},
      {"type": "5101015203500001"},        digits on a keypad, letters on the keyboard;
      {"type": "$ticket"},                 "$ticket" types the last receipt's ticket number
      {"tap": "confirm"},
      {"capture": "all"},                  every capture step: capture, retry while asked, go on
      {"capture": 2},                      the next two capture steps only (stops at a device fault)
      {"wait": 65},                        the resident stands still for 65 s (clock skips ahead)
      {"expect": "review"},                fail unless this screen is showing
      {"scan_qr": "last"},                 show a QR to the scanner: "last" = the last receipt's
      {"unplug": "iris"}, {"replug": "iris"}   simulated device faults (sim peripherals only)
      {"mark": "elderly"},                 journal {"event": "mark", "label": ..., "at": unix s}:
                                           lets a driver of many residents time each one
    ]

Before every step the runner lets captures and storage finish, so a script never races the
devices. Button ids: start, officer, back, home, confirm, backspace, extend, agree, decline,
begin_capture, retry, continue, exception, singles, submit, disability, no_disability,
large_text, contrast, audio, help, stay, leave, see_officer,
lang:id|en, digit:0-9, char:a-z, "char: ", choose:<option> (services, reasons, fields,
categories, finger/iris positions, exception reasons).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.errors import ScriptError
from kiosk.flow.model import ScanQr

if TYPE_CHECKING:
    from kiosk.app import KioskApp

KINDS: dict[str, type | tuple[type, ...]] = {"tap": str, "type": str, "wait": (int, float), "expect": str, "scan_qr": str,
         "lang": str, "unplug": str, "replug": str, "capture": (int, str), "comment": str, "mark": str}
SETTLE_TIMEOUT_S = 60.0
StopAsked = Callable[[], bool]  # True once the process was told to stop (SIGTERM)


class ScriptStopped(Exception):  # noqa: N818 - not an error: the runner was told to stop
    """SIGTERM arrived while a script played: it stops between two actions."""


def _never() -> bool:
    return False


@dataclass(frozen=True, kw_only=True)
class ScriptStep:
    kind: str
    value: str | float


def parse_script(text: str, name: str = "script") -> list[ScriptStep]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(f"{name}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, list):
        raise ScriptError(f"{name}: a script is a JSON list of steps")
    steps = []
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict) or len(item) != 1:
            raise ScriptError(f"{name}: step {i} must be an object with exactly one key")
        ((kind, value),) = item.items()
        value = value if isinstance(value, str | int | float) else None
        if kind not in KINDS:
            raise ScriptError(f"{name}: step {i}: unknown action {kind!r} (use {', '.join(KINDS)})")
        if not isinstance(value, KINDS[kind]) or isinstance(value, bool):
            raise ScriptError(f"{name}: step {i}: bad value for {kind!r}")
        if value is None or (kind == "wait" and not 0 <= float(value) <= 86400):
            raise ScriptError(f"{name}: step {i}: wait must be 0-86400 seconds")
        if kind == "capture" and value != "all" and not (isinstance(value, int) and value > 0):
            raise ScriptError(f"{name}: step {i}: capture takes a positive count or \"all\"")
        if kind != "comment":
            steps.append(ScriptStep(kind=kind, value=value))
    return steps


def load_script(path: str | Path) -> list[ScriptStep]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ScriptError(f"cannot read script {path}: {exc.strerror}") from None
    return parse_script(text, str(path))


def settle(app: KioskApp, timeout: float = SETTLE_TIMEOUT_S, *, stop: StopAsked = _never) -> None:
    end = time.monotonic() + timeout
    app.step()
    while app.busy():
        if stop():
            raise ScriptStopped("stopped while the kiosk was busy")
        if time.monotonic() > end:
            raise ScriptError(f"the kiosk stayed busy on {app.flow.screen.value} for {timeout:.0f} s")
        time.sleep(0.001)
        app.step()


def run_script(app: KioskApp, steps: list[ScriptStep], *, stop: StopAsked = _never) -> None:
    """Play `steps`; `stop` is asked between actions (and in every wait), so a SIGTERM ends
    a long script within moments: `ScriptStopped`."""
    for i, step in enumerate(steps, 1):
        settle(app, stop=stop)
        if stop():
            raise ScriptStopped(f"stopped before step {i}")
        where = f"step {i} ({step.kind} {step.value!r}) on screen {app.flow.screen.value}"
        try:
            _run_step(app, step, stop)
        except LookupError as exc:
            raise ScriptError(f"{where}: no button {exc.args[0]!r}; visible: {', '.join(app.visible())}") from None
        except ScriptError as exc:
            raise ScriptError(f"{where}: {exc}") from None
        app.step()
    settle(app, stop=stop)


def _run_step(app: KioskApp, step: ScriptStep, stop: StopAsked = _never) -> None:
    kind, value = step.kind, step.value
    if kind == "tap":
        app.tap(str(value))
    elif kind == "type":
        text = app.tickets[-1] if value == "$ticket" and app.tickets else str(value)
        for ch in text:
            visible = app.offered()
            app.tap(f"digit:{ch}" if f"digit:{ch}" in visible else f"char:{ch.lower()}")
    elif kind == "lang":
        if app.flow.session.lang != value:
            app.tap(f"lang:{value}")
    elif kind == "wait":
        for _ in range(int(float(value))):
            if stop():
                raise ScriptStopped("stopped in a wait")
            app.skip += 1.0
            app.step()
    elif kind == "expect":
        if app.flow.screen.value != value:
            raise ScriptError(f"expected screen {value!r}")
    elif kind == "scan_qr":
        payload = app.last_qr if value == "last" else str(value)
        app.dispatch(ScanQr(payload=payload))
    elif kind == "capture":
        _capture(app, None if value == "all" else int(value), stop)
    elif kind == "mark":
        app.journal.write("mark", label=str(value), at=round(time.time(), 3))
    elif kind in ("unplug", "replug"):
        fault = getattr(app.peripherals, kind, None)
        if fault is None:
            raise ScriptError("device faults need --peripherals sim")
        fault(str(value))


def _capture(app: KioskApp, count: int | None, stop: StopAsked = _never) -> None:
    """What a resident does at each capture step: touch Capture, try again while the screen
    asks, then Next. A device fault stops here, on its result screen (retrying a dead device
    would never end: it uses up no tries)."""
    done = 0
    while app.flow.screen.value == "capture_guide" and (count is None or done < count):
        app.tap("begin_capture")
        settle(app, stop=stop)
        while "continue" not in app.offered():
            if "see_officer" in app.offered():
                return
            app.tap("retry")
            settle(app, stop=stop)
        app.tap("continue")
        app.step()
        done += 1
