"""Headphones start speech where the platform tells: the flow's rule, ALSA's jack control
read through a stand-in `amixer` (this machine has no sound card), the watcher thread, the
app's journal and utterances, and bad input refused."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.flow.machine import Flow, FlowConfig
from kiosk.flow.model import Button, Choose, Headphones, Hush, ReadScreen, Screen
from kiosk.headphones import (
    AlsaJack,
    JackWatcher,
    MemoryJack,
    jack_controls,
    jack_from_spec,
    parse_value,
    sound_cards,
)
from kiosk.speech import Speaker
from kiosk.submit import SealingKeys
from tests.kiosk.helpers import Driver
from tests.kiosk.test_app import Harness
from tests.kiosk.test_cli import run
from tests.waiting import wait_until

CONTROLS = """numid=2,iface=CARD,name='HDMI Jack'
numid=17,iface=CARD,name='Headphone Jack'
numid=16,iface=CARD,name='Mic Jack'
numid=4,iface=MIXER,name='Master Playback Volume'
"""
CGET = """numid=17,iface=CARD,name='Headphone Jack'
  ; type=BOOLEAN,access=r-------,values=1
  : values={}
"""


# ---- the flow ------------------------------------------------------------------------------

def test_plugging_in_turns_speech_on_and_pulling_out_turns_it_off() -> None:
    d = Driver()
    out = d.send(Headphones(plugged=True))
    s = d.flow.session
    assert s.speech and s.speech_by_jack and out == [ReadScreen(screen=Screen.WELCOME)]
    assert any(isinstance(a, ReadScreen) for a in d.press(Button.START))  # every screen read from now on
    assert d.send(Headphones(plugged=True)) == []  # already on: nothing twice
    assert d.send(Headphones(plugged=False)) == [Hush()]
    assert not s.speech


def test_speech_the_resident_chose_stays_when_the_plug_comes_out() -> None:
    d = Driver()
    d.send(Headphones(plugged=True))
    d.press(Button.AUDIO)  # off by hand
    d.press(Button.AUDIO)  # and on again: the resident's choice now
    assert d.flow.session.speech and not d.flow.session.speech_by_jack
    assert d.send(Headphones(plugged=False)) == [] and d.flow.session.speech


def test_a_kiosk_started_with_speech_keeps_it_whatever_the_jack_says() -> None:
    d = Driver(Flow(FlowConfig(speech=True)))
    assert d.send(Headphones(plugged=True)) == [] and d.send(Headphones(plugged=False)) == []
    assert d.flow.session.speech


def test_speech_from_the_jack_ends_with_the_session() -> None:
    d = Driver()
    d.press(Button.START)
    d.send(Headphones(plugged=True))
    assert d.flow.session.speech
    d.send(Choose(option="status"))
    d.press(Button.HOME)  # nothing typed: leaves at once
    assert d.screen is Screen.WELCOME and not d.flow.session.speech


def test_plugging_in_counts_as_activity() -> None:
    d = Driver()
    d.press(Button.START)
    deadline = d.flow.deadline
    d.send(Headphones(plugged=True), dt_s=30)
    assert d.flow.deadline is not None and deadline is not None and d.flow.deadline > deadline


# ---- ALSA through amixer ---------------------------------------------------------------------

def test_parsing_what_amixer_says() -> None:
    assert jack_controls(CONTROLS) == ["Headphone Jack"]
    assert jack_controls("numid=9,iface=CARD,name='Front Headphone Jack'\n") == ["Front Headphone Jack"]
    assert parse_value(CGET.format("on")) is True and parse_value(CGET.format("off")) is False


@pytest.mark.parametrize("garbage", [
    "", "\x00" * 100, "  : values=maybe", "  : values=on\n  : values=off", "  : values=nan",
    CGET.format("on")[:40], "x" * 1_000_000, "  : values=" + "[" * 10_000,
])
def test_garbage_from_amixer_says_nothing(garbage: str) -> None:
    assert parse_value(garbage) is None
    assert jack_controls(garbage) == []


@pytest.fixture
def fake_amixer(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """An `amixer` that answers like alsa-utils for card 1 (card 0 has no jack): `controls`,
    and `cget` from a state file the test writes."""
    state = tmp_path / "jack"
    state.write_text("off")
    fake = tmp_path / "amixer"
    fake.write_text(f"""#!/bin/sh
case "$2:$3" in
  1:controls) printf "%s" "{CONTROLS}" ;;
  0:controls) echo "numid=1,iface=MIXER,name='PCM Playback Volume'" ;;
  1:cget) v=$(cat {state}); [ "$v" = slow ] && exec sleep 30; [ "$v" = fail ] && exit 1
          printf "numid=17,iface=CARD,name='Headphone Jack'\\n  ; type=BOOLEAN\\n  : values=%s\\n" "$v" ;;
  *) echo "amixer: Invalid card number." >&2; exit 1 ;;
esac
""")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    yield fake, state


def test_alsa_jack_found_and_read(fake_amixer: tuple[Path, Path]) -> None:
    fake, state = fake_amixer
    jack = AlsaJack.find(cards=["0", "1", "2"], amixer=str(fake))
    assert jack == AlsaJack(card="1", control="Headphone Jack", amixer=str(fake))
    assert jack.plugged() is False
    state.write_text("on")
    assert jack.plugged() is True
    state.write_text("fail")
    assert jack.plugged() is None
    assert AlsaJack.find(cards=["0"], amixer=str(fake)) is None
    assert AlsaJack(card="1", control="Headphone Jack", amixer="/nonexistent/amixer").plugged() is None


def test_a_hung_amixer_is_killed_and_says_nothing(fake_amixer: tuple[Path, Path]) -> None:
    fake, state = fake_amixer
    state.write_text("slow")
    jack = AlsaJack(card="1", control="Headphone Jack", amixer=str(fake))
    assert jack.plugged() is None  # after its 2 s timeout
    left = subprocess.run(["pgrep", "-f", f"{fake}"], capture_output=True, check=False).stdout
    assert left == b""  # no amixer outlives the question


def test_sound_cards_as_alsa_numbers_them(tmp_path: Path) -> None:
    for name in ("card0", "card10", "card2", "cards", "cardX"):
        (tmp_path / name).mkdir()
    assert sound_cards(tmp_path) == ["0", "2", "10"]
    assert sound_cards(tmp_path / "missing") == []


@pytest.mark.parametrize("spec", ["", "on", "1", "1:", ":Headphone Jack", "1:Mic Jack", "1;rm -rf /:Headphone Jack",
                                  "x" * 100 + ":Headphone Jack", "1:Headphone Jack'; reboot"])
def test_a_bad_jack_spec_is_one_line_and_non_zero(spec: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ValueError, match="auto, off or CARD:CONTROL"):
        jack_from_spec(spec)
    assert run("kiosk", "run", "--bundle", "/tmp", "--headless", "--headphone-jack", spec) != 0
    err = capsys.readouterr().err
    assert "CARD:CONTROL" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_specs_that_name_or_skip_a_jack() -> None:
    assert jack_from_spec("off") is None
    named = jack_from_spec("1:Headphone Jack")
    assert isinstance(named, AlsaJack) and (named.card, named.control) == ("1", "Headphone Jack")


# ---- the watcher and the app -----------------------------------------------------------------

def test_the_watcher_follows_the_jack_and_its_thread_ends() -> None:
    jack = MemoryJack(False)
    watcher = JackWatcher(jack, poll_s=0.01).start()
    assert wait_until(lambda: watcher.state is False)
    jack.state = True
    assert wait_until(lambda: watcher.state is True)
    watcher.close()
    assert not watcher.alive


def test_a_failing_port_says_nothing() -> None:
    class Broken:
        def plugged(self) -> bool | None:
            raise OSError("gone")

    watcher = JackWatcher(Broken(), poll_s=0.01).start()
    assert wait_until(lambda: watcher.polls >= 2) and watcher.state is None
    watcher.close()


def test_the_app_speaks_while_headphones_are_in_and_stops_when_out(keys: SealingKeys) -> None:
    speaker = Speaker(enabled=False)  # records what it is asked to say
    h = Harness(keys, speaker=speaker)
    jack = MemoryJack(None)  # cannot tell: nothing happens
    h.app.jack = JackWatcher(jack, poll_s=0.01).start()
    try:
        h.app.step()
        h.app.tap("start")
        assert speaker.said == [] and not h.app.flow.session.speech
        jack.state = True
        assert wait_until(lambda: h.app.flow.session.speech, step=h.app.step)
        assert h.events("headphones") == [{"event": "headphones", "plugged": True}]
        assert speaker.said and speaker.said[-1].startswith("Pilih layanan")  # the screen, read at once
        h.app.tap("choose:feedback")
        assert len(speaker.said) >= 2
        jack.state = False
        assert wait_until(lambda: not h.app.flow.session.speech, step=h.app.step)
        said = len(speaker.said)
        h.app.tap("back")
        assert len(speaker.said) == said  # silent again
        jack.state = True
        assert wait_until(lambda: h.app.flow.session.speech, step=h.app.step)
        h.app.tap("home")  # the session ends: speech with it, though the plug is still in
        assert h.app.flow.screen is Screen.WELCOME and not h.app.flow.session.speech
        h.app.step()
        assert not h.app.flow.session.speech  # no new change seen: it stays off
    finally:
        h.close()
    assert h.app.jack is not None and not h.app.jack.alive


def test_no_amixer_on_path_means_no_jack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert AlsaJack.find() is None and jack_from_spec("auto") is None
