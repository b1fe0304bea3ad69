"""What agents see a customer called: the name, else the best thing known instead."""

from __future__ import annotations

import pytest

from hub.customer_label import customer_label, site_of

VISITOR = ("chat", "v_0123456789abcdef")


@pytest.mark.parametrize(
    ("name", "addresses", "details", "label"),
    [
        ("  Jane Smith ", [("email", "jane@example.com")], {}, "Jane Smith"),
        (
            "",
            [VISITOR, ("email", "jane@example.com"), ("sms", "+14155550101")],
            {},
            "jane@example.com",
        ),
        ("", [("voice", "+14155550101"), VISITOR], {}, "+14155550101"),
        ("", [VISITOR], {"chat_site": "shop.example"}, "Visitor from shop.example"),
        ("", [VISITOR], {}, "Chat visitor"),
        ("", [], {}, "Unknown customer"),
    ],
)
def test_the_label_never_shows_a_widget_token(
    name: str, addresses: list[tuple[str, str]], details: dict[str, str], label: str
) -> None:
    assert customer_label(name, addresses, details) == label


@pytest.mark.parametrize(
    ("origin", "site"),
    [
        ("https://shop.example", "shop.example"),
        ("http://127.0.0.1:8080", "127.0.0.1:8080"),
        ("null", ""),
        (None, ""),
    ],
)
def test_the_site_is_the_origins_host(origin: str | None, site: str) -> None:
    assert site_of(origin) == site
