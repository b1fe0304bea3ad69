"""Conversations an agent starts: a new email or text to a customer, from their record.

The agent writes to one of the customer's addresses from one of the hub's inboxes. The
address's consent is checked before anything is stored or sent; the new conversation is
the agent's at once and counts against their capacity through the same atomic step as a
routed contact (`ContactQueue.take`), so a full agent starts nothing. The first message
then goes out as any reply does (`Conversations.reply`), and the customer's answer threads
back into it: email by Message-ID and the signed Reply-To, a text by the number and inbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm
from hub.bus import EventBus
from hub.channel_traits import ChannelRegistry
from hub.conversations import ConversationError, Conversations, Sent, no_copies
from hub.db import Sessions
from hub.events import ConversationAssigned
from hub.models import Agent, Conversation, Customer, CustomerAddress, Inbox, utcnow
from hub.queue import ContactQueue

__all__ = ["NewConversation", "Outreach"]

MAX_SUBJECT = 300


@dataclass(frozen=True)
class NewConversation:
    """What the agent asked for: to whom, on which channel, from which inbox, and what."""

    customer_id: int
    channel: str
    address: str
    inbox_id: int
    text: str
    subject: str = ""
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()


@dataclass(frozen=True)
class Started:
    conversation_id: int
    sent: Sent


class Outreach:
    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        bus: EventBus,
        channels: ChannelRegistry,
        conversations: Conversations,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._bus = bus
        self._channels = channels
        self._conversations = conversations

    async def start(self, agent_id: int, new: NewConversation) -> Started:
        """Open the conversation as the agent's and send its first message; refused with a
        ConversationError (nothing stored, nothing sent) when it cannot be."""
        text, subject = new.text.strip(), " ".join(new.subject.split())[:MAX_SUBJECT]
        if not text:
            raise ConversationError("The message is empty.", 400)
        async with self._sessions() as session:
            agent, inbox, language = await self._check(session, agent_id, new, subject)
            capacity = self._channels.capacities(agent.capacities)[new.channel]
        await self._hold_capacity(agent_id, new.channel, capacity)
        try:
            conversation_id = await self._open(agent, inbox, new, subject or text, language)
        except BaseException:
            await self._queue.release(agent_id, new.channel)
            raise
        await self._bus.publish(
            ConversationAssigned(conversation_id=conversation_id, agent_id=agent_id)
        )
        sent = await self._conversations.reply(
            agent_id, conversation_id, text, cc=new.cc, bcc=new.bcc
        )
        return Started(conversation_id, sent)

    async def _check(
        self, session: AsyncSession, agent_id: int, new: NewConversation, subject: str
    ) -> tuple[Agent, Inbox, str]:
        if new.channel not in self._channels.started_by_agents():
            started = " or ".join(self._channels.started_by_agents()) or "no channel"
            raise ConversationError(f"Agents start conversations by {started} only.", 400)
        traits = self._channels[new.channel]
        if (new.cc or new.bcc) and not traits.copies:
            raise ConversationError(no_copies(traits), 400)
        if traits.threaded and not subject:
            raise ConversationError(f"A new {traits.label} needs a subject.", 400)
        agent = await session.get(Agent, agent_id)
        customer = await session.get(Customer, new.customer_id)
        if agent is None or customer is None or customer.merged_into_id is not None:
            raise ConversationError("No such customer.", 404)
        address = await session.scalar(
            select(CustomerAddress).where(
                CustomerAddress.customer_id == customer.id,
                CustomerAddress.address == new.address,
                CustomerAddress.channel.in_(
                    [t.name for t in self._channels if t.replies_on == new.channel]
                ),
            )
        )
        if address is None:
            raise ConversationError(
                f"{new.address} is not one of this customer's {traits.label} addresses.", 400
            )
        own = await session.scalar(
            select(CustomerAddress).where(
                CustomerAddress.channel == new.channel, CustomerAddress.address == new.address
            )
        )
        if own is not None and traits.opts_out and own.opted_out_at is not None:
            raise ConversationError(traits.opted_out_refusal.format(address=new.address))
        if own is not None and own.customer_id != customer.id:
            # Their answer would land on that customer's record, not this one.
            raise ConversationError(
                f"{new.address} is another customer's {traits.label} address "
                f"(customer {own.customer_id}): merge the two first."
            )
        inbox = await session.get(Inbox, new.inbox_id)
        if inbox is None or inbox.channel != new.channel:
            raise ConversationError(f"Choose one of the hub's {traits.label} inboxes.", 400)
        return agent, inbox, (customer.language or inbox.language)[:8]

    async def _hold_capacity(self, agent_id: int, channel: str, capacity: int) -> None:
        # An agent on an exclusive channel (a call) holds nothing else, as routing has it.
        load = await self._queue.load(agent_id)
        busy = [c for c in self._channels.exclusive() if load.get(c) and c != channel]
        if busy:
            raise ConversationError(
                f"You are on {self._channels[busy[0]].label.lower()}: finish it first."
            )
        if not await self._queue.take(agent_id, channel, capacity):
            label = self._channels[channel].label
            raise ConversationError(
                f"You already hold {capacity} {label} conversations, your capacity: "
                "close one before starting another."
            )

    async def _open(
        self, agent: Agent, inbox: Inbox, new: NewConversation, subject: str, language: str
    ) -> int:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            conversation = Conversation(
                customer_id=new.customer_id,
                inbox_id=inbox.id,
                channel=new.channel,
                status="assigned",
                agent_id=agent.id,
                language=language,
                subject=subject[:MAX_SUBJECT],
                # Where its messages go until the customer answers from elsewhere.
                reply_address=new.address,
                created_at=now,
                updated_at=now,
            )
            session.add(conversation)
            # A number that only called us is now texted: its answer is theirs, by address.
            if (
                await session.scalar(
                    select(CustomerAddress.id).where(
                        CustomerAddress.channel == new.channel,
                        CustomerAddress.address == new.address,
                    )
                )
                is None
            ):
                session.add(
                    CustomerAddress(
                        customer_id=new.customer_id, channel=new.channel, address=new.address
                    )
                )
            await session.flush()
            crm.record(
                session,
                customer_id=new.customer_id,
                conversation_id=conversation.id,
                agent_id=agent.id,
                kind="conversation.started",
                summary=f"Started by {agent.display_name or agent.username}: {subject}",
                channel=new.channel,
                address=new.address,
            )
            return conversation.id
