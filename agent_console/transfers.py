"""Transfer a conversation to another agent or to a skill queue, history and all."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from agent_console.auth import requires
from agent_console.responses import error, json_body
from hub.keys import SESSIONS
from hub.models import Agent
from routing.handback import Handback, TransferError

HANDBACK = web.AppKey("handback", Handback)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/conversations/{conversation_id:\\d+}/transfer", transfer)
    app.router.add_get("/api/agents", agents)


@requires()
async def transfer(request: web.Request, agent: Agent) -> web.Response:
    """Body: {"agent_id": N} for an agent, or {"skill": "billing"} for a queue."""
    body = await json_body(request)
    to_agent = body.get("agent_id")
    to_skill = body.get("skill")
    if (
        (to_agent is None) == (not to_skill)
        or (to_agent is not None and (isinstance(to_agent, bool) or not isinstance(to_agent, int)))
        or (to_skill and not isinstance(to_skill, str))
    ):
        raise error(400, 'Give either "agent_id" (a number) or "skill".')
    try:
        outcome = await request.app[HANDBACK].transfer(
            int(request.match_info["conversation_id"]),
            agent.id,
            to_agent_id=to_agent,
            to_skill=to_skill or None,
        )
    except TransferError as exc:
        raise error(exc.status, str(exc)) from None
    return web.json_response({"outcome": outcome})


@requires()
async def agents(request: web.Request, agent: Agent) -> web.Response:
    """Colleagues an agent can transfer to: name, state, skills are not secret."""
    async with request.app[SESSIONS]() as session:
        rows = await session.scalars(select(Agent).order_by(Agent.display_name, Agent.username))
        return web.json_response(
            [{"id": a.id, "name": a.display_name or a.username, "status": a.status} for a in rows]
        )
