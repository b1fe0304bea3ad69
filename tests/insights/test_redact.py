"""Quotes in reports carry no emails, phone numbers or card numbers."""

from __future__ import annotations

from insights.redact import luhn_valid, redact


def test_emails_phones_and_cards_are_replaced() -> None:
    text = (
        "Mail jane.doe+shop@example.co.uk or call +44 20 7946 0958, (415) 555-0100 or "
        "07700 900123. My card 4111 1111 1111 1111 and 5500-0000-0000-0004 were charged."
    )
    redacted = redact(text)

    assert redacted == (
        "Mail [email] or call [phone], [phone] or [phone]. My card [card] and [card] were charged."
    )


def test_ordinary_numbers_stay() -> None:
    text = "Order 12345 cost 250.00 on 2026-03-01; reference 123456789, 3 items, 2 weeks."

    assert redact(text) == text


def test_long_numbers_that_fail_luhn_are_not_cards() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert redact("tracking 4111 1111 1111 1112") == "tracking 4111 1111 1111 1112"
