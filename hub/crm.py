"""The customer record: every contact, reply, note and outcome lands on the timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import TimelineEvent


def record(
    session: AsyncSession,
    *,
    customer_id: int,
    kind: str,
    summary: str = "",
    conversation_id: int | None = None,
    agent_id: int | None = None,
    **data: Any,
) -> TimelineEvent:
    """Add a timeline event to the session; it commits with the change it describes."""
    event = TimelineEvent(
        customer_id=customer_id,
        conversation_id=conversation_id,
        agent_id=agent_id,
        kind=kind,
        summary=summary[:500],
        data=data,
    )
    session.add(event)
    return event


async def append(
    session: AsyncSession,
    *,
    customer_id: int,
    kind: str,
    summary: str = "",
    conversation_id: int | None = None,
    agent_id: int | None = None,
    **data: Any,
) -> None:
    """Write a timeline event now as one plain INSERT (for hot paths that never read it back)."""
    connection = await session.connection()
    await connection.execute(
        _APPEND,
        {
            "customer_id": customer_id,
            "conversation_id": conversation_id,
            "agent_id": agent_id,
            "kind": kind,
            "summary": summary[:500],
            "data": data,
        },
    )


_APPEND = insert(TimelineEvent)  # built once: building costs more than running it


async def timeline(
    session: AsyncSession, customer_id: int, limit: int = 200
) -> list[TimelineEvent]:
    """A customer's history across every channel, newest first."""
    rows = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.customer_id == customer_id)
        .order_by(TimelineEvent.created_at.desc(), TimelineEvent.id.desc())
        .limit(limit)
    )
    return list(rows)
