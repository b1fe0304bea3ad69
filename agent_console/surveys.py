"""Customer satisfaction in the console: CSAT figures for supervisors, and which channels
ask for ratings, for admins (`GET`/`PUT /api/admin/surveys`; supervisors read it).

CSAT is the share of 4 and 5 among the ratings customers gave (1-5); each row also has
how many answered and their mean. Counted in the database (one GROUP BY), over the
ratings given in [since, until); a supervisor with a team sees their team's agents only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import SQLColumnExpression, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.responses import json_body
from agent_console.supervisor import supervisors_only
from agent_console.teams import team_of
from hub.api_models.reports import CsatQuery
from hub.keys import CHANNELS, SESSIONS, SURVEYS
from hub.models import Agent, Conversation, Survey
from hub.surveys import ASKABLE

__all__ = ["csat_figures", "csat_report", "setup"]

GENERAL = "general"  # the queue of conversations that need no particular skill


class SurveyChoices(BaseModel):
    """Channel name to on (true) or off (false); channels left out keep their setting."""

    channels: dict[Literal["chat", "email", "sms", "whatsapp", "voice"], bool]


def setup(app: web.Application) -> None:
    app.router.add_get("/api/supervisor/csat", csat)
    app.router.add_get("/api/admin/surveys", survey_channels)
    app.router.add_put("/api/admin/surveys", choose_survey_channels)


@supervisors_only
async def survey_channels(request: web.Request, agent: Agent) -> web.Response:
    return web.json_response(await _survey_channels(request))


@requires(ADMINS)
async def choose_survey_channels(request: web.Request, agent: Agent) -> web.Response:
    chosen = SurveyChoices.model_validate(await json_body(request)).channels
    choices: dict[str, bool] = {str(channel): on for channel, on in chosen.items()}
    async with request.app[SESSIONS]() as session, session.begin():
        await request.app[SURVEYS].turn(session, choices)
        record(session, request, agent, "surveys.changed", "surveys", {**choices})
    return web.json_response(await _survey_channels(request))


async def _survey_channels(request: web.Request) -> dict[str, Any]:
    registry = request.app[CHANNELS]
    async with request.app[SESSIONS]() as session:
        on = await request.app[SURVEYS].turned_on(session)
    return {
        "channels": [
            {"channel": c, "label": registry[c].label, "enabled": c in on}
            for c in ASKABLE
            if c in registry
        ]
    }


@supervisors_only
async def csat(request: web.Request, supervisor: Agent) -> web.Response:
    query = CsatQuery.model_validate(dict(request.query))
    async with request.app[SESSIONS]() as session:
        team = await team_of(session, supervisor)
        report = await csat_report(session, query, team)
    return web.json_response(report)


async def csat_report(
    session: AsyncSession, query: CsatQuery, agent_ids: set[int] | None = None
) -> dict[str, Any]:
    """The figures per row of `query.by` over its period, and their total."""
    assert query.since is not None and query.until is not None
    rows = await csat_figures(session, query.by, query.since, query.until, agent_ids)
    total = _figures(
        sum(r["answers"] for r in rows),
        sum(r["satisfied"] for r in rows),
        sum(r["average"] * r["answers"] for r in rows),
    )
    return {
        "by": query.by,
        "since": query.since.isoformat(),
        "until": query.until.isoformat(),
        "rows": rows,
        "total": total,
    }


async def csat_figures(
    session: AsyncSession,
    by: str,
    since: datetime,
    until: datetime,
    agent_ids: set[int] | None = None,
) -> list[dict[str, Any]]:
    """One row per agent, queue or channel: key, label, answers, satisfied (4-5), csat
    (their share) and average, most answers first."""
    key: SQLColumnExpression[Any]
    if by == "agent":
        key = Conversation.agent_id
    elif by == "queue":
        key = func.coalesce(Conversation.required_skill, GENERAL)
    else:
        key = Survey.channel
    satisfied = func.sum(case((Survey.rating >= 4, 1), else_=0))
    query = (
        select(key, func.count(Survey.rating), satisfied, func.sum(Survey.rating))
        .join(Conversation, Conversation.id == Survey.conversation_id)
        .where(
            Survey.rating.is_not(None),
            Survey.answered_at >= since,
            Survey.answered_at < until,
        )
        .group_by(key)
    )
    if agent_ids is not None:
        query = query.where(Conversation.agent_id.in_(agent_ids))
    found = (await session.execute(query)).all()
    labels = await _agent_names(session, [k for k, *_ in found]) if by == "agent" else {}
    rows = [
        {
            "key": key_value,
            "label": labels.get(key_value, "nobody") if by == "agent" else str(key_value),
            **_figures(int(answers), int(happy or 0), float(points or 0)),
        }
        for key_value, answers, happy, points in found
    ]
    rows.sort(key=lambda r: (-r["answers"], str(r["label"])))
    return rows


def _figures(answers: int, satisfied: int, points: float) -> dict[str, Any]:
    return {
        "answers": answers,
        "satisfied": satisfied,
        "csat": round(satisfied / answers, 4) if answers else None,
        "average": round(points / answers, 4) if answers else None,
    }


async def _agent_names(session: AsyncSession, agent_ids: list[Any]) -> dict[Any, str]:
    ids = [a for a in agent_ids if a is not None]
    if not ids:
        return {}
    found = await session.execute(
        select(Agent.id, Agent.display_name, Agent.username).where(Agent.id.in_(ids))
    )
    return {agent_id: name or username for agent_id, name, username in found}
