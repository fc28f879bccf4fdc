"""Child processes of the demo: started in their own session, logged to files, all stopped.

Every process the demo starts goes through one `ProcessGroup`; leaving its `with` block —
normally, on an error, or on Ctrl-C — terminates them all (SIGTERM, then SIGKILL after a
grace period), so nothing is left behind. A demo that is SIGKILLed leaves nothing either:
each child carries the parent-death signal (`anjungan.children.die_with_parent`), so
Mosquitto, the centre, the SIAK simulator and the kiosks go with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from anjungan.children import die_with_parent


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the child and its process group (fault injection)."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class ProcessGroup:
    logs: Path
    children: list[Child] = field(default_factory=list)

    def __enter__(self) -> ProcessGroup:
        self.logs.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], *, env: dict[str, str] | None = None,
              stdout_to_log: bool = True) -> Child:
        log = self.logs / f"{name}.log"
        out = open(log, "ab")  # noqa: SIM115 - handed to the child
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL,
                stdout=out if stdout_to_log else subprocess.PIPE, stderr=out,
                env={**os.environ, **(env or {})}, start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        finally:
            out.close()
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def anjungan(self, name: str, *args: str, env: dict[str, str] | None = None,
                 stdout_to_log: bool = True) -> Child:
        """Run an `anjungan` subcommand with this interpreter."""
        return self.start(name, [sys.executable, "-m", "entrypoints.cli", *args], env=env,
                          stdout_to_log=stdout_to_log)

    def stop(self, child: Child, *, grace: float = 5.0) -> None:
        self._stop([child], grace=grace)

    def stop_all(self, *, grace: float = 5.0) -> None:
        """SIGTERM to every child at once, one shared grace period, then SIGKILL: Ctrl-C
        takes seconds, not seconds per process."""
        self._stop(list(reversed(self.children)), grace=grace)

    @staticmethod
    def _stop(children: list[Child], *, grace: float) -> None:
        alive = [c for c in children if c.alive()]
        for child in alive:
            try:
                os.killpg(child.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        for child in alive:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
