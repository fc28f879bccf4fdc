"""What `anjungan doctor` says about a host: one finding per check, each problem with the
command that fixes it. Plain data; the checks make findings, the command prints them."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.StrEnum):
    OK = "ok"
    PROBLEM = "problem"
    SKIPPED = "skipped"  # cannot be checked here (no systemd, the service holds the session)


@dataclass(frozen=True, kw_only=True)
class Finding:
    check: str  # config, owner, clock, trust, broker, disk, unit
    state: State
    detail: str
    fix: str = ""  # the command (or step) that fixes a problem

    def as_json(self) -> dict[str, str]:
        return {"check": self.check, "state": self.state.value, "detail": self.detail, "fix": self.fix}


def ok(check: str, detail: str) -> Finding:
    return Finding(check=check, state=State.OK, detail=detail)


def problem(check: str, detail: str, fix: str) -> Finding:
    return Finding(check=check, state=State.PROBLEM, detail=detail, fix=fix)


def skipped(check: str, detail: str) -> Finding:
    return Finding(check=check, state=State.SKIPPED, detail=detail)
