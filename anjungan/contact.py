"""A resident's contact for a reply to their feedback: a phone number or an e-mail address.

Optional, and personal: it travels in the `Feedback` message to the centre, and anywhere
else (journal, logs, errors) only masked (`mask_contact`). Parsing is the libraries' work:
`phonenumbers` (libphonenumber's rules, Indonesian numbers by default) and `email-validator`
(syntax only: no DNS lookup). Pure.
"""

from __future__ import annotations

import enum

from anjungan.errors import AnjunganError

# email_validator and phonenumbers are imported where they are used: the contracts package
# imports with the standard library alone, because the installer (`python3 -m deploy` from
# the release wheel) runs on a bare Debian before any virtualenv exists.

CONTACT_MAX = 254  # the longest e-mail address there is
DEFAULT_REGION = "ID"


class ContactError(AnjunganError):
    """Not a phone number or e-mail address; the message never repeats what was typed."""


class ContactKind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"


def parse_contact(text: str) -> tuple[ContactKind, str]:
    """(kind, normal form): E.164 for a phone (+6281234567890), the normalised address for
    an e-mail. Anything else is a `ContactError`."""
    if not isinstance(text, str) or not 0 < len(text) <= CONTACT_MAX or not text.isprintable():
        raise ContactError("a contact is a phone number or an e-mail address of 1-254 characters")
    if "@" in text:
        import email_validator

        try:
            checked = email_validator.validate_email(text.strip(), check_deliverability=False)
        except email_validator.EmailNotValidError:
            raise ContactError("not an e-mail address") from None
        return ContactKind.EMAIL, checked.normalized
    import phonenumbers

    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ContactError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ContactError("not a phone number")
    return ContactKind.PHONE, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_contact(contact: str) -> str:
    """What a log may show: a phone's last 3 digits, an address's first letter and domain."""
    if not contact:
        return ""
    local, at, domain = contact.rpartition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    digits = [c for c in contact if c.isdigit()]
    return "*" * max(0, len(digits) - 3) + "".join(digits[-3:])
