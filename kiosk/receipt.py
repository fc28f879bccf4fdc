"""The printed receipt's lines (the QR goes to the printer as data, not text)."""

from __future__ import annotations

import datetime as dt

from kiosk.i18n import t


def receipt_lines(*, ticket: str, purpose: str, lang: str, kiosk_id: str, now: float,
                  utc_offset_h: float = 8.0) -> list[str]:
    when = dt.datetime.fromtimestamp(now, dt.timezone(dt.timedelta(hours=utc_offset_h)))
    return [
        t("receipt_title", lang),
        t("receipt_ticket", lang, ticket=ticket),
        t("receipt_service", lang, service=t(f"opt_{purpose}", lang)),
        t("receipt_kiosk", lang, kiosk=kiosk_id),
        t("receipt_time", lang, time=when.strftime("%Y-%m-%d %H:%M")),
        t("receipt_note", lang),
    ]
