"""Erasing a customer on request: nothing the hub keeps identifies them any more.

The customer's row, their conversations and messages stay (with channel, times, status,
outcome and ratings), so every report still adds up; everything else goes:

- the name, external id, details, labels and custom attribute values;
- each address becomes a random placeholder, so the old email or number no longer finds
  them (a new contact from it is a new customer) and nothing recovers it;
- every message text and subject (and with them the full-text index rows), sender, raw
  form and attachment (the stored file too, unless another message shares it); every
  conversation's subject, summary and reply address; every timeline summary and the
  personal parts of its data; survey comments and call numbers; the chat visitor records;
- merge undo records (what a merge copied between the two) and "possibly the same as"
  links that name them;
- what webhook subscribers were or are to be sent about them (the outbox keeps only the
  event type and the customer's id), and `customer.erased` goes out to them.

Customers merged into the one erased are the same person: they are erased with it. A
conversation still waiting or in an agent's hands is ended first (its queue entry and
any offer closed), so nothing live keeps the customer's contact. Erasing again is
harmless: it scrubs whatever arrived since and reports the same customer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm, outbox
from hub.anonymise import anonymise_conversations, delete_unreferenced, scrub_timeline
from hub.attachments import AttachmentStore
from hub.bus import EventBus
from hub.conversations import Conversations
from hub.db import Sessions
from hub.events import CustomerErased
from hub.models import (
    OPEN_STATUSES,
    WAITING_STATUSES,
    ChatVisitor,
    Conversation,
    Customer,
    CustomerAddress,
    CustomerAttributeValue,
    CustomerLink,
    CustomerMerge,
    Message,
    OutboxEvent,
    QueueEntry,
    TimelineEvent,
    utcnow,
)

__all__ = ["Erasure", "ErasureError", "Eraser", "placeholder"]

REASON = "customer erased"
ERASED_EVENT = "customer.erased"  # the timeline's line that says so, kept by a new erasure


class ErasureError(ValueError):
    """A customer that cannot be erased here (unknown, or merged into another)."""


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: the customers erased (the one asked for first), how many
    conversations and messages it anonymised, how many attachment files it deleted."""

    customer_ids: tuple[int, ...]
    conversations: int
    messages: int
    attachments_deleted: int
    first_time: bool


# Called inside the erasure's transaction, e.g. to append the audit line with it.
Witness = Callable[[AsyncSession, Erasure], None]


def placeholder() -> str:
    """An address that is no one's: random, so it recovers nothing and matches nothing."""
    return f"erased-{secrets.token_hex(12)}"


class Eraser:
    """Erases customers: the database first, then stored files and the live state."""

    def __init__(
        self,
        sessions: Sessions,
        conversations: Conversations,
        store: AttachmentStore,
        bus: EventBus,
    ) -> None:
        self._sessions = sessions
        self._conversations = conversations
        self._store = store
        self._bus = bus

    async def erase(self, customer_id: int, witness: Witness | None = None) -> Erasure:
        """Erase the customer (and those merged into them); see the module's docstring."""
        async with self._sessions() as session:
            ids = await customer_group(session, customer_id)
        await self._end_live(ids)
        async with self._sessions() as session, session.begin():
            done, refs = await erase_rows(session, ids)
            if witness is not None:
                witness(session, done)
        # A contact that arrived meanwhile went to the customer still: end it too.
        await self._end_live(ids)
        async with self._sessions() as session:
            deleted = await delete_unreferenced(session, self._store, refs)
        if done.first_time:
            await self._bus.publish(CustomerErased(customer_id=ids[0], customer_ids=list(ids)))
        return Erasure(ids, done.conversations, done.messages, deleted, done.first_time)

    async def _end_live(self, ids: tuple[int, ...]) -> None:
        async with self._sessions() as session:
            live = list(
                await session.execute(
                    select(Conversation.id, Conversation.status).where(
                        Conversation.customer_id.in_(ids),
                        Conversation.status.in_(OPEN_STATUSES),
                    )
                )
            )
        for conversation_id, status in live:
            if status in WAITING_STATUSES:
                await self._conversations.abandon(conversation_id, REASON)
            else:
                await self._conversations.abandon_answered(conversation_id, REASON)


async def customer_group(session: AsyncSession, customer_id: int) -> tuple[int, ...]:
    """The customer and every customer merged into them (at any depth), the customer first."""
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise ErasureError(f"no customer {customer_id}")
    if customer.merged_into_id is not None:
        raise ErasureError(
            f"customer {customer_id} is merged into customer {customer.merged_into_id}:"
            " erase that one"
        )
    group, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = list(
            await session.scalars(select(Customer.id).where(Customer.merged_into_id.in_(frontier)))
        )
        group.extend(i for i in frontier if i not in group)
    return tuple(group)


async def erase_rows(session: AsyncSession, ids: tuple[int, ...]) -> tuple[Erasure, set[str]]:
    """Anonymise everything stored on the customers `ids` (flushed, not committed);
    the attachment references their messages held."""
    customers = list(
        await session.scalars(
            select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id).with_for_update()
        )
    )
    first_time = any(c.erased_at is None for c in customers)
    conversation_ids = list(
        await session.scalars(select(Conversation.id).where(Conversation.customer_id.in_(ids)))
    )
    messages = await session.scalar(
        select(func.count(Message.id)).where(Message.conversation_id.in_(conversation_ids))
    )
    refs = await anonymise_conversations(session, conversation_ids)
    now = utcnow()
    if conversation_ids:
        await session.execute(
            update(Conversation)
            .where(Conversation.id.in_(conversation_ids), Conversation.anonymised_at.is_(None))
            .values(anonymised_at=now)
        )
    await scrub_timeline(
        session,
        and_(TimelineEvent.customer_id.in_(ids), TimelineEvent.kind != ERASED_EVENT),
    )
    await _forget_addresses(session, ids)
    await session.execute(
        delete(CustomerAttributeValue).where(CustomerAttributeValue.customer_id.in_(ids))
    )
    await session.execute(delete(QueueEntry).where(QueueEntry.customer_id.in_(ids)))
    await _scrub_merges(session, ids)
    await session.execute(
        delete(CustomerLink).where(
            or_(CustomerLink.customer_id.in_(ids), CustomerLink.other_id.in_(ids))
        )
    )
    for customer in customers:
        customer.external_id = None
    await session.flush()  # unique: free the ids before anything could reuse them
    for customer in customers:
        customer.name = ""
        customer.details = {}
        customer.labels = []
        customer.language = None
        customer.erased_at = customer.erased_at or now
    await _scrub_outbox(session, ids)
    if first_time:
        crm.record(session, customer_id=ids[0], kind=ERASED_EVENT, summary="Erased on request")
        await outbox.add(
            session, CustomerErased(customer_id=ids[0], customer_ids=list(ids)), ids[0]
        )
    await session.flush()
    done = Erasure(ids, len(conversation_ids), messages or 0, 0, first_time)
    return done, refs


async def _forget_addresses(session: AsyncSession, ids: tuple[int, ...]) -> None:
    addresses = list(
        await session.scalars(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id.in_(ids))
            .where(~CustomerAddress.address.startswith("erased-"))
        )
    )
    visitors = [a.address for a in addresses if a.channel == "chat"]
    emails = [a.address.lower() for a in addresses if a.channel == "email"]
    if visitors or emails:
        await session.execute(
            delete(ChatVisitor).where(
                or_(ChatVisitor.visitor.in_(visitors), func.lower(ChatVisitor.email).in_(emails))
            )
        )
    for address in addresses:
        address.address = placeholder()


async def _scrub_merges(session: AsyncSession, ids: tuple[int, ...]) -> None:
    """Keep which rows a merge moved (ids only); drop what it copied (names, ids, details)."""
    merges = await session.scalars(
        select(CustomerMerge).where(
            or_(CustomerMerge.survivor_id.in_(ids), CustomerMerge.merged_id.in_(ids))
        )
    )
    for merge in merges:
        merge.moved = {"rows": merge.moved.get("rows", {}), "filled": {}}


async def _scrub_outbox(session: AsyncSession, ids: tuple[int, ...]) -> None:
    """Webhook events about them keep their type, time and customer id, nothing else: a
    delivery still pending sends only that."""
    events = await session.scalars(select(OutboxEvent).where(OutboxEvent.customer_id.in_(ids)))
    for event in events:
        if event.event_type != CustomerErased.name:
            event.payload = {
                "type": event.event_type,
                "timestamp": event.payload.get("timestamp"),
                "data": {"customer_id": event.customer_id, "erased": True},
            }
