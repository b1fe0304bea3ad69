"""Personal data out of customer quotes: emails, phone numbers and card numbers."""

from __future__ import annotations

import re

from hub.card_numbers import CARD, luhn_valid

__all__ = ["luhn_valid", "redact"]

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# International (+44 20 7946 0958), North American ((415) 555-0100, 415.555.0100)
# and national trunk-prefixed (020 7946 0958, 07700 900123) numbers. Bare short numbers
# such as amounts, years or order numbers do not match: a phone needs a plus sign,
# a leading zero or the grouping that phone numbers are written in.
PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]?\d{4}"
    r"|\d{3}[.-]\d{3}[.-]\d{4}"
    r"|0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4}"
    r")(?!\w)"
)


def redact(text: str) -> str:
    """The text with emails, card numbers and phone numbers replaced by placeholders."""
    text = EMAIL.sub("[email]", text)
    text = CARD.sub(_card, text)
    return PHONE.sub(_phone, text)


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if luhn_valid(digits) else match.group()


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[phone]" if 9 <= len(digits) <= 15 else match.group()
