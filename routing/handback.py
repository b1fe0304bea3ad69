"""Work goes back to the queue when an agent leaves: nothing is held for an offline agent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm
from hub.bus import EventBus, make_event
from hub.db import Sessions
from hub.intake import waiting_contact
from hub.models import Agent, Conversation, Inbox, Offer, QueueEntry
from hub.queue import ContactQueue, WaitingContact
from routing.offers import OfferBook


class Handback:
    def __init__(
        self, sessions: Sessions, queue: ContactQueue, bus: EventBus, offers: OfferBook
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._bus = bus
        self._offers = offers

    async def agent_left(self, agent_id: int, why: str) -> int:
        """Set the agent offline and requeue their offers and open conversations."""
        async with self._sessions() as session, session.begin():
            agent = await session.get(Agent, agent_id)
            if agent is None:
                return 0
            agent.status = "offline"
            pending = list(
                await session.scalars(
                    select(Offer.id).where(Offer.agent_id == agent_id, Offer.status == "pending")
                )
            )
            conversations = list(
                await session.scalars(
                    select(Conversation).where(
                        Conversation.agent_id == agent_id, Conversation.status == "assigned"
                    )
                )
            )
            requeued: list[tuple[str, WaitingContact]] = []
            for conversation in conversations:
                requeued.append((conversation.channel, await _requeue(session, conversation, why)))
        await self._bus.publish(
            make_event("agent.state", agent_id=agent_id, status="offline", why=why)
        )
        withdrawn = 0
        for offer_id in pending:
            withdrawn += await self._offers.withdraw(offer_id)
        for channel, waiting in requeued:
            await self._queue.release(agent_id, channel)
            await self._queue.push(waiting)
            await self._bus.publish(
                make_event(
                    "contact.queued", conversation_id=waiting.conversation_id, channel=channel
                )
            )
        return withdrawn + len(requeued)


async def _requeue(session: AsyncSession, conversation: Conversation, why: str) -> WaitingContact:
    inbox = await session.get(Inbox, conversation.inbox_id)
    previous = conversation.agent_id
    conversation.status = "queued"
    conversation.agent_id = None
    entry = QueueEntry(
        conversation_id=conversation.id,
        channel=conversation.channel,
        required_skill=conversation.required_skill,
        priority=conversation.priority,
        enqueued_at=conversation.created_at,  # keeps its age: it has waited long enough
        declined_by=[],
        customer_id=conversation.customer_id,
        language=conversation.language,
        min_level=inbox.skill_level if inbox is not None else 1,
    )
    session.add(entry)
    crm.record(
        session,
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
        agent_id=previous,
        kind="conversation.requeued",
        summary=f"Back in the queue: {why}",
    )
    return waiting_contact(entry)
