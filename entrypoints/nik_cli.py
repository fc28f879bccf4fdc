"""`anjungan nik NIK [--json]`: check a NIK and print its fields."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from anjungan.nik import NikError, parse_nik


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "nik",
        help="validate a NIK and show its region, birth date, sex and age",
        description="Validate a 16-digit NIK. Exit 0 when valid, 1 with the reason when not.",
    )
    p.add_argument("nik", help="the 16-digit NIK")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--today", type=dt.date.fromisoformat, default=None,
                   help="resolve age against this date (YYYY-MM-DD); default: today")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    today = args.today or dt.date.today()
    try:
        info = parse_nik(args.nik, today=today)
    except NikError as exc:
        if args.json:
            print(json.dumps({"valid": False, "reason": str(exc)}))
            return 1
        raise
    if args.json:
        print(json.dumps(info.as_dict(), ensure_ascii=False))
    else:
        sex = "female" if info.sex == "F" else "male"
        print(f"valid NIK: {info.district}, {info.regency}, {info.province}")
        print(f"born {info.birth_date.isoformat()}, {sex}, age {info.age}")
    return 0
