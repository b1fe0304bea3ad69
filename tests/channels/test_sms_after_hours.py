"""Texts that arrive while the team is closed: one automatic reply saying when it opens,
never to a number that replied STOP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.keys import AFTER_HOURS
from hub.models import Conversation, CustomerAddress, Message, utcnow
from tests.channels.email.test_after_hours import keep_hours
from tests.channels.test_sms import (
    CUSTOMER,
    INBOX,
    FakeTwilio,
    Webhook,
    fake_api,
    hub,
    sms_settings,
)
from tests.support import Hub, eventually

__all__ = ["fake_api", "hub", "sms_settings"]  # fixtures used here


async def test_a_text_while_closed_is_answered_once_with_the_opening(
    hub: Hub, fake_api: FakeTwilio
) -> None:
    opening = await keep_hours(hub, "sms", INBOX, closed_days=3)
    webhook = Webhook(hub)
    await webhook.text("Is my transfer through?")
    await webhook.text("Hello?")  # the same conversation: no second reply

    async def sent() -> list[dict[str, Any]] | None:
        return fake_api.requests or None

    requests = await eventually(sent)
    (body,) = requests[0]["form"]["Body"]
    assert requests[0]["form"]["To"] == [CUSTOMER]
    assert f"on {opening:%A %d %B} at 09:00 (UTC time)" in body
    async with hub.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    assert conversation_id is not None
    assert await hub.app[AFTER_HOURS].contact_queued(conversation_id, "sms") in (None, "duplicate")
    assert len(fake_api.requests) == 1


async def test_a_number_that_opted_out_gets_no_automatic_reply(
    hub: Hub, fake_api: FakeTwilio
) -> None:
    await keep_hours(hub, "sms", INBOX, closed_days=1)
    await Webhook(hub).text("Question about my loan")
    async with hub.sessions() as session, session.begin():
        address = await session.scalar(
            select(CustomerAddress).where(CustomerAddress.address == CUSTOMER)
        )
        assert address is not None
        address.opted_out_at = utcnow()  # as STOP does, before the reply went out
        conversation_id = await session.scalar(select(Conversation.id))
        # As though the first reply had not gone yet: it is due again now.
        await session.execute(Message.__table__.delete().where(Message.direction == "outgoing"))
    assert conversation_id is not None
    assert await hub.app[AFTER_HOURS].contact_queued(conversation_id, "sms") is None
