"""A failed demo says in one line what went wrong first."""

from entrypoints.demo.terminal import _why

BASE = {"lost": 0, "duplicates_at_siak": 0, "captured": 3, "accepted_by_siak": 3, "refused": 0,
        "problems": []}


def test_a_crashed_kiosk_is_named_with_its_last_words():
    s = {**BASE, "captured": 0, "accepted_by_siak": 0,
         "problems": ["kiosk dps-01 exited with code 70: anjungan: internal error: X"]}
    assert _why(s) == "kiosk dps-01 exited with code 70: anjungan: internal error: X"


def test_losses_then_nothing_stored_then_waiting():
    assert _why({**BASE, "lost": 1}) == "1 lost, 0 duplicated at SIAK"
    assert _why({**BASE, "captured": 0, "accepted_by_siak": 0}) == "no resident's capture was stored"
    assert _why({**BASE, "accepted_by_siak": 1, "refused": 1}) == (
        "1 of 3 captures not accepted by SIAK within the timeout")
