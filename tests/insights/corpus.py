"""A small synthetic contact corpus with three clear themes, and ways to store it."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from hub.contacts import InboundContact
from hub.intake import Intake

THEMES = {
    "refund": (
        ["I want a refund for", "Still waiting for the refund on", "Please refund"],
        ["my cancelled order", "the broken kettle", "order 4471", "the duplicate charge"],
    ),
    "password": (
        ["I cannot reset my password,", "The password reset link expired,", "Locked out:"],
        ["the reset email never comes", "it says password invalid", "login keeps failing"],
    ),
    "delivery": (
        ["My parcel delivery is late,", "The courier never delivered my parcel,", "Delivery:"],
        ["tracking shows no update", "it was due on Monday", "the parcel is lost"],
    ),
}


def theme_texts(theme: str, count: int, seed: int = 1) -> list[str]:
    rng = random.Random(f"{theme}-{seed}")
    openings, details = THEMES[theme]
    return [f"{rng.choice(openings)} {rng.choice(details)}." for _ in range(count)]


def corpus(per_theme: int = 20) -> list[tuple[str, str]]:
    """(theme, text) pairs, themes interleaved."""
    texts = {theme: theme_texts(theme, per_theme) for theme in THEMES}
    return [(theme, texts[theme][i]) for i in range(per_theme) for theme in THEMES]


def contact(text: str, when: datetime | None = None, channel: str = "email") -> InboundContact:
    """A first message from a new customer, so each one opens its own conversation."""
    sender = (
        f"{uuid.uuid4().hex[:10]}@example.com"
        if channel == "email"
        else (f"+1555{random.randrange(10**6, 10**7)}")
    )
    return InboundContact(
        channel=channel,
        inbox="help@switchboard.test" if channel == "email" else "+15550000000",
        external_id=uuid.uuid4().hex,
        sender=sender,
        text=text,
        received_at=when or datetime.now(UTC) - timedelta(hours=1),
    )


async def store(intake: Intake, texts: list[str], days: int = 10) -> None:
    """Each text as a new contact, spread over the last `days` days."""
    now = datetime.now(UTC)
    for n, text in enumerate(texts):
        when = now - timedelta(days=days * (n + 1) / (len(texts) + 1))
        await intake.accept(contact(text, when, "email" if n % 3 else "sms"))
