"""Live queue statistics for supervisors, with an Erlang C staffing estimate.

Definitions (written down because vendors differ):
- waiting: contacts in the live queue now; longest wait: the oldest of them.
- answered: offers accepted in the window; speed of answer: from the contact's
  arrival (or, for one that arrived while its team was closed, the opening) to the
  accept; ASA is its mean over answered contacts.
- abandoned: conversations that ended while still waiting, in the window; not those
  that ended before their team opened.
- service level: answered within the target / (answered + abandoned); abandons
  count against it, so a queue cannot look good by letting customers give up.
- abandon rate: abandoned / (answered + abandoned).
- rejected: contacts turned away by a full queue with nowhere to overflow, in the
  window; like busy signals, reported on their own rather than as abandons.
- occupancy: how full each available agent's busiest channel is, averaged over them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select

from hub.channel_traits import ChannelRegistry
from hub.db import Sessions
from hub.models import Agent, Conversation, Offer, utcnow
from hub.queue import ContactQueue
from routing.erlang import agents_needed

DEFAULT_HANDLE_SECONDS = 180.0


@dataclass(frozen=True)
class QueueLine:
    queue: str
    channel: str
    waiting: int
    longest_wait: float


@dataclass(frozen=True)
class QueueStats:
    window_seconds: float
    target_seconds: float
    lines: list[QueueLine]
    answered: int
    abandoned: int
    rejected: int
    service_level: float | None
    average_speed_of_answer: float | None
    abandon_rate: float | None
    arrivals_per_hour: float
    average_handle_seconds: float
    agents_by_state: dict[str, int]
    occupancy: float | None
    agents_needed: int
    erlang: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def queue_stats(
    sessions: Sessions,
    queue: ContactQueue,
    channels: ChannelRegistry,
    window_seconds: float = 3600.0,
    target_seconds: float = 20.0,
    target_service_level: float = 0.8,
) -> QueueStats:
    now = utcnow()
    since = now - timedelta(seconds=window_seconds)
    waiting = await queue.waiting(limit=10_000)
    grouped: dict[tuple[str, str], list[float]] = defaultdict(list)
    for contact in waiting:
        name = contact.required_skill or "general"
        grouped[(name, contact.channel)].append(now.timestamp() - contact.enqueued_at)
    lines = [
        QueueLine(name, channel, len(waits), round(max(waits), 1))
        for (name, channel), waits in sorted(grouped.items())
    ]
    async with sessions() as session:
        answered_rows = await session.execute(
            select(Offer.decided_at, Conversation.created_at, Conversation.waits_from)
            .join(Conversation, Conversation.id == Offer.conversation_id)
            .where(Offer.status == "accepted", Offer.decided_at >= since)
        )
        # A contact that arrived while its team was closed waits from the opening.
        speeds = [
            max(0.0, (d - (w or c)).total_seconds()) for d, c, w in answered_rows.all() if d and c
        ]
        abandoned = (
            await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.status == "abandoned",
                    Conversation.closed_at >= since,
                    # Leaving before the team opened counts against no one.
                    or_(
                        Conversation.waits_from.is_(None),
                        Conversation.closed_at >= Conversation.waits_from,
                    ),
                )
            )
            or 0
        )
        rejected = (
            await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.status == "rejected", Conversation.closed_at >= since)
            )
            or 0
        )
        arrivals = (
            await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.created_at >= since)
            )
            or 0
        )
        handled = await session.execute(
            select(Offer.decided_at, Conversation.closed_at)
            .join(Conversation, Conversation.id == Offer.conversation_id)
            .where(
                Offer.status == "accepted",
                Conversation.status == "closed",
                Conversation.closed_at >= since,
            )
        )
        handles = [(c - d).total_seconds() for d, c in handled.all() if d and c]
        agents = list(await session.scalars(select(Agent)))
    states = Counter(a.status for a in agents)
    available = [a for a in agents if a.status == "available"]
    occupancy = await _occupancy(queue, channels, available)
    answered = len(speeds)
    offered = answered + abandoned
    within = sum(1 for s in speeds if s <= target_seconds)
    handle = sum(handles) / len(handles) if handles else DEFAULT_HANDLE_SECONDS
    rate = arrivals / window_seconds
    staffing = agents_needed(rate, handle, target_seconds, target_service_level)
    return QueueStats(
        window_seconds=window_seconds,
        target_seconds=target_seconds,
        lines=lines,
        answered=answered,
        abandoned=abandoned,
        rejected=rejected,
        service_level=within / offered if offered else None,
        average_speed_of_answer=sum(speeds) / answered if answered else None,
        abandon_rate=abandoned / offered if offered else None,
        arrivals_per_hour=round(rate * 3600, 2),
        average_handle_seconds=round(handle, 1),
        agents_by_state=dict(sorted(states.items())),
        occupancy=occupancy,
        agents_needed=staffing.agents,
        erlang={
            "probability_of_waiting": round(staffing.probability_of_waiting, 4),
            "service_level": round(staffing.service_level, 4),
            "average_speed_of_answer": round(staffing.average_speed_of_answer, 2),
            "occupancy": round(staffing.occupancy, 4),
        },
    )


async def _occupancy(
    queue: ContactQueue, channels: ChannelRegistry, agents: list[Agent]
) -> float | None:
    """Mean over available agents of how full their busiest channel is."""
    if not agents:
        return None
    loads = await queue.loads([a.id for a in agents])
    fullness = []
    for agent in agents:
        capacities = channels.capacities(agent.capacities)
        load = loads.get(agent.id, {})
        fullness.append(max((n / max(1, capacities[c]) for c, n in load.items()), default=0.0))
    return round(sum(fullness) / len(fullness), 4)
