"""What agents see a customer called: their name, or the best thing known instead.

A chat visitor who gave no name would otherwise be a blank ("Unknown customer") next to
a widget token. The stored name stays as the customer gave it (empty here), so that
matching and search never learn a made-up name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["CHAT_SITE", "customer_label", "site_of"]

# Customer.details key: the site a nameless chat visitor first wrote from.
CHAT_SITE = "chat_site"
PHONE_CHANNELS = ("sms", "voice")


def customer_label(
    name: str, addresses: Iterable[tuple[str, str]], details: Mapping[str, Any] | None = None
) -> str:
    """The name; else an email address; else a phone number; else where they chatted from."""
    if name.strip():
        return name.strip()
    known = list(addresses)
    for wanted in (("email",), PHONE_CHANNELS):
        found = next((address for channel, address in known if channel in wanted), None)
        if found:
            return found
    site = (details or {}).get(CHAT_SITE)
    if isinstance(site, str) and site:
        return f"Visitor from {site}"
    if any(channel == "chat" for channel, _address in known):
        return "Chat visitor"
    return "Unknown customer"


def site_of(origin: str | None) -> str:
    """The host (and port, if any) of a browser's Origin header; "" when there is none."""
    if not origin or "://" not in origin:
        return ""
    return origin.split("://", 1)[1].split("/", 1)[0][:200]
