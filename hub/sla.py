"""SLA policies: which targets a conversation has, when each falls due, and breaches.

How a policy is chosen: a policy's conditions (queue, channel, priority, customer
segment; a null one matches anything) must all hold; among the policies that match, the
one with the most conditions set wins, and among equally specific ones the oldest.

What counts: the first agent reply (an outgoing message an agent wrote; automatic
acknowledgements do not count) meets the first response target; a customer message
after an agent reply starts the next-response clock, which the next agent reply stops;
closing meets resolution and stops every clock; reopening starts them all afresh.
With `business_hours`, targets count only the time the queue's (else the inbox's)
schedule is open; without a schedule they count every second.

Due times are stored per conversation (`ConversationSla`), recomputed from the
database whenever the conversation moves (`refresh`), so the console and wallboard can
count down to them. `SlaChecker` marks each breach once, whichever of several hub
processes sees it first: a conditional UPDATE that only one of them wins.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm, outbox
from hub.bus import EventBus
from hub.db import Sessions
from hub.events import SlaBreached
from hub.hours import Schedule, add_business_seconds
from hub.loops import Background
from hub.models import (
    OPEN_STATUSES,
    Conversation,
    ConversationSla,
    Customer,
    Inbox,
    Message,
    MessageDirection,
    SlaPolicy,
    utcnow,
)
from hub.queue import GENERAL_QUEUE
from hub.schedules import hours_of

__all__ = [
    "KINDS",
    "Breach",
    "ConversationFacts",
    "SlaChecker",
    "SlaClock",
    "Targets",
    "at_risk",
    "choose_policy",
    "current",
    "due_times",
    "refresh",
    "soonest",
]

KINDS = ("first_response", "next_response", "resolution")
LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "resolution": "Resolution",
}
CONDITIONS = ("queue", "channel", "priority", "segment")
BATCH = 200
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversationFacts:
    """What a policy's conditions are matched against."""

    queue: str
    channel: str
    priority: int
    segment: str


def choose_policy(policies: Sequence[SlaPolicy], facts: ConversationFacts) -> SlaPolicy | None:
    """The policy that applies: all its conditions hold; the most specific, then the oldest."""
    matching = [
        p
        for p in policies
        if all(getattr(p, c) is None or getattr(p, c) == getattr(facts, c) for c in CONDITIONS)
    ]
    if not matching:
        return None
    return min(matching, key=lambda p: (-sum(getattr(p, c) is not None for c in CONDITIONS), p.id))


@dataclass(frozen=True)
class Targets:
    """When each kind of target falls due and turns amber (None: nothing due)."""

    due: dict[str, datetime | None]
    warn: dict[str, datetime | None]


def due_times(
    policy: SlaPolicy,
    schedule: Schedule | None,
    *,
    started_at: datetime,
    first_reply_at: datetime | None,
    waiting_since: datetime | None,
    closed: bool,
) -> Targets:
    """The due and amber instants of each target, from the moments that start them."""

    def after(start: datetime, seconds: float) -> datetime | None:
        if schedule is None or not policy.business_hours:
            return start + timedelta(seconds=seconds)
        return add_business_seconds(schedule, start, seconds)

    starts: dict[str, datetime | None] = {
        "first_response": started_at if first_reply_at is None else None,
        "next_response": waiting_since if first_reply_at is not None else None,
        "resolution": started_at,
    }
    due: dict[str, datetime | None] = dict.fromkeys(KINDS)
    warn: dict[str, datetime | None] = dict.fromkeys(KINDS)
    for kind in KINDS:
        target, start = getattr(policy, kind), starts[kind]
        if closed or target is None or start is None:
            continue
        due[kind] = after(start, target)
        warn[kind] = after(start, target * policy.warn_at)
    return Targets(due, warn)


def soonest(row: ConversationSla | None) -> dict[str, Any] | None:
    """The target that falls due first, for the console: kind, due, amber-from, breached."""
    if row is None:
        return None
    pending = [(due, kind) for kind in KINDS if (due := getattr(row, f"{kind}_due")) is not None]
    if not pending:
        return None
    due, kind = min(pending)
    warn = getattr(row, f"{kind}_warn")
    return {
        "kind": kind,
        "due": due.isoformat(),
        "warn": (warn or due).isoformat(),
        "breached": getattr(row, f"{kind}_breached_at") is not None,
    }


async def refresh(
    session: AsyncSession, conversation_id: int, now: datetime | None = None
) -> ConversationSla | None:
    """Recompute a conversation's due times from the database, in the caller's
    transaction; its row, or None when no policy applies and it never had one."""
    now = now or utcnow()
    found = (
        await session.execute(
            select(Conversation, Customer.segment, Inbox.address)
            .join(Customer, Customer.id == Conversation.customer_id)
            .join(Inbox, Inbox.id == Conversation.inbox_id)
            .where(Conversation.id == conversation_id)
        )
    ).one_or_none()
    if found is None:
        return None
    conversation, segment, inbox = found
    queue = conversation.required_skill or GENERAL_QUEUE
    facts = ConversationFacts(queue, conversation.channel, conversation.priority, segment)
    policy = choose_policy(list(await session.scalars(select(SlaPolicy))), facts)
    row = await session.get(ConversationSla, conversation_id)
    if policy is None and row is None:
        return None
    closed = conversation.status not in OPEN_STATUSES
    if row is None:
        row = ConversationSla(
            conversation_id=conversation_id, started_at=conversation.created_at, closed=closed
        )
        session.add(row)
    elif row.closed and not closed:  # reopened: every clock starts again
        row.started_at = now
    row.closed, row.updated_at = closed, now
    row.policy_id = None if policy is None else policy.id
    targets = Targets(dict.fromkeys(KINDS), dict.fromkeys(KINDS))
    if policy is not None:
        first_reply_at, waiting_since = await _reply_moments(session, conversation_id, row)
        schedule = await hours_of(session, channel=conversation.channel, inbox=inbox, queue=queue)
        targets = due_times(
            policy,
            schedule,
            started_at=row.started_at,
            first_reply_at=first_reply_at,
            waiting_since=waiting_since,
            closed=closed,
        )
    for kind in KINDS:
        due = targets.due[kind]
        if getattr(row, f"{kind}_due") != due:
            setattr(row, f"{kind}_due", due)
            if due is not None:  # a new clock may breach anew; a met one keeps its record
                setattr(row, f"{kind}_breached_at", None)
        setattr(row, f"{kind}_warn", targets.warn[kind])
    return row


async def at_risk(
    session: AsyncSession, horizon: datetime, limit: int = 100
) -> list[tuple[ConversationSla, str, datetime, datetime]]:
    """Open conversations with a target turning amber before `horizon`: each with the
    kind, due and amber instants of its soonest such target, soonest due first."""
    found: dict[int, tuple[ConversationSla, str, datetime, datetime]] = {}
    for kind in KINDS:
        due_column = getattr(ConversationSla, f"{kind}_due")
        warn_column = getattr(ConversationSla, f"{kind}_warn")
        rows = await session.scalars(
            select(ConversationSla)
            .join(Conversation, Conversation.id == ConversationSla.conversation_id)
            .where(
                due_column.is_not(None),
                warn_column <= horizon,
                Conversation.status.in_(OPEN_STATUSES),
            )
            .order_by(due_column)
            .limit(limit)
        )
        for row in rows:
            due, warn = getattr(row, f"{kind}_due"), getattr(row, f"{kind}_warn")
            known = found.get(row.conversation_id)
            if known is None or due < known[2]:
                found[row.conversation_id] = (row, kind, due, warn)
    return sorted(found.values(), key=lambda f: f[2])[:limit]


async def current(sessions: Sessions, conversation_id: int) -> dict[str, Any] | None:
    """The target due first, freshly computed (not stored: a read changes nothing)."""
    async with sessions() as session:
        row = await refresh(session, conversation_id)
        found = soonest(row)
        await session.rollback()
    return found


async def _reply_moments(
    session: AsyncSession, conversation_id: int, row: ConversationSla
) -> tuple[datetime | None, datetime | None]:
    """The first agent reply since the clocks started, and the first customer message
    after the last agent reply (None: none, or none since)."""
    since = and_(Message.conversation_id == conversation_id, Message.created_at >= row.started_at)
    agent_reply = and_(
        since, Message.direction == MessageDirection.OUTGOING, Message.agent_id.is_not(None)
    )
    first_reply, last_reply = (
        await session.execute(
            select(func.min(Message.created_at), func.max(Message.created_at)).where(agent_reply)
        )
    ).one()
    if last_reply is None:
        return None, None
    waiting_since = await session.scalar(
        select(func.min(Message.created_at)).where(
            since,
            Message.direction == MessageDirection.INCOMING,
            Message.created_at > last_reply,
        )
    )
    return _aware(first_reply), _aware(waiting_since)


def _aware(value: datetime | None) -> datetime | None:
    """min()/max() come back without the column's type, naive, on some databases."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Breach:
    """One target found passed unmet, marked by this process."""

    event: SlaBreached
    customer_name: str


Alert = Callable[[Breach], Awaitable[None]]


class SlaChecker:
    """Finds targets passed unmet and marks each breach once across hub processes: on
    the customer's timeline and in the webhook outbox (one transaction), then on the
    bus and to `alert` (once, by the process whose mark won)."""

    def __init__(self, sessions: Sessions, bus: EventBus, alert: Alert | None = None) -> None:
        self._sessions = sessions
        self._bus = bus
        self._alert = alert

    async def run_once(self, now: datetime | None = None) -> list[Breach]:
        now = now or utcnow()
        breaches: list[Breach] = []
        for kind in KINDS:
            due_column = getattr(ConversationSla, f"{kind}_due")
            breached_column = getattr(ConversationSla, f"{kind}_breached_at")
            async with self._sessions() as session:
                candidates = list(
                    await session.scalars(
                        select(ConversationSla.conversation_id)
                        .where(due_column <= now, breached_column.is_(None))
                        .order_by(due_column)
                        .limit(BATCH)
                    )
                )
            for conversation_id in candidates:
                breach = await self._mark(conversation_id, kind, now)
                if breach is not None:
                    breaches.append(breach)
        for breach in breaches:
            event = breach.event
            await self._bus.publish(event)
            if self._alert is not None:
                try:
                    await self._alert(breach)
                except Exception:  # the breach stands; one lost alert must not stop the rest
                    log.exception("the alert for %s could not be sent", breach.event)
        return breaches

    async def _mark(self, conversation_id: int, kind: str, now: datetime) -> Breach | None:
        # Recompute first: a reply whose event this process missed may have met the target.
        async with self._sessions() as session, session.begin():
            row = await refresh(session, conversation_id, now)
            due = None if row is None else getattr(row, f"{kind}_due")
        if due is None or due > now:
            return None
        due_column = getattr(ConversationSla, f"{kind}_due")
        breached_column = getattr(ConversationSla, f"{kind}_breached_at")
        async with self._sessions() as session, session.begin():
            won = await session.execute(
                update(ConversationSla)
                .where(
                    ConversationSla.conversation_id == conversation_id,
                    due_column == due,
                    breached_column.is_(None),
                )
                .values({breached_column: now})
                .execution_options(synchronize_session=False)
            )
            if won.rowcount != 1:  # type: ignore[attr-defined]
                return None  # another process marked it, or it moved on
            conversation, customer_name = (
                await session.execute(
                    select(Conversation, Customer.name)
                    .join(Customer, Customer.id == Conversation.customer_id)
                    .where(Conversation.id == conversation_id)
                )
            ).one()
            policy_id = await session.scalar(
                select(ConversationSla.policy_id).where(
                    ConversationSla.conversation_id == conversation_id
                )
            )
            event = SlaBreached(
                conversation_id=conversation_id,
                customer_id=conversation.customer_id,
                agent_id=conversation.agent_id,
                policy_id=policy_id,
                kind=kind,
                due=due.isoformat(),
                queue=conversation.required_skill or GENERAL_QUEUE,
            )
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation_id,
                agent_id=conversation.agent_id,
                kind="sla.breached",
                summary=f"{LABELS[kind]} target missed (due {due:%Y-%m-%d %H:%M} UTC)",
                target=kind,
                due=due.isoformat(),
                policy_id=policy_id,
            )
            await outbox.add(session, event, conversation.customer_id)
        return Breach(event, customer_name)


class SlaClock:
    """Recomputes a conversation's due times beside the event follower that heard it
    move (a reply, a customer message, a close), so the follower never waits on it."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._jobs = Background()

    def refresh_soon(self, conversation_id: int) -> None:
        self._jobs.start(self._refresh(conversation_id), "recomputing SLA due times failed")

    async def _refresh(self, conversation_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await refresh(session, conversation_id)

    async def close(self) -> None:
        await self._jobs.close()
