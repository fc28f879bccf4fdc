"""Run `anjungan kiosk run` as a real process and read its JSON journal as it goes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "kiosk" / "scripts"
ARTIFACTS = ROOT / "artifacts"


def script_steps(*names: str) -> list[dict]:
    steps: list[dict] = []
    for name in names:
        steps.extend(json.loads((SCRIPTS / f"{name}.json").read_text()))
    return steps


class KioskProcess:
    def __init__(self, bundle: Path, port: int, tmp: Path, steps: list[dict], *, lang: str = "id",
                 drain: float = 60, extra: tuple[str, ...] = (), shots: str = "",
                 tls: bool = False) -> None:
        script = tmp / f"script-{time.monotonic_ns()}.json"
        script.write_text(json.dumps(steps))
        args = [sys.executable, "-m", "entrypoints.cli", "kiosk", "run", "--bundle", str(bundle),
                "--headless", "--script", str(script), "--broker", f"127.0.0.1:{port}", *(() if tls else ("--no-tls",)),
                "--lang", lang, "--drain", str(drain), "--outbox", str(tmp / "outbox.db"),
                "--resend-after", "3", *extra]
        if shots:
            args += ["--screenshots", str(ARTIFACTS / "e2e" / shots)]
        env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                     cwd=ROOT, text=True)
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.events.append({"event": "text", "line": line.rstrip()})

    def named(self, event: str) -> list[dict]:
        return [e for e in list(self.events) if e.get("event") == event]

    def wait_for(self, event: str, timeout: float = 60.0) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = self.named(event)
            if found:
                return found[0]
            if self.proc.poll() is not None:
                self._reader.join(timeout=2)
                found = self.named(event)
                if found:
                    return found[0]
                raise AssertionError(f"kiosk exited {self.proc.returncode} before {event}: {self.stderr()}")
            time.sleep(0.02)
        raise AssertionError(f"no {event} within {timeout} s; last events {self.events[-5:]}")

    def finish(self, timeout: float = 90.0) -> int:
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return rc

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.stderr and self.proc.poll() is not None else ""

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=5)
