"""/api/v1/agents: who answers customers, with their skills, languages and capacity."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select

from agent_console.admin import agent_out, skills_of
from agent_console.api_v1.bearer import scoped
from agent_console.api_v1.paging import after_id, page_of
from hub.api_models.agents import AgentList, AgentQuery
from hub.api_tokens import TokenHolder
from hub.keys import SESSIONS
from hub.models import Agent


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/agents", list_agents)


@scoped("conversations:read")
async def list_agents(request: web.Request, token: TokenHolder) -> web.Response:
    query = AgentQuery.model_validate(dict(request.query))
    statement = select(Agent).where(Agent.id > after_id(query.cursor))
    if query.role:
        statement = statement.where(Agent.role == query.role)
    if query.team is not None:
        statement = statement.where(Agent.team == query.team)
    if query.active is not None:
        statement = statement.where(Agent.active.is_(query.active))
    async with request.app[SESSIONS]() as session:
        rows = list(await session.scalars(statement.order_by(Agent.id).limit(query.limit + 1)))
        page, next_cursor = page_of(rows, query.limit)
        skills = await skills_of(session, [a.id for a in page])
    body: BaseModel = AgentList(
        agents=[agent_out(a, skills.get(a.id, {})) for a in page], next_cursor=next_cursor
    )
    return web.json_response(text=body.model_dump_json())
