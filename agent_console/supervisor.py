"""What supervisors read: live queue statistics, which queues will miss their service
level soon, and why routing chose whom."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from agent_console.auth import SUPERVISORS, requires
from agent_console.teams import team_of
from hub.api_models.queues import ForecastQuery, StatsQuery
from hub.keys import CHANNELS, QUEUE, SESSIONS
from hub.models import Agent, TimelineEvent
from routing.forecast import ForecastSettings, WarningHold, queue_forecasts
from routing.stats import QueueStats, queue_stats

supervisors_only = requires(SUPERVISORS, refusal="Supervisors only.")
HOLD = web.AppKey("forecast_hold", WarningHold)


def setup(app: web.Application) -> None:
    app[HOLD] = WarningHold()
    app.router.add_get("/api/supervisor/stats", stats)
    app.router.add_get("/api/supervisor/forecast", forecast)
    app.router.add_get("/api/supervisor/routing", routing_decisions)


async def stats_asked(request: web.Request) -> QueueStats:
    """The queue statistics over the window and target the request's query asks for
    (400 naming a bad field): what the console and the public API both read."""
    query = StatsQuery.model_validate(dict(request.query))
    return await queue_stats(
        request.app[SESSIONS],
        request.app[QUEUE],
        request.app[CHANNELS],
        max(60.0, query.window),
        max(1.0, query.target),
    )


@supervisors_only
async def stats(request: web.Request, agent: Agent) -> web.Response:
    return web.json_response((await stats_asked(request)).to_json())


@supervisors_only
async def forecast(request: web.Request, agent: Agent) -> web.Response:
    """Every queue's projected service level over the horizon; `warnings` lists those
    that will miss the target, soonest first, with how many agents would hold it."""
    query = ForecastQuery.model_validate(dict(request.query))
    settings = ForecastSettings(
        horizon_minutes=query.horizon,
        target_seconds=query.target,
        target_service_level=query.level,
    )
    queues = await queue_forecasts(
        request.app[SESSIONS], request.app[QUEUE], settings, request.app[HOLD]
    )
    warned = sorted((q for q in queues if q.warning), key=lambda q: q.minutes_to_breach or 0)
    return web.json_response(
        {
            "horizon_minutes": query.horizon,
            "target_seconds": query.target,
            "target_service_level": query.level,
            "queues": [q.to_json() for q in queues],
            "warnings": [
                {"queue": q.queue, "minutes": q.minutes_to_breach, "text": q.warning}
                for q in warned
            ],
        }
    )


@supervisors_only
async def routing_decisions(request: web.Request, supervisor: Agent) -> web.Response:
    """Recent routing decisions, newest first (for the supervisor's team); optionally for
    one conversation."""
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.kind == "offer.created")
        .order_by(TimelineEvent.id.desc())
        .limit(100)
    )
    conversation = request.query.get("conversation_id", "")
    if conversation.isdigit():
        query = query.where(TimelineEvent.conversation_id == int(conversation))
    async with request.app[SESSIONS]() as session:
        team = await team_of(session, supervisor)
        if team is not None:
            query = query.where(TimelineEvent.agent_id.in_(team))
        events = list(await session.scalars(query))
    return web.json_response(
        [
            {
                "at": e.created_at.isoformat(),
                "conversation_id": e.conversation_id,
                "agent_id": e.agent_id,
                **e.data.get("routing", {}),
            }
            for e in events
        ]
    )
