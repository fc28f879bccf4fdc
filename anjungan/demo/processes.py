"""Child processes of the demo: started in their own session, logged to files, all stopped.

Every process the demo starts goes through one `ProcessGroup`; leaving its `with` block —
normally, on an error, or on Ctrl-C — terminates them all (SIGTERM, then SIGKILL after a
grace period), so nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


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
              stdout_to_log: bool = True) -> Child:  # fmt: skip
        log = self.logs / f"{name}.log"
        out = open(log, "ab")  # noqa: SIM115 - handed to the child
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL,
                stdout=out if stdout_to_log else subprocess.PIPE, stderr=out,
                env={**os.environ, **(env or {})}, start_new_session=True,
            )  # fmt: skip
        finally:
            out.close()
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def anjungan(self, name: str, *args: str, env: dict[str, str] | None = None,
                 stdout_to_log: bool = True) -> Child:  # fmt: skip
        """Run an `anjungan` subcommand with this interpreter."""
        return self.start(name, [sys.executable, "-m", "anjungan.cli", *args], env=env,
                          stdout_to_log=stdout_to_log)  # fmt: skip

    def stop(self, child: Child, *, grace: float = 5.0) -> None:
        if not child.alive():
            return
        try:
            os.killpg(child.process.pid, signal.SIGTERM)
            child.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            child.kill()
        except ProcessLookupError:
            pass

    def stop_all(self) -> None:
        for child in reversed(self.children):
            self.stop(child)
