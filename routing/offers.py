"""Offers: a waiting contact proposed to one agent, who accepts, rejects or lets it expire."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm, outbox
from hub.bus import EventBus
from hub.db import Sessions
from hub.events import (
    AgentState,
    ContactQueued,
    ConversationAssigned,
    OfferCreated,
    OfferEnded,
    OfferExpired,
    OfferRejected,
    OfferWithdrawn,
)
from hub.intake import waiting_contact
from hub.metrics import Metrics
from hub.models import Agent, Conversation, Offer, QueueEntry, utcnow
from hub.queue import ContactQueue, WaitingContact

log = logging.getLogger(__name__)
# What each way an offer ends announces.
_ENDED: dict[str, type[OfferEnded]] = {
    "expired": OfferExpired,
    "rejected": OfferRejected,
    "withdrawn": OfferWithdrawn,
}


@dataclass(frozen=True)
class OfferView:
    offer_id: int
    conversation_id: int
    agent_id: int
    expires_at: str


class OfferBook:
    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        bus: EventBus,
        metrics: Metrics,
        timeout: float,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._bus = bus
        self._metrics = metrics
        self._timeout = timeout

    async def create(
        self, contact: WaitingContact, agent_id: int, explanation: dict[str, Any] | None = None
    ) -> OfferView | None:
        """Record an offer for a contact already reserved for this agent, and tell them.

        None when the contact stopped waiting meanwhile (the customer left): the agent's
        reserved capacity is given back.
        """
        view = await self._record(contact, agent_id, explanation)
        if view is None:
            await self._queue.release(agent_id, contact.channel)
            return None
        self._metrics.inc("switchboard_offers_total")
        try:
            await self._bus.publish(
                OfferCreated(
                    offer_id=view.offer_id,
                    conversation_id=view.conversation_id,
                    agent_id=agent_id,
                    expires_at=view.expires_at,
                    channel=contact.channel,
                )
            )
        except Exception:
            # The offer stands (the console lists it on its next read, or it expires):
            # a failure here must not make the router give back what it offered.
            log.warning("offer %s made but not announced", view.offer_id, exc_info=True)
        return view

    async def _record(
        self, contact: WaitingContact, agent_id: int, explanation: dict[str, Any] | None
    ) -> OfferView | None:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            # Conditional, so a customer who left meanwhile (see Conversations.abandon)
            # is never offered, whichever transaction commits first.
            claimed = await session.execute(
                update(Conversation)
                .where(Conversation.id == contact.conversation_id, Conversation.status == "queued")
                .values(status="offered")
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            conversation = await _conversation(session, contact.conversation_id)
            offer = Offer(
                conversation_id=contact.conversation_id,
                agent_id=agent_id,
                created_at=now,
                expires_at=now + timedelta(seconds=self._timeout),
            )
            session.add(offer)
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation.id,
                agent_id=agent_id,
                kind="offer.created",
                summary=(explanation or {}).get("reason", "Offered"),
                routing=explanation or {},
            )
            await session.flush()
            return OfferView(
                offer.id, contact.conversation_id, agent_id, offer.expires_at.isoformat()
            )

    async def accept(self, offer_id: int, agent_id: int) -> int | None:
        """Take the conversation; its id, or None if the offer is gone or not this agent's."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            claimed = await session.execute(
                update(Offer)
                .where(
                    Offer.id == offer_id,
                    Offer.agent_id == agent_id,
                    Offer.status == "pending",
                    Offer.expires_at > now,
                )
                .values(status="accepted", decided_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            offer = await session.get(Offer, offer_id)
            assert offer is not None
            conversation = await _conversation(session, offer.conversation_id)
            conversation.status = "assigned"
            conversation.agent_id = agent_id
            await session.execute(
                delete(QueueEntry).where(QueueEntry.conversation_id == conversation.id)
            )
            agent = await session.get(Agent, agent_id)
            assert agent is not None
            agent.last_assigned_at = now
            agent.missed_offers = 0
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation.id,
                agent_id=agent_id,
                kind="conversation.assigned",
                summary=f"Taken by {agent.display_name or agent.username}",
            )
            assigned = ConversationAssigned(
                conversation_id=conversation.id, agent_id=agent_id, offer_id=offer_id
            )
            await outbox.add(session, assigned, conversation.customer_id)
        self._metrics.inc("switchboard_offers_accepted_total")
        await self._bus.publish(assigned)
        return conversation.id

    async def reject(self, offer_id: int, agent_id: int) -> bool:
        """Decline an offer; the contact goes back in line, never to this agent again."""
        return await self._end(offer_id, "rejected", agent_id)

    async def withdraw(self, offer_id: int) -> bool:
        """Take back a pending offer (the agent left); the contact goes back in line."""
        return await self._end(offer_id, "withdrawn")

    async def expire_due(self, max_missed: int = 0) -> int:
        """Expire every pending offer past its deadline; how many this process expired.

        An agent who lets `max_missed` offers in a row expire is set away (0: never).
        """
        async with self._sessions() as session:
            due = list(
                await session.scalars(
                    select(Offer.id).where(Offer.status == "pending", Offer.expires_at <= utcnow())
                )
            )
        expired = 0
        for offer_id in due:
            expired += await self._end(offer_id, "expired", max_missed=max_missed)
        return expired

    async def pending_for(self, agent_id: int) -> list[OfferView]:
        async with self._sessions() as session:
            offers = await session.scalars(
                select(Offer).where(
                    Offer.agent_id == agent_id,
                    Offer.status == "pending",
                    Offer.expires_at > utcnow(),
                )
            )
            return [
                OfferView(o.id, o.conversation_id, o.agent_id, o.expires_at.isoformat())
                for o in offers
            ]

    async def _end(
        self, offer_id: int, status: str, agent_id: int | None = None, max_missed: int = 0
    ) -> bool:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            query = update(Offer).where(Offer.id == offer_id, Offer.status == "pending")
            if agent_id is not None:
                query = query.where(Offer.agent_id == agent_id)
            ended = await session.execute(query.values(status=status, decided_at=now))
            if ended.rowcount != 1:  # type: ignore[attr-defined]
                return False  # another process (or the agent) got there first
            offer = await session.get(Offer, offer_id)
            assert offer is not None
            conversation = await _conversation(session, offer.conversation_id)
            conversation.status = "queued"
            entry = await session.get(QueueEntry, conversation.id)
            assert entry is not None
            entry.declined_by = sorted({*entry.declined_by, offer.agent_id})
            entry.declined_at = now
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation.id,
                agent_id=offer.agent_id,
                kind=f"offer.{status}",
                summary=f"Offer {status}",
            )
            waiting = waiting_contact(entry)
            channel = conversation.channel
            set_away = status == "expired" and await _missed(session, offer.agent_id, max_missed)
            requeued = ContactQueued(conversation_id=conversation.id, channel=channel)
            await outbox.add(session, requeued, conversation.customer_id)
        await self._queue.release(offer.agent_id, channel)
        await self._queue.push(waiting)
        self._metrics.inc(f"switchboard_offers_{status}_total")
        await self._bus.publish(
            _ENDED[status](
                offer_id=offer_id,
                conversation_id=conversation.id,
                agent_id=offer.agent_id,
            )
        )
        await self._bus.publish(requeued)
        if set_away:
            await self._bus.publish(
                AgentState(agent_id=offer.agent_id, status="away", why="missed offers")
            )
        return True


async def _missed(session: AsyncSession, agent_id: int, max_missed: int) -> bool:
    """Count a missed offer; True when that sets the agent away."""
    agent = await session.get(Agent, agent_id)
    if agent is None:
        return False
    agent.missed_offers = (agent.missed_offers or 0) + 1
    if max_missed and agent.missed_offers >= max_missed and agent.status == "available":
        agent.status, agent.away_reason = "away", None
        log.info("agent %s set away after %d missed offers", agent_id, agent.missed_offers)
        return True
    return False


async def _conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise LookupError(f"conversation {conversation_id} vanished")
    return conversation
