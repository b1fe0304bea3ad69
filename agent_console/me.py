"""The signed-in agent: who they are (`/api/me`) and the presence they set for themselves."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agent_console.auth import requires
from agent_console.keys import ROUTER
from agent_console.responses import error, json_body
from hub.events import AgentState
from hub.keys import BUS, SESSIONS
from hub.models import Agent

PRESENCE = ("available", "away", "offline")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/me", me)
    app.router.add_post("/api/me/status", set_status)


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "username": agent.username,
        "display_name": agent.display_name or agent.username,
        "role": agent.role,
        "status": agent.status,
    }


@requires()
async def me(request: web.Request, agent: Agent) -> web.Response:
    return web.json_response(agent_json(agent))


@requires()
async def set_status(request: web.Request, agent: Agent) -> web.Response:
    status = (await json_body(request)).get("status")
    if status not in PRESENCE:
        raise error(400, f"status must be one of {', '.join(PRESENCE)}")
    async with request.app[SESSIONS]() as session, session.begin():
        stored = await session.get(Agent, agent.id)
        assert stored is not None
        stored.status = str(status)
    await request.app[BUS].publish(AgentState(agent_id=agent.id, status=status))
    if status == "available":
        request.app[ROUTER].wake()
    return web.json_response({"status": status})
