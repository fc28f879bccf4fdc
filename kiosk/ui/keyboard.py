"""A physical keyboard and a keyboard-wedge scanner, turned into the flow's events.

A USB QR scanner in keyboard-wedge mode (HID) "types" what it reads, fast, then Enter. On
the status screen a receipt QR (`anjungan:v1:ticket:…`) arrives that way and becomes one
`ScanQr`; a scanner that reads digits only (a ticket), and a person at a keyboard, type
digits that reach the keypad as they come, with Backspace and Enter (Confirm). On the text
screens letters reach the on-screen keyboard. Pure: keys and the monotonic time in, events out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.flow.model import Button, Char, Digit, Event, Press, ScanQr, Screen
from kiosk.ui.views import KEYBOARD_SCREENS, KEYPAD_SCREENS

MAX_LINE = 512  # a receipt QR is under 100 characters; anything longer is not ours
PAUSE_S = 0.5  # a pause this long ends a scan that never sent Enter (a human's stray key)
ENTER = frozenset({"return", "enter"})


@dataclass
class KeyboardInput:
    line: str = field(default="", repr=False)  # what was typed since the last Enter or pause
    last_at: float = -1e9

    def key(self, screen: Screen, char: str, name: str, now: float) -> list[Event]:
        """One KEYDOWN: its text (`event.unicode`), its key name (`pygame.key.name`) and when."""
        if now - self.last_at > PAUSE_S:
            self.line = ""
        self.last_at = now
        typing = screen in KEYPAD_SCREENS or screen in KEYBOARD_SCREENS
        if name in ENTER:
            line, self.line = self.line, ""
            if line and not line.isdigit() and screen in KEYPAD_SCREENS:  # a scanned QR
                return [ScanQr(payload=line)] if screen is Screen.STATUS_ENTRY else []
            return [Press(button=Button.CONFIRM)] if typing else []
        if name == "backspace":
            self.line = self.line[:-1]
            return [Press(button=Button.BACKSPACE)] if typing else []
        if len(char) != 1 or not char.isprintable():
            return []
        if len(self.line) < MAX_LINE:
            self.line += char
        if screen in KEYBOARD_SCREENS:
            return [Char(char=char)]
        if screen in KEYPAD_SCREENS and char in "0123456789" and self.line.isdigit():
            return [Digit(digit=char)]
        return []  # part of a scan, or a key this screen has no use for
