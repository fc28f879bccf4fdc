"""Spoken prompts through espeak-ng when it is installed; silence (never an error) otherwise."""

from __future__ import annotations

import shutil
import subprocess

VOICES = {"id": "id", "en": "en"}


class Speaker:
    def __init__(self, *, enabled: bool = True) -> None:
        self.binary = shutil.which("espeak-ng") if enabled else None
        self._proc: subprocess.Popen | None = None
        self.said: list[str] = []

    @property
    def available(self) -> bool:
        return self.binary is not None

    def say(self, text: str, lang: str) -> None:
        self.said.append(text)
        if not self.binary:
            return
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()  # a new screen interrupts the old prompt
        try:
            self._proc = subprocess.Popen(
                [self.binary, "-v", VOICES.get(lang, "id"), "-s", "140", text],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError:
            self.binary = None
