"""Past conversations: reopen one onto the queue, or take one over.

`POST /api/conversations/{id}/reopen` puts a closed or abandoned conversation back in line
(routing offers it under its rules and capacities); `POST /api/conversations/{id}/take-over`
makes a past one, or one still waiting, the asking agent's at once, within their
capacity (routing.reopening). Whoever may open the conversation may do either, as
`GET /api/conversations/{id}` decides (agent_console.access): an agent their own past
conversations, a supervisor their team's and those with nobody yet, admins any. Each is
on the customer's timeline with who did it.
"""

from __future__ import annotations

from aiohttp import web

from agent_console.access import visible_conversation
from agent_console.auth import requires
from agent_console.responses import error
from hub.conversations import ConversationError
from hub.models import Agent
from routing.reopening import PastConversations

__all__ = ["PAST", "reopen", "setup", "take_over"]

PAST = web.AppKey("past_conversations", PastConversations)
CONVERSATION = "/api/conversations/{conversation_id:\\d+}"


def setup(app: web.Application) -> None:
    app.router.add_post(CONVERSATION + "/reopen", reopen)
    app.router.add_post(CONVERSATION + "/take-over", take_over)


@requires()
async def reopen(request: web.Request, agent: Agent) -> web.Response:
    conversation = await visible_conversation(request, agent)
    try:
        await request.app[PAST].reopen(conversation.id, agent.id)
    except ConversationError as exc:
        raise error(exc.status, str(exc)) from None
    return web.json_response({"id": conversation.id, "status": "queued"})


@requires()
async def take_over(request: web.Request, agent: Agent) -> web.Response:
    conversation = await visible_conversation(request, agent)
    try:
        await request.app[PAST].take_over(conversation.id, agent.id)
    except ConversationError as exc:
        raise error(exc.status, str(exc)) from None
    return web.json_response({"id": conversation.id, "status": "assigned", "agent_id": agent.id})
