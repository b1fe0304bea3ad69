"""Card numbers customers write are masked before the message is stored, when the hub is
set to: only Luhn-valid 13-19 digit numbers, in the text, subject, whole text and raw
form, so neither agents nor search nor an export ever see them."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from hub.card_numbers import luhn_valid, mask_cards
from hub.contacts import InboundContact
from hub.keys import INTAKE
from hub.models import Message
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import Hub

VISA = "4111 1111 1111 1111"


def test_only_luhn_valid_card_numbers_are_masked() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert mask_cards(f"card {VISA}, exp 12/29") == "card [card ending 1111], exp 12/29"
    assert mask_cards("amex 3782-822463-10005.") == "amex [card ending 0005]."
    assert mask_cards("4012888888881881") == "[card ending 1881]"
    for kept in (
        "order 4111 1111 1111 1112",  # fails the checksum
        "call +1 415 555 0123",  # too short
        "ref 41111111111111111111",  # 20 digits: no card
        "tracking 1Z999AA10123456784",
    ):
        assert mask_cards(kept) == kept


@pytest.fixture
async def hub(settings_for: Settings) -> AsyncIterator[Hub]:
    masking = dataclasses.replace(settings_for, mask_card_numbers=True)
    async with start_hub(masking, clean=True) as running:
        yield running


async def test_a_card_number_written_in_is_stored_masked(hub: Hub) -> None:
    await hub.app[INTAKE].accept(
        InboundContact(
            channel="email",
            inbox="help@example.com",
            external_id=uuid.uuid4().hex,
            sender="ana@example.com",
            subject=f"Charge on {VISA}",
            text=f"Please refund card {VISA} today",
            full_text=f"Please refund card {VISA} today\n> quoted",
            raw=f"Subject: Charge on {VISA}\n\nPlease refund card {VISA} today",
        )
    )
    async with hub.sessions() as session:
        (message,) = await session.scalars(select(Message))
    stored = [message.subject, message.text, message.full_text, message.raw]
    assert all(VISA not in (s or "") and "ending 1111" in (s or "") for s in stored), stored
    assert message.text == "Please refund card [card ending 1111] today"
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        assert (await ada.get("/api/conversations/search?q=4111"))["hits"] == []
    finally:
        await ada.close()
