"""Business hours on the admin page: schedules, holidays from iCalendar files, and which
queue or inbox each schedule covers.

`GET/POST /api/admin/schedules`, `PUT /api/admin/schedules/{id}` take a `hub.hours.Schedule`
as JSON; `POST /api/admin/schedules/{id}/holidays` takes an `.ics` file (text/calendar)
and adds its days to the schedule's holidays; `PUT /api/admin/schedule-attachments`
attaches a schedule (or none) to an inbox or to a queue. Admins write; supervisors read.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.keys import ROUTER
from agent_console.responses import error, json_body
from hub.api_models.schedules import ScheduleAttachment
from hub.events import QueueUpdated
from hub.hours import Schedule, holidays_from_ics, is_open, next_opening
from hub.keys import BUS, SESSIONS
from hub.models import Agent, BusinessHours, Inbox, QueueHours, utcnow
from hub.schedules import schedule_from_row, store_schedule

__all__ = ["setup"]

READERS = ("admin", "supervisor")
SCHEDULE = "/api/admin/schedules/{schedule_id:\\d+}"
MAX_ICS_BYTES = 1024 * 1024
ICS_TYPES = ("text/calendar", "application/octet-stream")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/admin/schedules", list_schedules)
    r.add_post("/api/admin/schedules", create_schedule)
    r.add_put(SCHEDULE, replace_schedule)
    r.add_post(SCHEDULE + "/holidays", import_holidays)
    r.add_put("/api/admin/schedule-attachments", attach_schedule)


@requires(READERS)
async def list_schedules(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        rows = list(await session.scalars(select(BusinessHours).order_by(BusinessHours.name)))
        inboxes = (await session.execute(select(Inbox.schedule_id, Inbox.id))).all()
        queues = (await session.execute(select(QueueHours.schedule_id, QueueHours.queue))).all()
    return web.json_response(
        [
            _json(
                row,
                [i for s, i in inboxes if s == row.id],
                sorted(q for s, q in queues if s == row.id),
            )
            for row in rows
        ]
    )


@requires(ADMINS)
async def create_schedule(request: web.Request, agent: Agent) -> web.Response:
    schedule = Schedule.model_validate(await json_body(request))
    row = BusinessHours()
    store_schedule(row, schedule)
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            session.add(row)
            await session.flush()
            target = f"schedule {row.id} ({schedule.name})"
            record(session, request, agent, "schedule.created", target)
    except IntegrityError:
        raise error(409, f"There is already a schedule named {schedule.name}.") from None
    return web.json_response(_json(row, [], []), status=201)


@requires(ADMINS)
async def replace_schedule(request: web.Request, agent: Agent) -> web.Response:
    schedule = Schedule.model_validate(await json_body(request))
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            row = await _row(session, request)
            store_schedule(row, schedule)
            row.updated_at = utcnow()
            target = f"schedule {row.id} ({schedule.name})"
            record(session, request, agent, "schedule.replaced", target)
    except IntegrityError:
        raise error(409, f"There is already a schedule named {schedule.name}.") from None
    await _changed(request)
    return web.json_response(_json(row, None, None))


@requires(ADMINS)
async def import_holidays(request: web.Request, agent: Agent) -> web.Response:
    """The body is an iCalendar file; each event's days become holidays."""
    if request.content_type not in ICS_TYPES:
        raise error(415, "Send an iCalendar file (text/calendar).")
    if (request.content_length or 0) > MAX_ICS_BYTES:
        raise error(400, "The calendar file is larger than 1 MB.")
    data = await request.content.read(MAX_ICS_BYTES + 1)
    if len(data) > MAX_ICS_BYTES:
        raise error(400, "The calendar file is larger than 1 MB.")
    try:
        found = holidays_from_ics(data)
    except ValueError as exc:
        raise error(400, f"The file could not be read: {exc}.") from None
    async with request.app[SESSIONS]() as session, session.begin():
        row = await _row(session, request)
        schedule = schedule_from_row(row)
        merged = Schedule.model_validate(
            {**schedule.model_dump(), "holidays": [*schedule.holidays, *found]}
        )
        store_schedule(row, merged)
        row.updated_at = utcnow()
        target = f"schedule {row.id} ({schedule.name})"
        record(session, request, agent, "schedule.holidays_imported", target, {"days": len(found)})
    await _changed(request)
    return web.json_response({**_json(row, None, None), "imported": len(found)})


@requires(ADMINS)
async def attach_schedule(request: web.Request, agent: Agent) -> web.Response:
    attachment = ScheduleAttachment.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        if attachment.schedule_id is not None and (
            await session.get(BusinessHours, attachment.schedule_id) is None
        ):
            raise error(404, "No such schedule.")
        if attachment.inbox_id is not None:
            inbox = await session.get(Inbox, attachment.inbox_id)
            if inbox is None:
                raise error(404, "No such inbox.")
            inbox.schedule_id = attachment.schedule_id
        elif attachment.queue is not None:
            await session.execute(delete(QueueHours).where(QueueHours.queue == attachment.queue))
            if attachment.schedule_id is not None:
                session.add(QueueHours(queue=attachment.queue, schedule_id=attachment.schedule_id))
        change = attachment.model_dump(mode="json")
        record(
            session,
            request,
            agent,
            "schedule.attached",
            f"schedule {attachment.schedule_id}",
            change,
        )
    await _changed(request)
    return web.json_response(attachment.model_dump())


async def _row(session: AsyncSession, request: web.Request) -> BusinessHours:
    row = await session.get(BusinessHours, int(request.match_info["schedule_id"]))
    if row is None:
        raise error(404, "No such schedule.")
    return row


async def _changed(request: web.Request) -> None:
    # Intake reads inboxes' settings once; contacts waiting for an opening may route now.
    await request.app[BUS].publish(QueueUpdated())
    request.app[ROUTER].wake()


def _json(
    row: BusinessHours, inboxes: list[int] | None, queues: list[str] | None
) -> dict[str, Any]:
    schedule = schedule_from_row(row)
    now = utcnow()
    opening = next_opening(schedule, now)
    shown: dict[str, Any] = {
        "id": row.id,
        **schedule.model_dump(mode="json"),
        "open_now": is_open(schedule, now),
        "next_opening": None if opening is None else opening.isoformat(),
    }
    if inboxes is not None and queues is not None:
        shown |= {"inboxes": inboxes, "queues": queues}
    return shown
