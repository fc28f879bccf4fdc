"""A physical keyboard and a keyboard-wedge QR scanner: the pure mapping, then real pygame
KEYDOWN events through the kiosk's own event handler (SDL dummy driver)."""

from __future__ import annotations

import os

import pytest

from kiosk.flow.model import Button, Char, Digit, Press, ScanQr, Screen
from kiosk.ticket import make_ticket, qr_payload
from kiosk.ui.keyboard import MAX_LINE, PAUSE_S, KeyboardInput
from tests.kiosk.test_app import Harness

QR = qr_payload("kiosk-07", make_ticket(158), "0190a5c8-0000-7000-8000-000000000158")


def typed(k: KeyboardInput, screen: Screen, text: str, at: float = 0.0, every: float = 0.01) -> list:
    out = []
    for i, ch in enumerate(text):
        out += k.key(screen, ch, ch, at + i * every)
    return out


def test_a_scanned_receipt_qr_is_one_scan_and_typed_digits_reach_the_keypad() -> None:
    k = KeyboardInput()
    assert typed(k, Screen.STATUS_ENTRY, QR) == []  # no digit of the QR leaks into the field
    assert k.key(Screen.STATUS_ENTRY, "\r", "return", 1.0) == [ScanQr(payload=QR)]
    out = typed(k, Screen.NIK, "5171", at=5.0)
    assert out == [Digit(digit=c) for c in "5171"]
    assert k.key(Screen.NIK, "\b", "backspace", 5.1) == [Press(button=Button.BACKSPACE)]
    assert k.key(Screen.NIK, "\r", "return", 5.2) == [Press(button=Button.CONFIRM)]
    assert typed(k, Screen.STATUS_ENTRY, make_ticket(3), at=9.0) == [Digit(digit=c) for c in make_ticket(3)]
    assert typed(k, Screen.FEEDBACK_TEXT, "Ab 1", at=12.0) == [Char(char=c) for c in "Ab 1"]


def test_a_stray_letter_is_forgotten_after_a_pause_and_garbage_goes_nowhere() -> None:
    k = KeyboardInput()
    assert k.key(Screen.NIK, "x", "x", 0.0) == []
    assert k.key(Screen.NIK, "5", "5", 0.1) == []  # part of what looks like a scan
    assert k.key(Screen.NIK, "5", "5", 0.1 + PAUSE_S + 0.01) == [Digit(digit="5")]  # a human again
    for char, name in [("", "left shift"), ("\x00", "x"), ("\x1b", "escape"), ("ab", "x"), ("٣", "x")]:
        assert k.key(Screen.NIK, char, name, 9.0) == []
    assert k.key(Screen.WELCOME, "\r", "return", 20.0) == []  # no keypad here
    huge = "z" * (MAX_LINE * 4)
    typed(k, Screen.STATUS_ENTRY, huge, at=30.0, every=0.0)
    (scan,) = k.key(Screen.STATUS_ENTRY, "\r", "return", 30.0)
    assert isinstance(scan, ScanQr) and len(scan.payload) == MAX_LINE


@pytest.fixture
def harness(keys):
    h = Harness(keys)
    yield h
    h.close()


def _post_text(pygame, text: str) -> None:
    for ch in text:
        code = pygame.K_RETURN if ch == "\r" else ord(ch.lower()) if ch.isascii() else 0
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=code, unicode=ch, mod=0, scancode=0))


def test_real_pygame_key_events_type_a_nik_and_a_scanner_reads_a_receipt(harness) -> None:
    import pygame

    from kiosk.runner import on_event

    assert os.environ["SDL_VIDEODRIVER"] == "dummy"
    app = harness.app
    harness.play([{"tap": "start"}, {"tap": "choose:new_recording"}])
    _post_text(pygame, "5101015203500001\r")
    for ev in pygame.event.get(pygame.KEYDOWN):
        assert on_event(app, ev)
        harness.monotonic.now += 0.05  # a person typing
    assert app.flow.screen is Screen.KK and app.flow.session.resident.nik == "5101015203500001"
    harness.play([{"tap": "home"}, {"tap": "leave"}, {"tap": "start"}, {"tap": "choose:status"}])
    _post_text(pygame, QR + "\r")
    for ev in pygame.event.get(pygame.KEYDOWN):  # a wedge scanner: all at once
        assert on_event(app, ev)
    app.step()
    # the receipt of another kiosk, asked of the centre (offline here: answered at once)
    assert app.flow.screen is Screen.STATUS_RESULT and app.flow.session.status.ticket == make_ticket(158)
    app.key("q", "q")  # a key with no use on this screen is still activity
    assert not [e for e in harness.events("ignored") if "Digit" in e["reason"]]
