"""Scripted residents of every kind, as kiosk scripts (see kiosk/script.py). Pure.

Each resident gets a NIK of their own (the serial is the resident's number), so SIAK's
duplicate-by-NIK check flags only real duplicates. Every resident starts with a `mark`
step, which the kiosk journals with a time stamp: the demo times residents by it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

REGION = "510101"  # a district code from the official list
KK_NUMBER = "5101010101200001"
OFFICER_ID, OFFICER_PIN = "198703122010", "2468"

# kind -> (birth DDMMYY as in the NIK (women +40 on the day), what the resident does)
KINDS: dict[str, str] = {
    "first_recording": "050709",  # 17 years old, first e-KTP
    "elderly": "520350",  # woman born 1950, a missing finger
    "disabled": "150896",  # disability declared, an injured finger
    "assisted": "230445",  # Jemput Bola: an officer records an 81-year-old at home
    "replacement": "200186",  # lost card
    "correction": "600681",  # wrong address
    "feedback": "",  # a complaint, no capture
}
CAPTURE_KINDS = tuple(k for k, birth in KINDS.items() if birth)


@dataclass(frozen=True, kw_only=True)
class Resident:
    number: int  # 1.. across the whole demo
    kind: str

    @property
    def nik(self) -> str:
        return f"{REGION}{KINDS[self.kind]}{self.number:04d}"


def _identity(nik: str) -> list[dict]:
    return [{"type": nik}, {"tap": "confirm"}, {"type": KK_NUMBER}, {"tap": "confirm"},
            {"expect": "consent"}, {"tap": "agree"}]


def _finish() -> list[dict]:
    return [{"expect": "review"}, {"tap": "submit"}, {"expect": "done"}, {"tap": "home"},
            {"expect": "welcome"}]


def _exception_on_first_slap(cause: str) -> list[dict]:
    return [{"capture": 1}, {"expect": "capture_guide"}, {"tap": "exception"},
            {"tap": "choose:right_little"}, {"tap": "confirm"}, {"tap": f"choose:{cause}"}]


def script_for(r: Resident) -> list[dict]:
    steps: list[dict] = [{"mark": r.kind}]
    if r.kind == "feedback":
        return steps + [
            {"tap": "start"}, {"tap": "choose:feedback"}, {"tap": "choose:waiting"},
            {"type": "antrian terlalu lama"}, {"tap": "confirm"},
            {"expect": "feedback_contact"}, {"tap": "confirm"},  # no answer wanted
            {"expect": "feedback_sent"}, {"tap": "home"}, {"expect": "welcome"},
        ]
    if r.kind == "assisted":
        steps += [{"tap": "officer"}, {"type": OFFICER_ID}, {"tap": "confirm"},
                  {"type": OFFICER_PIN}, {"tap": "confirm"}, {"expect": "menu"}]
    else:
        steps += [{"tap": "start"}]
    if r.kind == "replacement":
        steps += [{"tap": "choose:replacement"}, {"tap": "choose:lost"}]
    elif r.kind == "correction":
        steps += [{"tap": "choose:correction"}, {"tap": "choose:address"},
                  {"type": "jl gatot subroto 7"}, {"tap": "confirm"}]
    else:
        steps += [{"tap": "choose:new_recording"}]
    steps += _identity(r.nik)
    if r.kind == "elderly":
        steps += _exception_on_first_slap("amputated")
    elif r.kind == "disabled":
        steps += _exception_on_first_slap("bandaged")
    steps += [{"capture": "all"}]
    if r.kind == "disabled":
        steps += [{"expect": "review"}, {"tap": "disability"}]
    steps += _finish()
    if r.kind == "assisted":  # the visit is over: the officer signs out (else stays signed in)
        steps += [{"tap": "sign_out"}, {"expect": "welcome"}]
    return steps


def residents(total: int) -> Iterator[Resident]:
    """`total` residents cycling through every kind, so each kind appears."""
    order = list(KINDS)
    for n in range(1, total + 1):
        yield Resident(number=n, kind=order[(n - 1) % len(order)])


def deal(total: int, kiosks: int) -> list[list[Resident]]:
    """Residents dealt round-robin to kiosks, as they would walk up."""
    queues: list[list[Resident]] = [[] for _ in range(kiosks)]
    for i, r in enumerate(residents(total)):
        queues[i % kiosks].append(r)
    return queues
