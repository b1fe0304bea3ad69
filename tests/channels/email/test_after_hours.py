"""Mail that arrives while the team is closed: one automatic reply per conversation, saying
when the team opens, marked as automatic; never an answer to automated mail."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hub.keys import AFTER_HOURS
from hub.models import BusinessHours, Inbox, Message
from hub.settings import Settings
from tests.channels.email_side import (
    SUPPORT,
    CapturingRelay,
    capturing_relay,
    email_hub,
    mail,
    send,
)
from tests.support import Hub, eventually

EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as running:
        yield running


@pytest.fixture
async def hub(settings_for: Settings, relay: CapturingRelay) -> AsyncIterator[Hub]:
    async with email_hub(dataclasses.replace(settings_for, smtp_port=0), relay) as running:
        yield running


async def keep_hours(hub: Hub, channel: str, address: str, closed_days: int) -> datetime:
    """09:00-17:00 UTC every day, closed for `closed_days` holidays from today; the opening."""
    today = datetime.now(UTC).date()
    async with hub.sessions() as session, session.begin():
        schedule = BusinessHours(
            name="Support hours",
            timezone="UTC",
            weekly={d: [{"opens": "09:00", "closes": "17:00"}] for d in EVERY_DAY},
            holidays=[
                {"day": (today + timedelta(days=n)).isoformat(), "name": "Closed"}
                for n in range(closed_days)
            ],
        )
        session.add(schedule)
        await session.flush()
        inbox = await session.scalar(
            select(Inbox).where(Inbox.channel == channel, Inbox.address == address)
        )
        if inbox is None:
            inbox = Inbox(channel=channel, address=address, name=address)
            session.add(inbox)
        inbox.schedule_id = schedule.id
    opening = today + timedelta(days=closed_days)
    return datetime(opening.year, opening.month, opening.day, 9, tzinfo=UTC)


async def conversation_with(hub: Hub, subject: str) -> int:
    async def found() -> int | None:
        async with hub.sessions() as session:
            return await session.scalar(
                select(Message.conversation_id).where(Message.subject == subject)
            )

    return await eventually(found)


async def test_mail_while_closed_gets_one_automatic_reply_saying_when_we_open(
    hub: Hub, relay: CapturingRelay
) -> None:
    opening = await keep_hours(hub, "email", SUPPORT, closed_days=2)
    await send(hub, mail("Card blocked", "My card is blocked, please help."))

    envelope, reply = await relay.next()
    assert envelope.rcpt_tos == ["jane@customer.test"]
    assert reply["Auto-Submitted"] == "auto-replied"
    text = reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"on {opening:%A %d %B} at 09:00 (UTC time)" in text

    conversation_id = await conversation_with(hub, "Card blocked")
    # However often the contact is queued again, and on whichever process: once.
    assert await hub.app[AFTER_HOURS].contact_queued(conversation_id, "email") in (
        None,
        "duplicate",
    )
    async with hub.sessions() as session:
        automatic = list(
            await session.scalars(
                select(Message.external_id).where(
                    Message.conversation_id == conversation_id, Message.direction == "outgoing"
                )
            )
        )
    assert automatic == [f"closed-ack:{conversation_id}"]


@pytest.mark.parametrize(
    "automated",
    [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"List_Id": "<news.shop.test>"}],
)
async def test_automated_mail_while_closed_is_never_answered(
    hub: Hub, relay: CapturingRelay, automated: dict[str, str]
) -> None:
    await keep_hours(hub, "email", SUPPORT, closed_days=1)
    await send(hub, mail("Out of office", "I am away until Monday.", **automated))
    await send(
        hub, mail("A real question", "Where is my parcel?", sender="Omar <omar@customer.test>")
    )

    envelope, _reply = await relay.next()
    assert envelope.rcpt_tos == ["omar@customer.test"]  # the person, never the robot
    assert relay.received.empty()


async def test_mail_while_open_gets_no_automatic_reply(hub: Hub) -> None:
    await keep_hours(hub, "email", SUPPORT, closed_days=0)
    async with hub.sessions() as session, session.begin():
        schedule = await session.scalar(select(BusinessHours))
        assert schedule is not None
        schedule.weekly = {d: [{"opens": "00:00", "closes": "00:00"}] for d in EVERY_DAY}
    await send(hub, mail("Open question", "Are you there?"))
    conversation_id = await conversation_with(hub, "Open question")
    assert await hub.app[AFTER_HOURS].contact_queued(conversation_id, "email") is None
