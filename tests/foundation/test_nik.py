import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anjungan.nik import NikError, check_kk_number, check_partial, mask, parse_nik
from entrypoints.cli import main

TODAY = dt.date(2026, 11, 28)


def test_woman_from_denpasar():
    info = parse_nik("5171014101900001", today=TODAY)
    assert (info.province, info.regency, info.district) == ("Bali", "Kota Denpasar", "Denpasar Selatan")
    assert info.birth_date == dt.date(1990, 1, 1) and info.sex == "F" and info.age == 36


def test_man_and_century_resolved_against_today():
    young = parse_nik("5171011211090002", today=TODAY)  # 12 Nov 2009: 17 today
    assert young.sex == "M" and young.birth_date == dt.date(2009, 11, 12) and young.age == 17
    assert parse_nik("5171011211270002", today=TODAY).birth_date == dt.date(1927, 11, 12)
    # born today: a newborn, not a centenarian
    assert parse_nik("5171012811260002", today=TODAY).age == 0
    # tomorrow's date in '26 can only be 1926
    assert parse_nik("5171012911260002", today=TODAY).age == 99


@pytest.mark.parametrize("nik, reason", [
    ("517101410190000", "16 digits"),
    ("51710141019000011", "16 digits"),
    ("51710141019000a1", "digits only"),
    ("9971014101900001", "region code 997101"),
    ("5171013201900001", "not a real date"),
    ("5171017201900001", "not a real date"),
    ("5171013102900001", "not a real date"),
    ("5171014101900000", "serial"),
])
def test_invalid(nik, reason):
    with pytest.raises(NikError, match=reason) as info:
        parse_nik(nik, today=TODAY)
    assert nik not in str(info.value)  # never echo a full NIK


@given(st.text(max_size=20))
def test_any_input_is_a_nik_or_a_nik_error(text):
    try:
        parse_nik(text, today=TODAY)
    except NikError:
        pass


def test_partial_validation_as_typed():
    assert check_partial("5171", today=TODAY) is None
    assert check_partial("997101", today=TODAY) == "unknown region code"
    assert check_partial("5171019913", today=TODAY) == "birth date is not a real date"
    assert check_partial("5171014101900001", today=TODAY) is None
    assert "serial" in check_partial("5171014101900000", today=TODAY)


def test_mask_and_kk():
    assert mask("5171014101900001") == "517101********01"
    assert check_kk_number("5171010101010001") == "5171010101010001"
    with pytest.raises(NikError):
        check_kk_number("123")


def test_cli_json(capsys):
    assert main(["nik", "5171014101900001", "--json", "--today", "2026-11-28"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"valid": True, "province": "Bali", "regency": "Kota Denpasar",
                   "district": "Denpasar Selatan", "region_code": "517101",
                   "birth_date": "1990-01-01", "sex": "F", "age": 36}
    assert main(["nik", "5171014101900000", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["valid"] is False
    assert main(["nik", "12"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "16 digits" in err
