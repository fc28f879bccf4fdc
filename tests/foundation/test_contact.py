"""A resident's contact for an answer to feedback: phone or e-mail, parsed by the libraries,
refused for anything else without repeating it, masked for logs; the Feedback message
carries it in normal form only."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anjungan.contact import ContactError, ContactKind, mask_contact, parse_contact
from anjungan.messages import Feedback, MessageError


@pytest.mark.parametrize("text,kind,normal", [
    ("0812 3456 7890", ContactKind.PHONE, "+6281234567890"),
    ("0812-3456-7890", ContactKind.PHONE, "+6281234567890"),
    ("+62 812 3456 7890", ContactKind.PHONE, "+6281234567890"),
    ("(021) 3456789", ContactKind.PHONE, "+62213456789"),
    ("Ani.S@Example.co.id", ContactKind.EMAIL, "Ani.S@example.co.id"),
])
def test_phones_and_addresses_come_back_in_normal_form(text: str, kind: ContactKind, normal: str) -> None:
    assert parse_contact(text) == (kind, normal)


@pytest.mark.parametrize("text", [
    "", "nan", "NaN", "inf", "12", "abc", "a@b", "@", "a@@b.id", "0812\n3456", "0812\x003456", "١٢٣٤٥٦٧٨٩٠",
    "1" * 255, "a" * 250 + "@b.id", "[[[[[[[[[[]]]]]]]]]]", '{"a": {"b": {}}}', "0812 3456 78901234567",
])
def test_anything_else_is_refused_without_repeating_it(text: str) -> None:
    with pytest.raises(ContactError) as exc:
        parse_contact(text)
    if len(text) > 3:
        assert text not in str(exc.value)


@given(st.text(max_size=300))
def test_any_text_is_a_contact_or_a_contact_error(text: str) -> None:
    try:
        kind, normal = parse_contact(text)
    except ContactError:
        return
    assert parse_contact(normal) == (kind, normal)  # the normal form is stable


def test_a_log_sees_three_digits_or_a_first_letter_and_the_domain() -> None:
    assert mask_contact("+6281234567890") == "**********890"
    assert mask_contact("ani.s@example.co.id") == "a***@example.co.id"
    assert mask_contact("") == ""


def _feedback(contact: str) -> bytes:
    return json.dumps({"type": "feedback", "kiosk_id": "kiosk-01", "feedback_id": "f1", "at": 1.0,
                       "category": "other", "text": "hi", "contact": contact}).encode()


def test_feedback_carries_a_contact_in_normal_form_only() -> None:
    fb = Feedback.from_json(_feedback("+6281234567890"))
    assert fb.contact == "+6281234567890" and Feedback.from_json(fb.to_json()) == fb
    assert Feedback.from_json(_feedback("")).contact == ""
    for bad in ("0812 3456 7890", "not a contact", "x" * 5000):
        with pytest.raises(MessageError) as exc:
            Feedback.from_json(_feedback(bad))
        assert bad not in str(exc.value)
