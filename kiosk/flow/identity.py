"""NIK and KK number checks for the keypad, as the resident types (rules in `anjungan.nik`).

Here we only map `anjungan.nik`'s answers to what the screen says, so a resident hears about
a slip at the digit where it happened (a region that does not exist, a day that cannot be),
not after typing all sixteen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from anjungan import nik as niklib

NIK_LEN = niklib.NIK_LENGTH
KK_LEN = niklib.NIK_LENGTH
_PARTIAL_KEYS = {
    "digits only": "err_digits_only",
    "too many digits": "err_too_long",
    "unknown region code": "err_nik_region",
    "birth date is not a real date": "err_nik_date",
}


@dataclass(frozen=True, kw_only=True)
class NikFacts:
    age: int
    sex: str  # "F" | "M"
    birth_date: str  # ISO date


def nik_problem(typed: str, today: dt.date) -> str | None:
    """The i18n key of the first problem in a partly typed NIK, or None so far."""
    problem = niklib.check_partial(typed, today=today)
    if problem is None:
        return None
    return _PARTIAL_KEYS.get(problem, "err_nik_invalid")


def check_nik(nik: str, today: dt.date) -> NikFacts | str:
    """Facts from a complete NIK, or the i18n key of its problem."""
    if len(nik) != NIK_LEN:
        return nik_problem(nik, today) or "err_nik_length"
    try:
        info = niklib.parse_nik(nik, today=today)
    except niklib.NikError:
        return nik_problem(nik, today) or "err_nik_invalid"
    return NikFacts(age=info.age, sex=info.sex, birth_date=info.birth_date.isoformat())


MIN_KTP_AGE = 17  # UU Adminduk: an e-KTP from 17, or earlier for a resident who is or was married


def needs_marriage(age: int) -> bool:
    """A new recording for this age is allowed only to a resident who is or was married."""
    return age < MIN_KTP_AGE


def ktp_date(birth_date: str) -> dt.date:
    """The 17th birthday: the day a new recording is open to everyone (29 February: 1 March)."""
    born = dt.date.fromisoformat(birth_date)
    try:
        return born.replace(year=born.year + MIN_KTP_AGE)
    except ValueError:
        return dt.date(born.year + MIN_KTP_AGE, 3, 1)


def check_kk(kk: str) -> str | None:
    """The i18n key of a KK number's problem, or None."""
    if len(kk) != KK_LEN:
        return "err_kk_length"
    try:
        niklib.check_kk_number(kk)
    except niklib.NikError:
        return "err_kk_invalid"
    return None
