"""Spoken prompts through espeak-ng when it is installed; silence (never an error) otherwise.

Utterances queue: a prompt is never cut off by the next one (the shell already drops prompts
for screens no longer showing). A new screen's reading replaces readings still waiting, so a
resident who moves on quickly hears the screen they are on. `hush()` stops everything (the
resident turned speech off). `said` keeps every utterance queued, for tests.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import deque

VOICES = {"id": "id", "en": "en"}


class Speaker:
    def __init__(self, *, enabled: bool = True) -> None:
        self.binary = shutil.which("espeak-ng") if enabled else None
        self._proc: subprocess.Popen | None = None
        self._queue: deque[tuple[str, str]] = deque()
        self.said: list[str] = []

    @property
    def available(self) -> bool:
        return self.binary is not None

    @property
    def speaking(self) -> bool:
        return bool(self._queue) or (self._proc is not None and self._proc.poll() is None)

    def say(self, text: str, lang: str, *, replace_waiting: bool = False) -> None:
        self.said.append(text)
        if not self.binary:
            return
        if replace_waiting:
            self._queue.clear()
        self._queue.append((text, lang))
        self.pump()

    def pump(self) -> None:
        """Start the next utterance once the current one has finished (called every frame)."""
        if not self.binary or not self._queue or (self._proc and self._proc.poll() is None):
            return
        text, lang = self._queue.popleft()
        try:
            self._proc = subprocess.Popen(
                [self.binary, "-v", VOICES.get(lang, "id"), "-s", "140", text],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        except OSError:
            self.binary = None
            self._queue.clear()

    def hush(self) -> None:
        """Stop at once: nothing waiting, the voice cut off and reaped (`speaking` is False
        when this returns; espeak-ng ends on SIGTERM at once, a stuck one is killed)."""
        self._queue.clear()
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
