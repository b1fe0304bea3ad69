"""Payment card numbers in customer text: found by shape and the Luhn checksum, masked
to their last four digits before a message is stored (SWITCHBOARD_MASK_CARD_NUMBERS)."""

from __future__ import annotations

import re

__all__ = ["CARD", "luhn_valid", "mask_cards"]

# 13 to 19 digits, optionally grouped by spaces or dashes, as card numbers are written.
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask_cards(text: str) -> str:
    """The text with every Luhn-valid card number replaced by `[card ending 1234]`;
    other long numbers (order numbers, phone numbers) are left as written."""
    return CARD.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return f"[card ending {digits[-4:]}]" if luhn_valid(digits) else match.group()
