"""Past conversations brought back: reopened onto the queue, or taken over by one agent.

Reopening a closed (or abandoned) conversation puts it back in line the way a transfer
does (`routing.handback.requeue`): with its skill, level, language and routing rules, so
the router offers it under the same rules and capacities as any waiting contact.

Taking one over gives it to the asking agent (a supervisor, or the agent who held it)
at once, within their capacity, through the queue's atomic steps, so no conversation is
ever held by two agents: a past one counts against the agent's capacity as a
conversation they start does (`ContactQueue.take`); one still waiting is reserved as
the router reserves it (`ContactQueue.reserve`), which fails if the router got there
first. The database change is conditional on the status read, so a reopen and a
take-over racing each other cannot both win; the loser gives its capacity back.
"""

from __future__ import annotations

from sqlalchemy import delete, update

from hub import crm
from hub.bus import EventBus
from hub.channel_traits import ChannelRegistry
from hub.conversations import ConversationError
from hub.db import Sessions
from hub.events import ContactQueued, ConversationAssigned
from hub.models import (
    WAITING_STATUSES,
    Agent,
    Conversation,
    ConversationStatus,
    QueueEntry,
    utcnow,
)
from hub.queue import ContactQueue
from routing.handback import requeue

__all__ = ["PAST_STATUSES", "PastConversations"]

# Over: closed by an agent, or abandoned by a customer who left first.
PAST_STATUSES = (ConversationStatus.CLOSED, ConversationStatus.ABANDONED)


class PastConversations:
    def __init__(
        self, sessions: Sessions, queue: ContactQueue, bus: EventBus, channels: ChannelRegistry
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._bus = bus
        self._channels = channels

    async def reopen(self, conversation_id: int, agent_id: int) -> None:
        """Put a past conversation back in line; ConversationError if it is not past."""
        async with self._sessions() as session, session.begin():
            conversation = await session.get(Conversation, conversation_id, with_for_update=True)
            agent = await session.get(Agent, agent_id)
            if conversation is None or agent is None:
                raise ConversationError("No such conversation.", 404)
            self._check_past(conversation, "reopened")
            who = agent.display_name or agent.username
            conversation.closed_at = None
            conversation.updated_at = utcnow()
            waiting = await requeue(
                session,
                conversation,
                f"reopened by {who}",
                kind="conversation.reopened",
                by=agent_id,
            )
            channel = conversation.channel
        await self._queue.push(waiting)
        await self._bus.publish(ContactQueued(conversation_id=conversation_id, channel=channel))

    async def take_over(self, conversation_id: int, agent_id: int) -> None:
        """Make a past or still waiting conversation the agent's, within their capacity;
        ConversationError (nothing changed) when it cannot be."""
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            agent = await session.get(Agent, agent_id)
            if conversation is None or agent is None:
                raise ConversationError("No such conversation.", 404)
            status, channel = conversation.status, conversation.channel
            traits = self._channels[channel]
            if traits.exclusive:
                # A call is connected by accepting its offer (the phone rings); nothing to
                # take over once it ended.
                raise ConversationError(
                    f"A {traits.label.lower()} is answered from its offer, not taken over."
                )
            if status not in (*PAST_STATUSES, ConversationStatus.QUEUED):
                if conversation.agent_id == agent_id:
                    raise ConversationError("It is yours already.")
                raise ConversationError(
                    f"It is {status} to another agent: ask them or a supervisor to transfer it."
                )
            if status in PAST_STATUSES:
                self._check_past(conversation, "taken over")
            capacity = self._channels.capacities(agent.capacities)[channel]
            who = agent.display_name or agent.username
        await self._hold(conversation_id, agent_id, channel, capacity, waiting=status == "queued")
        try:
            async with self._sessions() as session, session.begin():
                taken = await session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id, Conversation.status == status)
                    .values(
                        status="assigned", agent_id=agent_id, closed_at=None, updated_at=utcnow()
                    )
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    raise ConversationError("It changed meanwhile: look again.")
                await session.execute(
                    delete(QueueEntry).where(QueueEntry.conversation_id == conversation_id)
                )
                crm.record(
                    session,
                    customer_id=conversation.customer_id,
                    conversation_id=conversation_id,
                    agent_id=agent_id,
                    kind="conversation.taken_over",
                    summary=f"Taken over by {who} ({'waiting' if status == 'queued' else status})",
                    was=status,
                )
        except BaseException:
            await self._queue.release(agent_id, channel)
            raise
        await self._bus.publish(
            ConversationAssigned(conversation_id=conversation_id, agent_id=agent_id)
        )

    def _check_past(self, conversation: Conversation, what: str) -> None:
        if conversation.status in WAITING_STATUSES:
            raise ConversationError("It is waiting in the queue already.")
        if conversation.status not in PAST_STATUSES:
            raise ConversationError(f"It is {conversation.status}: only a past one is {what}.")
        if conversation.anonymised_at is not None:
            # Erased or past its channel's retention: nothing is left to answer, or whom to.
            raise ConversationError(f"It was anonymised: it cannot be {what}.")
        traits = self._channels[conversation.channel]
        if traits.exclusive:
            raise ConversationError(
                f"A {traits.label.lower()} that ended cannot be {what}: "
                "write to the customer from their page instead."
            )

    async def _hold(
        self, conversation_id: int, agent_id: int, channel: str, capacity: int, *, waiting: bool
    ) -> None:
        """Count the conversation against the agent, atomically, or refuse."""
        load = await self._queue.load(agent_id)
        busy = [c for c in self._channels.exclusive() if load.get(c) and c != channel]
        if busy:
            raise ConversationError(
                f"You are on {self._channels[busy[0]].label.lower()}: finish it first."
            )
        label = self._channels[channel].label
        full = ConversationError(
            f"You already hold {capacity} {label} conversations, your capacity: "
            "close one before taking another."
        )
        if not waiting:
            if not await self._queue.take(agent_id, channel, capacity):
                raise full
            return
        if not await self._queue.reserve(conversation_id, agent_id, channel, capacity):
            if load.get(channel, 0) >= capacity:
                raise full
            raise ConversationError("Someone was offered it meanwhile: look again.")
