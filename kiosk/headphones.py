"""Headphones plugged in, where the platform tells: the port (`Jack`), ALSA's jack controls
through `amixer` (alsa-utils), an in-memory twin, and a watcher that asks off the UI thread.

ALSA exposes a jack it can sense as a read-only boolean control of the card, e.g.

    $ amixer -c 1 cget iface=CARD,name='Headphone Jack'
    numid=17,iface=CARD,name='Headphone Jack'
      ; type=BOOLEAN,access=r-------,values=1
      : values=on

(the same state reaches the input layer as the switch SW_HEADPHONE_INSERT). `AlsaJack.find`
looks for such a control on every card. What the kiosk's hardware reports is in
`kiosk/README.md`: the Raspberry Pi's own 3.5 mm output has no jack sensing, so there
`find` returns None and speech starts only from the Audio button.

`plugged()` is True, False, or None when the platform cannot tell (no such control, amixer
missing, failing or slow): the app only acts on a change between True and False.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

JACK_NAMES = re.compile(r"^(?:[\w ]+ )?Headphones? Jack$")  # 'Headphone Jack', 'Front Headphone Jack'
_CONTROL = re.compile(r"^numid=\d+,iface=CARD,name='([^']{1,64})'$")
_VALUE = re.compile(r"^\s*: values=(on|off)$")
POLL_S = 1.0  # a plug noticed within a second; amixer costs a few ms a call


class Jack(Protocol):
    def plugged(self) -> bool | None:
        """Headphones in (True), out (False), or the platform cannot tell (None)."""


class MemoryJack:
    """The twin: the test sets `state`."""

    def __init__(self, state: bool | None = False) -> None:
        self.state = state

    def plugged(self) -> bool | None:
        return self.state


def _amixer(amixer: str, *args: str, timeout_s: float = 2.0) -> str | None:
    try:
        done = subprocess.run([amixer, *args], capture_output=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout[:65536].decode("utf-8", "replace")


def parse_value(text: str) -> bool | None:
    """The state in `amixer cget`'s answer; None for anything else."""
    values = [m.group(1) for line in text.splitlines() if (m := _VALUE.match(line))]
    return values[0] == "on" if len(values) == 1 else None


def jack_controls(text: str) -> list[str]:
    """The headphone jack controls in `amixer controls`' answer."""
    names = [m.group(1) for line in text.splitlines() if (m := _CONTROL.match(line.strip()))]
    return [n for n in names if JACK_NAMES.match(n)]


def sound_cards(root: Path = Path("/proc/asound")) -> list[str]:
    """Card indices as ALSA numbers them (`/proc/asound/cardN`)."""
    try:
        return sorted((p.name[4:] for p in root.glob("card[0-9]*") if p.name[4:].isdigit()), key=int)
    except OSError:
        return []


@dataclass(frozen=True)
class AlsaJack:
    card: str
    control: str
    amixer: str = "amixer"

    def plugged(self) -> bool | None:
        out = _amixer(self.amixer, "-c", self.card, "cget", f"iface=CARD,name={self.control}")
        return None if out is None else parse_value(out)

    @classmethod
    def find(cls, cards: Iterable[str] | None = None, amixer: str | None = None) -> AlsaJack | None:
        """The first card with a headphone jack control, or None (no amixer, no such card)."""
        binary = amixer or shutil.which("amixer")
        if binary is None:
            return None
        for card in sound_cards() if cards is None else cards:
            out = _amixer(binary, "-c", card, "controls")
            names = jack_controls(out) if out else []
            if names:
                return cls(card=card, control=names[0], amixer=binary)
        return None


_CARD = re.compile(r"^[A-Za-z0-9_]{1,32}$")


def jack_from_spec(spec: str) -> Jack | None:
    """`--headphone-jack`: "auto" (find one), "off", or "CARD:CONTROL" (e.g.
    "1:Headphone Jack"); anything else is a `ValueError` with a one-line reason."""
    if spec == "off":
        return None
    if spec == "auto":
        return AlsaJack.find()
    card, sep, control = spec.partition(":")
    if not sep or not _CARD.match(card) or not JACK_NAMES.match(control):
        raise ValueError("--headphone-jack is auto, off or CARD:CONTROL, e.g. 1:Headphone Jack")
    return AlsaJack(card=card, control=control, amixer=shutil.which("amixer") or "amixer")


class JackWatcher:
    """Asks a `Jack` every `poll_s` on its own thread; `state` is its latest answer. The UI
    thread only reads it. `close()` ends the thread (after the answer in hand)."""

    def __init__(self, jack: Jack, *, poll_s: float = POLL_S) -> None:
        self.jack, self.poll_s = jack, poll_s
        self.state: bool | None = None
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="headphone-jack", daemon=True)

    def start(self) -> JackWatcher:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.state = self.jack.plugged()
            except Exception:  # a port that fails says nothing: speech stays as it is
                self.state = None
            self.polls += 1
            self._stop.wait(self.poll_s)

    def close(self, timeout_s: float = 3.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
