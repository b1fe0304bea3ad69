"""Queue limits: how many may wait in a queue, for how long, and where the rest go.

Every routing pass, before matching, the router asks `QueueLimits.enforce` to look at
the live queue. Per queue (a skill, or "general"; optionally one channel only):

- more than `max_waiting` waiting: the latest arrivals beyond the limit overflow to
  `overflow_queue`; with nowhere to go they are rejected: stored, on the timeline,
  the conversation `rejected`, and the customer told so where the channel can say it;
- waiting longer than `max_wait_seconds` in this queue: overflow, keeping the contact's
  age for priority; with nowhere to go the conversation is `abandoned`.

An overflow target that is itself full passes the contact on to its own target; a
contact never overflows back into a queue it came from. Every move is logged
(`queue limit {...}`) and written on the customer's timeline with its reason.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm, outbox
from hub.bus import EventBus
from hub.conversations import Conversations
from hub.db import Sessions
from hub.events import ContactQueued, ConversationRejected
from hub.intake import waiting_contact
from hub.models import Conversation, QueueEntry, RoutingQueue, utcnow
from hub.queue import GENERAL_QUEUE, ContactQueue, WaitingContact

__all__ = ["Limit", "QueueLimits", "load_limits", "set_limit"]

log = logging.getLogger(__name__)
QUEUE_FULL = (
    "Sorry, all our agents are busy and the queue is full. We have kept your message,"
    " but nobody will answer it from this queue: please contact us again a little later."
)
TOO_LONG = (
    "Sorry, nobody could answer you in time. We have kept your message: please contact"
    " us again a little later."
)
Why = Literal["full", "timeout"]


@dataclass(frozen=True)
class Limit:
    """One queue's limits; `channel` None applies to every channel of the queue."""

    name: str
    channel: str | None = None
    max_waiting: int | None = None
    max_wait_seconds: int | None = None
    overflow_queue: str | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, self.channel)


async def load_limits(session: AsyncSession) -> dict[tuple[str, str | None], Limit]:
    rows = await session.scalars(select(RoutingQueue))
    return {
        (r.name, r.channel): Limit(
            r.name, r.channel, r.max_waiting, r.max_wait_seconds, r.overflow_queue
        )
        for r in rows
    }


async def set_limit(session: AsyncSession, limit: Limit) -> None:
    """Create or replace one queue's limits."""
    query = select(RoutingQueue).where(RoutingQueue.name == limit.name)
    query = query.where(
        RoutingQueue.channel.is_(None)
        if limit.channel is None
        else RoutingQueue.channel == limit.channel
    )
    row = await session.scalar(query)
    if row is None:
        row = RoutingQueue(name=limit.name, channel=limit.channel)
        session.add(row)
    row.max_waiting = limit.max_waiting
    row.max_wait_seconds = limit.max_wait_seconds
    row.overflow_queue = limit.overflow_queue
    await session.flush()


class QueueLimits:
    """Applies every queue's limits to the live queue, one routing pass at a time."""

    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        bus: EventBus,
        conversations: Conversations,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._bus = bus
        self._conversations = conversations

    async def enforce(self, waiting: list[WaitingContact], now: float) -> int:
        """Move, reject or abandon what breaks a limit; how many contacts it moved."""
        if not waiting:
            return 0
        async with self._sessions() as session:
            limits = await load_limits(session)
        if not limits:
            return 0
        over = _over_limits(waiting, limits, now)
        counts = Counter(_bucket(c.queue, c.channel, limits) for c in waiting)
        moved = 0
        for contact, limit, why in over:
            counts[limit.key] -= 1
            moved += await self._move(contact, limit, why, limits, counts, now)
        return moved

    async def _move(
        self,
        contact: WaitingContact,
        limit: Limit,
        why: Why,
        limits: dict[tuple[str, str | None], Limit],
        counts: Counter[tuple[str, str | None]],
        now: float,
    ) -> int:
        if not await self._queue.remove(contact.conversation_id):
            return 0  # offered meanwhile, or another hub process got here first
        moved: WaitingContact | None = None
        async with self._sessions() as session, session.begin():
            entry = await session.get(QueueEntry, contact.conversation_id)
            conversation = await session.get(Conversation, contact.conversation_id)
            if entry is None or conversation is None or conversation.status != "queued":
                return 0
            if waiting_contact(entry).queued_since != contact.queued_since:
                # Another hub process moved it since our look at the queue: put it back
                # as it is now, and let the next pass judge it there.
                fresh = waiting_contact(entry)
                await self._queue.push(fresh)
                return 0
            target = _target(contact, limit, limits, counts, tuple(entry.overflowed_from or ()))
            event = _describe(contact, limit, why, target, now)
            if target is not None:
                _overflow(session, entry, conversation, target, event)
                counts[_bucket(target, contact.channel, limits)] += 1
                moved = waiting_contact(entry)
                requeued = ContactQueued(
                    conversation_id=contact.conversation_id, channel=contact.channel, queue=target
                )
                await outbox.add(session, requeued, conversation.customer_id)
            elif why == "full":
                await _reject(session, conversation, event)
                rejected = ConversationRejected(
                    conversation_id=contact.conversation_id,
                    channel=contact.channel,
                    queue=limit.name,
                )
                await outbox.add(session, rejected, conversation.customer_id)
        log.info("queue limit %s", json.dumps(event))
        if moved is not None:
            await self._queue.push(moved)
            await self._bus.publish(requeued)
        elif why == "full":
            await self._bus.publish(rejected)
            await self._conversations.notify(contact.conversation_id, QUEUE_FULL)
        else:
            reason = (
                f"waited over {limit.max_wait_seconds} s in queue {limit.name},"
                " with nowhere to overflow"
            )
            if not await self._conversations.abandon(contact.conversation_id, reason):
                return 0
            await self._conversations.notify(contact.conversation_id, TOO_LONG)
        return 1


def _bucket(
    queue: str, channel: str, limits: dict[tuple[str, str | None], Limit]
) -> tuple[str, str | None]:
    """Which limit counts a contact: the queue's own for its channel, else for all."""
    return (queue, channel) if (queue, channel) in limits else (queue, None)


def _over_limits(
    waiting: list[WaitingContact], limits: dict[tuple[str, str | None], Limit], now: float
) -> list[tuple[WaitingContact, Limit, Why]]:
    """Contacts past their queue's time limit, then the latest arrivals past its length."""
    found: list[tuple[WaitingContact, Limit, Why]] = []
    staying: dict[tuple[str, str | None], list[WaitingContact]] = {}
    for contact in waiting:
        limit = limits.get(_bucket(contact.queue, contact.channel, limits))
        if limit is None:
            continue
        if limit.max_wait_seconds is not None and (
            now - contact.queued_since >= limit.max_wait_seconds
        ):
            found.append((contact, limit, "timeout"))
        else:
            staying.setdefault(limit.key, []).append(contact)
    for key, contacts in staying.items():
        cap = limits[key].max_waiting
        if cap is not None and len(contacts) > cap:
            contacts.sort(key=lambda c: (c.queued_since, c.conversation_id))
            found += [(c, limits[key], "full") for c in contacts[cap:]]
    return found


def _target(
    contact: WaitingContact,
    limit: Limit,
    limits: dict[tuple[str, str | None], Limit],
    counts: Counter[tuple[str, str | None]],
    came_from: tuple[str, ...],
) -> str | None:
    """The first queue along the overflow chain with room, never one it came from."""
    seen = {contact.queue, *came_from}
    target = limit.overflow_queue
    while target and target not in seen:
        bucket = _bucket(target, contact.channel, limits)
        next_limit = limits.get(bucket)
        if next_limit is None or next_limit.max_waiting is None:
            return target
        if counts[bucket] < next_limit.max_waiting:
            return target
        seen.add(target)
        target = next_limit.overflow_queue
    return None


def _describe(
    contact: WaitingContact, limit: Limit, why: Why, target: str | None, now: float
) -> dict[str, Any]:
    return {
        "conversation_id": contact.conversation_id,
        "queue": limit.name,
        "channel": contact.channel,
        "limit": (
            {"max_waiting": limit.max_waiting}
            if why == "full"
            else {"max_wait_seconds": limit.max_wait_seconds}
        ),
        "why": "queue full" if why == "full" else "waited too long",
        "waited_in_queue": round(now - contact.queued_since, 1),
        "waited": round(now - contact.enqueued_at, 1),
        "outcome": (
            f"overflow to {target}" if target else ("rejected" if why == "full" else "abandoned")
        ),
    }


async def _reject(session: AsyncSession, conversation: Conversation, event: dict[str, Any]) -> None:
    now = utcnow()
    conversation.status = "rejected"
    conversation.disposition = "queue full"
    conversation.closed_at = now
    conversation.updated_at = now
    await session.execute(delete(QueueEntry).where(QueueEntry.conversation_id == conversation.id))
    crm.record(
        session,
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
        kind="conversation.rejected",
        summary=f"Not queued: queue {event['queue']} is full",
        routing=event,
    )


def _overflow(
    session: AsyncSession,
    entry: QueueEntry,
    conversation: Conversation,
    target: str,
    event: dict[str, Any],
) -> None:
    skill = None if target == GENERAL_QUEUE else target
    entry.overflowed_from = [*(entry.overflowed_from or ()), event["queue"]]
    entry.required_skill = conversation.required_skill = skill
    entry.min_level = conversation.min_level = 1  # any level of the target's skill
    entry.entered_at = utcnow()
    crm.record(
        session,
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
        kind="conversation.overflowed",
        summary=f"Moved from queue {event['queue']} to {target}: {event['why']}",
        routing=event,
    )
