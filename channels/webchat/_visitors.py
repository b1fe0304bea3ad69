"""What the hub keeps about web chat visitors: the details they gave, which conversations
are theirs and what they have read.

A visitor is one widget token. Typing an email links the visitor to the customer who
already has that address, so the customer's timeline stays one; everything a visitor is
shown, though, comes from their own chats, never from the rest of that record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeGuard

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub import crm
from hub.customer_label import CHAT_SITE
from hub.db import Sessions
from hub.models import (
    OPEN_STATUSES,
    ChatVisitor,
    Conversation,
    Customer,
    CustomerAddress,
    Inbox,
    Message,
    utcnow,
)

CHANNEL = "chat"
EMAIL = "email"
PRECHAT_FIELDS = ("name", "email")
UNREAD_REPLY = ("queued", "sent", "delivered")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"[^\s@<>()\[\],;:\"\\]{{1,64}}@{_LABEL}(?:\.{_LABEL})*\.[a-z]{{2,63}}")


def prechat_fields(setting: str) -> tuple[str, ...]:
    """The fields SWITCHBOARD_CHAT_PRECHAT names ("off", "email", "name,email"), in order."""
    wanted = [part.strip().lower() for part in setting.split(",") if part.strip()]
    if wanted in ([], ["off"]):
        return ()
    unknown = [part for part in wanted if part not in PRECHAT_FIELDS]
    if unknown:
        raise ValueError(
            f"SWITCHBOARD_CHAT_PRECHAT: {', '.join(unknown)} is not one of off, name, email"
        )
    return tuple(field for field in PRECHAT_FIELDS if field in wanted)


def is_row_id(value: object) -> TypeGuard[int]:
    """Whether a value from a client can be a message's id (a positive 32-bit integer)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def normal_email(text: str) -> str | None:
    """The address lowercased if it looks deliverable (one @, a dotted domain); else None."""
    address = text.strip().lower()
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        return None
    return address


@dataclass(frozen=True)
class Details:
    """What one visitor told us about themselves."""

    name: str = ""
    email: str | None = None


async def details(sessions: Sessions, visitor: str) -> Details | None:
    """The details this visitor gave, or None if they gave none."""
    async with sessions() as session:
        row = await session.get(ChatVisitor, visitor)
        return None if row is None else Details(row.name, row.email)


async def has_written(sessions: Sessions, visitor: str) -> bool:
    async with sessions() as session:
        found = await session.scalar(
            select(Message.id)
            .where(
                Message.channel == CHANNEL,
                Message.sender == visitor,
                Message.direction == "incoming",
            )
            .limit(1)
        )
    return found is not None


async def give_details(sessions: Sessions, visitor: str, given: Details) -> Details:
    """Keep what the visitor gave and put it on the customer record; what is now known.

    A known email links the visitor to that customer; otherwise the visitor's customer
    (new if they have not written yet) gets the email as an address.
    """
    for _attempt in range(3):
        try:
            async with sessions() as session, session.begin():
                return await _store_details(session, visitor, given)
        except IntegrityError:
            continue  # the same visitor in two tabs, or a new address raced in: again
    raise RuntimeError(f"could not store the details of chat visitor {visitor}")


async def note_site(sessions: Sessions, customer_id: int, site: str) -> None:
    """Keep the site a nameless customer first chatted from, for agents to know them by."""
    async with sessions() as session, session.begin():
        customer = await session.get(Customer, customer_id)
        if customer is not None and not customer.name and CHAT_SITE not in customer.details:
            customer.details = {**customer.details, CHAT_SITE: site}


async def _store_details(session: AsyncSession, visitor: str, given: Details) -> Details:
    row = await session.get(ChatVisitor, visitor)
    if row is None:
        row = ChatVisitor(visitor=visitor, name="", email=None)
        session.add(row)
    row.name = given.name or row.name
    row.email = given.email or row.email
    row.updated_at = utcnow()
    chat_address = await _address(session, CHANNEL, visitor)
    email_address = await _address(session, EMAIL, given.email) if given.email else None
    if chat_address is not None:
        customer_id = chat_address.customer_id
    elif email_address is not None:
        customer_id = email_address.customer_id
        session.add(CustomerAddress(customer_id=customer_id, channel=CHANNEL, address=visitor))
    else:
        customer = Customer(name=given.name)
        session.add(customer)
        await session.flush()
        customer_id = customer.id
        session.add(CustomerAddress(customer_id=customer_id, channel=CHANNEL, address=visitor))
        crm.record(
            session,
            customer_id=customer_id,
            kind="customer.created",
            summary="First contact on chat",
            channel=CHANNEL,
        )
    if given.email and email_address is None:
        session.add(CustomerAddress(customer_id=customer_id, channel=EMAIL, address=given.email))
    record = await session.get(Customer, customer_id)
    assert record is not None
    if given.name and not record.name:
        record.name = given.name
    elsewhere = email_address is not None and email_address.customer_id != customer_id
    crm.record(
        session,
        customer_id=customer_id,
        kind="chat.details",
        summary=_details_summary(given, elsewhere),
        channel=CHANNEL,
        email=given.email,
        name=given.name,
    )
    await session.flush()
    return Details(row.name, row.email)


def _details_summary(given: Details, elsewhere: bool) -> str:
    told = " and ".join(
        part for part in (given.name and f"name {given.name}", given.email and given.email) if part
    )
    summary = f"Gave {told} in the web chat"
    if elsewhere:
        summary += " (that email is on another customer's record)"
    return summary


async def _address(session: AsyncSession, channel: str, address: str) -> CustomerAddress | None:
    found: CustomerAddress | None = await session.scalar(
        select(CustomerAddress).where(
            CustomerAddress.channel == channel, CustomerAddress.address == address
        )
    )
    return found


def visitors_conversation(visitor: str) -> ColumnElement[bool]:
    """Conversations this visitor wrote in (not the customer's other chats)."""
    theirs = aliased(Message)
    return exists().where(
        theirs.conversation_id == Conversation.id,
        theirs.channel == CHANNEL,
        theirs.sender == visitor,
        theirs.direction == "incoming",
    )


async def open_conversation(sessions: Sessions, visitor: str) -> Conversation | None:
    """The visitor's newest open chat conversation."""
    async with sessions() as session:
        return await newest_conversation(session, visitor, open_only=True)


async def newest_conversation(
    session: AsyncSession, visitor: str, *, open_only: bool = False
) -> Conversation | None:
    """The visitor's newest chat conversation (open or not, unless `open_only`)."""
    query = (
        select(Conversation)
        .join(CustomerAddress, CustomerAddress.customer_id == Conversation.customer_id)
        .where(
            CustomerAddress.channel == CHANNEL,
            CustomerAddress.address == visitor,
            Conversation.channel == CHANNEL,
            visitors_conversation(visitor),
        )
    )
    if open_only:
        query = query.where(Conversation.status.in_(OPEN_STATUSES))
    found: Conversation | None = await session.scalar(
        query.order_by(Conversation.id.desc()).limit(1)
    )
    return found


async def can_email(sessions: Sessions) -> bool:
    """Whether an email inbox is configured for replies by email to leave from."""
    async with sessions() as session:
        inbox = await session.scalar(select(Inbox.id).where(Inbox.channel == EMAIL).limit(1))
    return inbox is not None


async def reply_by_email(sessions: Sessions, conversation_id: int, email: str) -> bool:
    """Send the conversation's replies to this email from now on, unless already routed
    or no email inbox is configured to send them from."""
    if not await can_email(sessions):
        return False
    async with sessions() as session, session.begin():
        moved = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.reply_channel.is_(None))
            .values(reply_channel=EMAIL, reply_address=email)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            return False
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        crm.record(
            session,
            customer_id=conversation.customer_id,
            conversation_id=conversation_id,
            kind="conversation.by_email",
            summary=f"Nobody was online: replies go by email to {email}",
            channel=EMAIL,
            address=email,
        )
        return True


async def replies_by_email(sessions: Sessions, conversation_id: int) -> bool:
    async with sessions() as session:
        channel = await session.scalar(
            select(Conversation.reply_channel).where(Conversation.id == conversation_id)
        )
    return channel == EMAIL


@dataclass(frozen=True)
class Seen:
    """Agent replies a visitor has now read: up to `message_id` in one conversation."""

    conversation_id: int
    message_id: int
    agent_id: int | None


async def mark_read(sessions: Sessions, visitor: str, message_id: int) -> Seen | None:
    """Mark agent replies up to `message_id` read, if that message is one sent to this
    visitor; None if it is not theirs or nothing was unread."""
    async with sessions() as session, session.begin():
        conversation = await session.scalar(
            select(Conversation)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(
                Message.id == message_id,
                Message.direction == "outgoing",
                Conversation.channel == CHANNEL,
                visitors_conversation(visitor),
            )
        )
        if conversation is None:
            return None
        moved = await session.execute(
            update(Message)
            .where(
                Message.conversation_id == conversation.id,
                Message.direction == "outgoing",
                Message.id <= message_id,
                Message.delivery_status.in_(UNREAD_REPLY),
            )
            .values(delivery_status="read")
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            return None
        return Seen(conversation.id, message_id, conversation.agent_id)
