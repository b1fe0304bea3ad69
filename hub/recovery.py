"""Rebuild the live queue and agent load from the database (Redis flushed, hub restarted)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from hub.db import Sessions
from hub.intake import waiting_contact
from hub.models import Conversation, Offer, QueueEntry
from hub.queue import ContactQueue


async def rebuild(sessions: Sessions, queue: ContactQueue) -> int:
    """Reset the live state to what the database says; how many contacts are waiting."""
    async with sessions() as session:
        entries = await session.scalars(
            select(QueueEntry)
            .join(Conversation, Conversation.id == QueueEntry.conversation_id)
            .where(Conversation.status == "queued")
        )
        waiting = [waiting_contact(e) for e in entries]
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
    return len(waiting)
