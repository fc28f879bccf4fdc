"""The site's local time, for people: the dashboard shows every time in the zone staff work
in (WITA by default; WIB or WIT by config), labelled with the zone's abbreviation.

Pure: Unix seconds in, text out. Stored times and the API stay Unix seconds (UTC).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broker.fleet.errors import FleetConfigError

DEFAULT_TIMEZONE = "Asia/Makassar"  # WITA: Bali, Nusa Tenggara, Sulawesi, Kalimantan Timur/Selatan
INDONESIA = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}


@dataclass(frozen=True)
class SiteTime:
    name: str = DEFAULT_TIMEZONE  # an IANA zone ("Asia/Makassar") or WIB, WITA, WIT
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(INDONESIA.get(self.name, self.name))
        except (ZoneInfoNotFoundError, ValueError):
            raise FleetConfigError(f"unknown time zone {self.name!r} (WIB, WITA, WIT or an IANA name "
                                   "such as Asia/Makassar)") from None
        object.__setattr__(self, "zone", zone)

    def _at(self, t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, self.zone)

    def stamp(self, t: float | None) -> str:
        """`2026-12-01 08:00:00 WITA`; an em dash for no time."""
        return "—" if t is None else self._at(t).strftime("%Y-%m-%d %H:%M:%S %Z")

    def clock(self, t: float) -> str:
        """`10:42 WITA`, for an alert that needs someone now."""
        return self._at(t).strftime("%H:%M %Z")

    def short(self, t: float) -> str:
        """`01 Dec 08:00 WITA`, for a plot's axis."""
        return self._at(t).strftime("%d %b %H:%M %Z")
