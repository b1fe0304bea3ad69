"""Transfer a conversation to another agent or to a skill queue, history and all."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import select

from agent_console.web import require_agent
from hub.keys import SESSIONS
from hub.models import Agent
from routing.handback import Handback, TransferError

HANDBACK = web.AppKey("handback", Handback)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/conversations/{conversation_id:\\d+}/transfer", transfer)
    app.router.add_get("/api/agents", agents)


def _error(status: int, message: str) -> web.HTTPException:
    body = json.dumps({"error": message})
    errors: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
        415: web.HTTPUnsupportedMediaType,
    }
    return errors.get(status, web.HTTPBadRequest)(text=body, content_type="application/json")


async def transfer(request: web.Request) -> web.Response:
    """Body: {"agent_id": N} for an agent, or {"skill": "billing"} for a queue."""
    agent = await require_agent(request)
    if request.content_type != "application/json":
        raise _error(415, "Send JSON.")
    try:
        body: Any = await request.json()
    except ValueError:
        raise _error(400, "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _error(400, "The body must be a JSON object.")
    to_agent = body.get("agent_id")
    to_skill = body.get("skill")
    if (to_agent is None) == (not to_skill) or (
        to_agent is not None and not isinstance(to_agent, int)
    ):
        raise _error(400, 'Give either "agent_id" (a number) or "skill".')
    try:
        outcome = await request.app[HANDBACK].transfer(
            int(request.match_info["conversation_id"]),
            agent.id,
            to_agent_id=to_agent,
            to_skill=str(to_skill) if to_skill else None,
        )
    except TransferError as exc:
        raise _error(exc.status, str(exc)) from None
    return web.json_response({"outcome": outcome})


async def agents(request: web.Request) -> web.Response:
    """Colleagues an agent can transfer to: name, state, skills are not secret."""
    await require_agent(request)
    async with request.app[SESSIONS]() as session:
        rows = await session.scalars(select(Agent).order_by(Agent.display_name, Agent.username))
        return web.json_response(
            [{"id": a.id, "name": a.display_name or a.username, "status": a.status} for a in rows]
        )
