"""Rebuild the live queue and agent load from the database (Redis flushed, hub restarted)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Sessions
from hub.intake import waiting_contact
from hub.models import Conversation, Offer, QueueEntry
from hub.queue import ContactQueue, WaitingContact


async def rebuild(sessions: Sessions, queue: ContactQueue) -> int:
    """Reset the live state to what the database says; how many contacts are waiting."""
    async with sessions() as session:
        waiting = await _waiting(session)
        loads: dict[int, dict[str, int]] = defaultdict(dict)
        assigned = await session.execute(
            select(Conversation.agent_id, Conversation.channel, func.count())
            .where(Conversation.status == "assigned", Conversation.agent_id.is_not(None))
            .group_by(Conversation.agent_id, Conversation.channel)
        )
        offered = await session.execute(
            select(Offer.agent_id, Conversation.channel, func.count())
            .join(Conversation, Conversation.id == Offer.conversation_id)
            .where(Offer.status == "pending")
            .group_by(Offer.agent_id, Conversation.channel)
        )
        for rows in (assigned.all(), offered.all()):
            for agent_id, channel, count in rows:
                loads[agent_id][channel] = loads[agent_id].get(channel, 0) + count
    await queue.reset(waiting, dict(loads))
    # A contact stored while we read may have been pushed before the reset wiped the
    # queue: it is in the database now, so push whatever the first read missed.
    known = {c.conversation_id for c in waiting}
    async with sessions() as session:
        missed = [c for c in await _waiting(session) if c.conversation_id not in known]
    for contact in missed:
        await queue.push(contact)
    return len(waiting) + len(missed)


async def _waiting(session: AsyncSession) -> list[WaitingContact]:
    entries = await session.scalars(
        select(QueueEntry)
        .join(Conversation, Conversation.id == QueueEntry.conversation_id)
        .where(Conversation.status == "queued")
    )
    return [waiting_contact(e) for e in entries]
