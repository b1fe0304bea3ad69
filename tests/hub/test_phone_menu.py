"""A phone menu is data an admin writes: it is refused unless every caller can get somewhere."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from hub.demo import PHONE_MENU
from hub.phone_menu import PhoneMenu, chosen


def menu_with(change: Any) -> dict[str, Any]:
    menu = copy.deepcopy(PHONE_MENU)
    change(menu)
    return menu


def test_the_demo_menu_is_valid_and_chooses_by_key_or_word() -> None:
    menu = PhoneMenu.model_validate(PHONE_MENU)
    main = menu.step(None)
    assert main is not None and menu.step("main") is main
    assert [
        chosen(main, "2", "").queue,
        chosen(main, "", "I have a question about my loans").queue,
    ] == [  # type: ignore[union-attr]
        "loans",
        "loans",
    ]
    assert chosen(main, "", "please call me back").to == "callback"  # type: ignore[union-attr]
    assert chosen(main, "7", "") is None and chosen(main, "", "weather") is None


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (
            lambda m: m["steps"]["main"]["options"].append(
                {"key": "5", "to": "step", "step": "nowhere"}
            ),
            "missing step",
        ),
        (
            lambda m: m["steps"].update(orphan={"prompt": "Nobody hears this."}),
            "no option leads to orphan",
        ),
        (
            lambda m: m["steps"]["main"]["options"].append({"key": "1", "to": "voicemail"}),
            "one place",
        ),
        (
            lambda m: m["steps"]["main"]["options"].append(
                {"key": "5", "words": ["card"], "to": "voicemail"}
            ),
            "one place",
        ),
        (lambda m: m["steps"]["main"]["options"].append({"key": "5", "to": "queue"}), "name it"),
        (lambda m: m["steps"]["main"]["options"].append({"key": "55", "to": "voicemail"}), "key"),
        (
            lambda m: m["closed"]["options"].append({"key": "3", "to": "queue", "queue": "cards"}),
            "out of hours",
        ),
        (lambda m: m.update(start="welcome"), "not a step"),
        (lambda m: m["steps"].update(closed={"prompt": "x"}), "cannot name a step"),
        (lambda m: m["steps"]["main"].update(language="english"), "language"),
    ],
)
def test_a_menu_with_a_dead_end_is_refused(change: Any, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        PhoneMenu.model_validate(menu_with(change))
