"""Stored business hours: which schedule applies to an inbox or a queue, read as `Schedule`.

A queue's own schedule (a skill's queue, or "general") comes first; otherwise the
inbox's; a contact with neither is always open.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.hours import Schedule
from hub.models import BusinessHours, Inbox, QueueHours

__all__ = ["hours_of", "schedule_from_row", "store_schedule"]


def schedule_from_row(row: BusinessHours) -> Schedule:
    return Schedule.model_validate(
        {
            "name": row.name,
            "timezone": row.timezone,
            "weekly": row.weekly,
            "holidays": row.holidays,
        }
    )


def store_schedule(row: BusinessHours, schedule: Schedule) -> None:
    """Write `schedule` into `row`, in the JSON form `schedule_from_row` reads back."""
    stored = schedule.model_dump(mode="json")
    row.name, row.timezone = schedule.name, schedule.timezone
    row.weekly, row.holidays = stored["weekly"], stored["holidays"]


async def hours_of(
    session: AsyncSession,
    *,
    channel: str | None = None,
    inbox: str | None = None,
    queue: str | None = None,
) -> Schedule | None:
    """The schedule of `queue`, else of the inbox (`channel`, `inbox` address); None
    when neither has one."""
    row: BusinessHours | None = None
    if queue is not None:
        row = await session.scalar(
            select(BusinessHours)
            .join(QueueHours, QueueHours.schedule_id == BusinessHours.id)
            .where(QueueHours.queue == queue)
        )
    if row is None and channel is not None and inbox is not None:
        row = await session.scalar(
            select(BusinessHours)
            .join(Inbox, Inbox.schedule_id == BusinessHours.id)
            .where(Inbox.channel == channel, Inbox.address == inbox)
        )
    return None if row is None else schedule_from_row(row)
