"""Every /api/conversations route: the signed-in agent's list, one in full, what an agent
does in one (reply, note, close, typing, seen), and, from their own modules, search
(`agent_console.search`) and editing labels and fields (`agent_console.customer_edit`).
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from agent_console.access import visible_conversation
from agent_console.auth import requires
from agent_console.customer_edit import edit_conversation
from agent_console.responses import error, json_body
from agent_console.search import search_conversations
from agent_console.views import conversation_view
from hub import sla
from hub.api_models.messages import ReplyIn, ReplySent
from hub.conversations import ConversationError
from hub.events import ChatTyping
from hub.keys import BUS, CHANNELS, CONVERSATIONS, SESSIONS
from hub.models import Agent, Conversation, Message

CONVERSATION = "/api/conversations/{conversation_id:\\d+}"


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/conversations", list_conversations)
    r.add_get("/api/conversations/search", search_conversations)
    r.add_get(CONVERSATION, get_conversation)
    r.add_patch(CONVERSATION, edit_conversation)
    r.add_post(CONVERSATION + "/reply", reply)
    r.add_post(CONVERSATION + "/note", note)
    r.add_post(CONVERSATION + "/close", close)
    r.add_post(CONVERSATION + "/typing", typing)
    r.add_post(CONVERSATION + "/seen", seen)


@requires()
async def list_conversations(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        rows = await session.scalars(
            select(Conversation)
            .where(Conversation.agent_id == agent.id, Conversation.status == "assigned")
            .order_by(Conversation.updated_at.desc())
        )
        return web.json_response(
            [
                {
                    "id": c.id,
                    "channel": c.channel,
                    "subject": c.subject,
                    "customer_id": c.customer_id,
                    "updated_at": c.updated_at.isoformat(),
                }
                for c in rows
            ]
        )


@requires()
async def get_conversation(request: web.Request, agent: Agent) -> web.Response:
    conversation = await visible_conversation(request, agent)
    async with request.app[SESSIONS]() as session:
        view = await conversation_view(session, conversation, request.app[CHANNELS])
    view["sla"] = await sla.current(request.app[SESSIONS], conversation.id)
    return web.json_response(view)


async def _act(request: web.Request, agent: Agent, action: str) -> web.Response:
    conversation_id = int(request.match_info["conversation_id"])
    body = await json_body(request)
    conversations = request.app[CONVERSATIONS]
    try:
        if action == "reply":
            given = ReplyIn.model_validate(body)
            sent = await conversations.reply(
                agent.id,
                conversation_id,
                given.text,
                given.channel or None,
                cc=given.cc,
                bcc=given.bcc,
                template_id=given.template_id,
                variables=given.variables,
            )
            return web.json_response(
                ReplySent(
                    message_id=sent.message_id, delivery_status=sent.delivery_status
                ).model_dump()
            )
        if action == "note":
            message_id = await conversations.note(
                agent.id, conversation_id, str(body.get("text", ""))
            )
            return web.json_response({"message_id": message_id})
        await conversations.close(
            agent.id,
            conversation_id,
            str(body.get("disposition") or "resolved"),
            str(body.get("summary") or ""),
        )
        return web.json_response({"closed": True})
    except ConversationError as exc:
        raise error(exc.status, str(exc)) from None


@requires()
async def reply(request: web.Request, agent: Agent) -> web.Response:
    return await _act(request, agent, "reply")


@requires()
async def note(request: web.Request, agent: Agent) -> web.Response:
    return await _act(request, agent, "note")


@requires()
async def close(request: web.Request, agent: Agent) -> web.Response:
    return await _act(request, agent, "close")


@requires()
async def typing(request: web.Request, agent: Agent) -> web.Response:
    conversation = await visible_conversation(request, agent)
    # {"on": false} when the agent stops (sent, cleared, idle); no body means typing.
    on = (await json_body(request)).get("on") is not False if request.body_exists else True
    async with request.app[SESSIONS]() as session:
        # The visitor who wrote in this conversation (a customer may have several).
        visitor = await session.scalar(
            select(Message.sender)
            .where(
                Message.conversation_id == conversation.id,
                Message.channel == "chat",
                Message.direction == "incoming",
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
    if conversation.channel == "chat" and visitor:
        await request.app[BUS].publish(
            ChatTyping(visitor=visitor, conversation_id=conversation.id, on=on)
        )
    return web.json_response({"ok": True})


@requires()
async def seen(request: web.Request, agent: Agent) -> web.Response:
    """The agent's console shows the customer's messages up to `message_id`."""
    message_id = (await json_body(request)).get("message_id")
    if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id >= 2**31:
        raise error(400, "message_id must be the id of a message.")
    conversation_id = int(request.match_info["conversation_id"])
    try:
        newest = await request.app[CONVERSATIONS].seen(agent.id, conversation_id, message_id)
    except ConversationError as exc:
        raise error(exc.status, str(exc)) from None
    return web.json_response({"read_up_to": newest})
