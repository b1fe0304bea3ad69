"""What a customer's answer to "rate us 1-5" reads as: a score, with or without a comment,
or a new message that happens to start with a number (which an agent must read)."""

from __future__ import annotations

import pytest

from hub.surveys import read_rating


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("5", (5, "")),
        (" 4 ", (4, "")),
        ("3!", (3, "")),
        ("4 - quick, but I had to ask twice", (4, "quick, but I had to ask twice")),
        ("2 the first agent did not know", (2, "the first agent did not know")),
        ("4/5, thanks", (4, "thanks")),
        ("1. Days of waiting", (1, "Days of waiting")),  # a separator says it is a score
    ],
)
def test_a_score_with_or_without_a_comment_is_a_rating(text: str, read: tuple[int, str]) -> None:
    assert read_rating(text) == read


@pytest.mark.parametrize(
    "text",
    [
        "5 days late and still no parcel",
        "2 hours on hold, again",
        "3 parcels missing",
        "4x the same question",
        "10 out of 10",
        "6",
        "0",
        "Still no parcel",
        "",
    ],
)
def test_a_message_that_only_starts_with_a_number_is_not_a_rating(text: str) -> None:
    assert read_rating(text) is None
