"""Work goes back to the queue when an agent leaves: nothing is held for an offline agent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm, outbox
from hub.bus import EventBus
from hub.channel_traits import ChannelRegistry
from hub.db import Sessions
from hub.events import AgentState, ContactQueued
from hub.intake import waiting_contact
from hub.models import Agent, Conversation, Inbox, Offer, QueueEntry, utcnow
from hub.queue import ContactQueue, WaitingContact
from routing.offers import OfferBook


class TransferError(Exception):
    """A transfer that cannot happen; the message tells the agent why."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class Handback:
    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        bus: EventBus,
        offers: OfferBook,
        channels: ChannelRegistry,
    ) -> None:
        self._channels = channels
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
            requeued: list[tuple[str, WaitingContact, ContactQueued]] = []
            for conversation in conversations:
                waiting = await requeue(session, conversation, why)
                queued = ContactQueued(
                    conversation_id=conversation.id, channel=conversation.channel
                )
                await outbox.add(session, queued, conversation.customer_id)
                requeued.append((conversation.channel, waiting, queued))
        await self._bus.publish(AgentState(agent_id=agent_id, status="offline", why=why))
        withdrawn = 0
        for offer_id in pending:
            withdrawn += await self._offers.withdraw(offer_id)
        for channel, waiting, queued in requeued:
            await self._queue.release(agent_id, channel)
            await self._queue.push(waiting)
            await self._bus.publish(queued)
        return withdrawn + len(requeued)

    async def transfer(
        self,
        conversation_id: int,
        from_agent_id: int,
        *,
        to_agent_id: int | None = None,
        to_skill: str | None = None,
    ) -> str:
        """Hand a conversation, with its whole history, to an agent or a skill queue.

        Returns "offered" (the agent has it on offer now) or "queued".
        """
        async with self._sessions() as session, session.begin():
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.agent_id != from_agent_id:
                raise TransferError("No such conversation assigned to you.", 404)
            if conversation.status != "assigned":
                raise TransferError(f"The conversation is {conversation.status}.")
            target = await session.get(Agent, to_agent_id) if to_agent_id is not None else None
            if to_agent_id is not None and (target is None or to_agent_id == from_agent_id):
                raise TransferError("Choose another agent.", 400)
            if target is not None and target.status != "available":
                raise TransferError(f"{target.display_name or target.username} is {target.status}.")
            if to_skill:
                conversation.required_skill = to_skill[:64]
            where = (
                (target.display_name or target.username)
                if target
                else f"queue {to_skill or 'general'}"
            )
            waiting = await requeue(
                session, conversation, f"transferred to {where}", declined=(from_agent_id,)
            )
            capacity = (
                self._channels.capacities(target.capacities)[conversation.channel] if target else 0
            )
            channel = conversation.channel
        await self._queue.release(from_agent_id, channel)
        await self._queue.push(waiting)
        if (
            target is not None
            and await self._queue.reserve(conversation_id, target.id, channel, capacity)
            and await self._offers.create(
                waiting, target.id, {"reason": "transfer", "from_agent_id": from_agent_id}
            )
        ):
            return "offered"
        await self._bus.publish(ContactQueued(conversation_id=conversation_id, channel=channel))
        return "queued"


async def requeue(
    session: AsyncSession,
    conversation: Conversation,
    why: str,
    declined: tuple[int, ...] = (),
    *,
    kind: str = "conversation.requeued",
    by: int | None = None,
) -> WaitingContact:
    """Put the conversation back in line (in the session; the caller pushes the returned
    contact to the live queue after commit), on the timeline as `kind` by `by` (None:
    the agent who held it)."""
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
        entered_at=utcnow(),  # but a queue's time limit starts again
        declined_by=list(declined),
        declined_at=utcnow() if declined else None,
        customer_id=conversation.customer_id,
        language=conversation.language,
        # Older conversations did not keep their level (1): their inbox's still applies.
        min_level=conversation.min_level
        if conversation.min_level > 1 or inbox is None
        else inbox.skill_level,
        rules=list(conversation.routing_rules or ()),
    )
    session.add(entry)
    crm.record(
        session,
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
        agent_id=previous if by is None else by,
        kind=kind,
        summary=f"Back in the queue: {why}",
    )
    return waiting_contact(entry)
