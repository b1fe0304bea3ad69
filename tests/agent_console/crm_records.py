"""Customers with addresses and conversations written straight to the database, as
intake would have left them, for the directory and customer page tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.keys import DIRECTORY
from hub.models import Conversation, Customer, CustomerAddress, Inbox, utcnow
from tests.support import Hub


@dataclass
class Talk:
    """One conversation of a customer: on which channel, where it stands, with whom."""

    channel: str = "chat"
    status: str = "closed"
    agent_id: int | None = None
    subject: str = ""
    at: datetime = field(default_factory=utcnow)


async def add_customer(
    hub: Hub,
    name: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    segment: str = "standard",
    talks: tuple[Talk, ...] = (),
    opted_out: bool = False,
) -> int:
    """A stored customer; the identity index hears of them at once."""
    async with hub.sessions() as session, session.begin():
        customer = Customer(name=name, segment=segment, external_id=external_id)
        session.add(customer)
        await session.flush()
        if email:
            session.add(CustomerAddress(customer_id=customer.id, channel="email", address=email))
        if phone:
            for channel in ("sms", "voice"):
                session.add(
                    CustomerAddress(
                        customer_id=customer.id,
                        channel=channel,
                        address=phone,
                        opted_out_at=utcnow() if opted_out and channel == "sms" else None,
                    )
                )
        for talk in talks:
            inbox = await _inbox(session, talk.channel)
            session.add(
                Conversation(
                    customer_id=customer.id,
                    inbox_id=inbox,
                    channel=talk.channel,
                    status=talk.status,
                    agent_id=talk.agent_id,
                    subject=talk.subject,
                    created_at=talk.at,
                    updated_at=talk.at,
                    closed_at=talk.at if talk.status == "closed" else None,
                )
            )
        customer_id = customer.id
    await hub.app[DIRECTORY].refresh()
    return customer_id


async def _inbox(session: AsyncSession, channel: str) -> int:
    found = await session.scalar(select(Inbox.id).where(Inbox.channel == channel))
    if found is not None:
        return found
    inbox = Inbox(channel=channel, address=f"{channel}-inbox", name=channel)
    session.add(inbox)
    await session.flush()
    return inbox.id
