"""What the reports read: each conversation's incoming text, from the hub's storage."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import or_, select

from hub.db import Sessions
from hub.models import Conversation, Message, Survey
from insights.progress import Progress

__all__ = ["Contact", "history_start", "load_contacts"]

TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Contact:
    """One conversation as a customer opened it: what they wrote, where, and when."""

    conversation_id: int
    customer_id: int
    channel: str
    created_at: datetime
    text: str
    disposition: str | None = None
    rating: int | None = None  # the customer's 1-5 satisfaction rating, if they gave one


async def history_start(
    sessions: Sessions, since: datetime, contacts: list[Contact]
) -> datetime | None:
    """When the hub's history begins inside a window that starts at `since`: its first
    contact, if nothing came before `since`; None when the whole window is history.

    Days before a hub's first contact are not quiet days: counted as zeros, they would
    make every topic of a new hub look like it rises from nothing."""
    if not contacts:
        return None
    earlier = (
        select(Message.id)
        .where(Message.direction == "incoming", Message.created_at < since)
        .limit(1)
    )
    async with sessions() as session:
        if (await session.execute(earlier)).first() is not None:
            return None
    return min(contact.created_at for contact in contacts)


async def load_contacts(
    sessions: Sessions,
    since: datetime,
    until: datetime | None = None,
    progress: Progress | None = None,
    agent_ids: set[int] | None = None,
) -> list[Contact]:
    """Conversations whose first customer message falls in [since, until), oldest first;
    with `agent_ids`, only those held by one of these agents or by nobody yet."""
    query = (
        select(
            Message.conversation_id,
            Message.text,
            Message.created_at,
            Conversation.channel,
            Conversation.customer_id,
            Conversation.disposition,
            Survey.rating,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(Survey, Survey.conversation_id == Conversation.id)
        .where(Message.direction == "incoming", Message.created_at >= since)
        .order_by(Message.conversation_id, Message.id)
    )
    if until is not None:
        query = query.where(Message.created_at < until)
    if agent_ids is not None:
        query = query.where(
            or_(Conversation.agent_id.in_(agent_ids), Conversation.agent_id.is_(None))
        )
    if progress:
        progress.step("reading contacts")
    # Read-only: a plain session that is never committed.
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    contacts: list[Contact] = []
    parts: list[str] = []
    for row in rows:
        if contacts and contacts[-1].conversation_id == row.conversation_id:
            if sum(map(len, parts)) < TEXT_LIMIT:
                parts.append(row.text or "")
            continue
        _finish(contacts, parts)
        parts = [row.text or ""]
        contacts.append(
            Contact(
                conversation_id=row.conversation_id,
                customer_id=row.customer_id,
                channel=row.channel,
                created_at=row.created_at,
                text="",
                disposition=row.disposition,
                rating=row.rating,
            )
        )
    _finish(contacts, parts)
    contacts.sort(key=lambda contact: contact.created_at)
    if progress:
        progress.step(f"read {len(contacts):,} contacts")
    return contacts


def _finish(contacts: list[Contact], parts: list[str]) -> None:
    if contacts and parts:
        text = "\n".join(p for p in parts if p)[:TEXT_LIMIT]
        contacts[-1] = replace(contacts[-1], text=text)
