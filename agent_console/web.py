"""The agent console: login, the JSON API the page calls, and the live socket /console/ws."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy import or_, select

from agent_console.keys import KNOWLEDGE, OFFERS, ROUTER
from agent_console.teams import may_see_conversation, may_see_customer
from agent_console.views import conversation_view, timeline_view
from hub import crm
from hub.auth import COOKIE_NAME, verify_password
from hub.bus import Event
from hub.conversations import ConversationError
from hub.events import AgentState, Audience, ChatTyping, heard_by
from hub.keys import BUS, CONVERSATIONS, SESSIONS, SETTINGS, SIGNER
from hub.listeners import following
from hub.models import Agent, Conversation, Message, Offer
from hub.sockets import SocketGroups

STATIC = Path(__file__).parent / "static"
STATIC_ROUTE = "console_static"
AGENT_SOCKETS = web.AppKey("agent_sockets", SocketGroups)
PRESENCE = ("available", "away", "offline")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Events an agent's socket receives when the event names that agent.
AGENT_EVENTS = heard_by(Audience.AGENT)
# Events every supervisor's socket receives, whoever they name: the wallboard's feed.
SUPERVISOR_EVENTS = heard_by(Audience.SUPERVISORS)
SUPERVISOR_ROLES = ("supervisor", "admin")
# Agent ids of supervisors holding a console socket on this hub process.
SUPERVISOR_SOCKETS = web.AppKey("supervisor_sockets", set[int])


def setup(app: web.Application) -> None:
    app[AGENT_SOCKETS] = SocketGroups()
    app[SUPERVISOR_SOCKETS] = set()
    r = app.router
    r.add_get("/", home)
    r.add_get("/console/login", login_page)
    r.add_post("/console/login", login)
    r.add_post("/console/logout", logout)
    r.add_get("/console", console_page)
    r.add_get("/console/ws", console_socket)
    r.add_static("/console/static", STATIC, append_version=True, name=STATIC_ROUTE)
    r.add_get("/api/me", me)
    r.add_post("/api/me/status", set_status)
    r.add_get("/api/offers", list_offers)
    r.add_post("/api/offers/{offer_id:\\d+}/accept", accept_offer)
    r.add_post("/api/offers/{offer_id:\\d+}/reject", reject_offer)
    r.add_get("/api/conversations", list_conversations)
    r.add_get("/api/conversations/{conversation_id:\\d+}", get_conversation)
    r.add_post("/api/conversations/{conversation_id:\\d+}/reply", reply)
    r.add_post("/api/conversations/{conversation_id:\\d+}/note", note)
    r.add_post("/api/conversations/{conversation_id:\\d+}/close", close)
    r.add_post("/api/conversations/{conversation_id:\\d+}/typing", typing)
    r.add_post("/api/conversations/{conversation_id:\\d+}/seen", seen)
    r.add_get("/api/customers/{customer_id:\\d+}/timeline", customer_timeline)
    r.add_get("/api/knowledge/search", knowledge_search)
    app.cleanup_ctx.append(_fan_out)


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/console")


# --- login -----------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    return _page(request, "login.html", error="", username="")


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    async with request.app[SESSIONS]() as session:
        agent = await session.scalar(select(Agent).where(Agent.username == username))
    if agent is None or not agent.active or not verify_password(agent.password_hash, password):
        return _page(
            request,
            "login.html",
            status=401,
            error="Wrong username or password.",
            username=username[:64],
        )
    response = web.HTTPSeeOther("/console")
    settings = request.app[SETTINGS]
    response.set_cookie(
        COOKIE_NAME,
        request.app[SIGNER].issue(agent.id),
        httponly=True,
        samesite="Lax",
        secure=settings.cookie_secure,
        max_age=settings.session_max_age,
        path="/",
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/console/login")
    response.del_cookie(COOKIE_NAME, path="/")
    raise response


async def current_agent(request: web.Request) -> Agent | None:
    agent_id = request.app[SIGNER].read(request.cookies.get(COOKIE_NAME))
    if agent_id is None:
        return None
    async with request.app[SESSIONS]() as session:
        agent = await session.get(Agent, agent_id)
    # A deactivated agent's session ends at once, wherever it was issued.
    return agent if agent is not None and agent.active else None


async def require_agent(request: web.Request) -> Agent:
    agent = await current_agent(request)
    if agent is None:
        raise _error(401, "Log in first.")
    return agent


async def _json_body(request: web.Request) -> dict[str, Any]:
    # Requiring JSON keeps cross-site forms out: a browser cannot send it without CORS.
    if request.content_type != "application/json":
        raise _error(415, "Send JSON.")
    try:
        body = await request.json()
    except ValueError:
        raise _error(400, "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _error(400, "The body must be a JSON object.")
    return body


_ERRORS: dict[int, type[web.HTTPError]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    415: web.HTTPUnsupportedMediaType,
}


def _error(status: int, message: str) -> web.HTTPError:
    """An HTTP error whose JSON body says, in a sentence, what went wrong."""
    error_class = _ERRORS.get(status, web.HTTPBadRequest)
    return error_class(text=json.dumps({"error": message}), content_type="application/json")


# --- pages -----------------------------------------------------------------


# The pages load only our own files: injected markup could not run a script or call out.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        " form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_STATIC_REF = re.compile(r"\{\{static:([\w.-]+)\}\}")


def _page(request: web.Request, name: str, status: int = 200, **values: str) -> web.Response:
    """A page from static/ with versioned asset URLs and HTML-escaped values filled in."""
    assets = request.app.router[STATIC_ROUTE]
    page = (STATIC / name).read_text(encoding="utf-8")
    page = _STATIC_REF.sub(lambda m: str(assets.url_for(filename=m.group(1))), page)
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    return web.Response(text=page, content_type="text/html", status=status, headers=PAGE_HEADERS)


async def page_for(
    request: web.Request, roles: tuple[str, ...], name: str, title: str, reason: str
) -> web.Response:
    """A page only some roles may open: strangers go to the login, others get a plain 403."""
    agent = await current_agent(request)
    if agent is None:
        raise web.HTTPSeeOther("/console/login")
    if agent.role not in roles:
        return web.Response(
            status=403,
            content_type="text/html",
            headers=PAGE_HEADERS,
            text=(
                '<!doctype html><html lang="en"><meta charset="utf-8">'
                f"<title>{html.escape(title)}</title><p>{html.escape(reason)} "
                '<a href="/console">Back to the console</a></p></html>'
            ),
        )
    return _page(request, name)


async def console_page(request: web.Request) -> web.Response:
    if await current_agent(request) is None:
        raise web.HTTPSeeOther("/console/login")
    return _page(request, "console.html")


# --- API -------------------------------------------------------------------


async def me(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    return web.json_response(_agent_json(agent))


def _agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "username": agent.username,
        "display_name": agent.display_name or agent.username,
        "role": agent.role,
        "status": agent.status,
    }


async def set_status(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    status = (await _json_body(request)).get("status")
    if status not in PRESENCE:
        raise _error(400, f"status must be one of {', '.join(PRESENCE)}")
    async with request.app[SESSIONS]() as session, session.begin():
        stored = await session.get(Agent, agent.id)
        assert stored is not None
        stored.status = str(status)
    await request.app[BUS].publish(AgentState(agent_id=agent.id, status=status))
    if status == "available":
        request.app[ROUTER].wake()
    return web.json_response({"status": status})


async def list_offers(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    offers = await request.app[OFFERS].pending_for(agent.id)
    return web.json_response([o.__dict__ for o in offers])


async def accept_offer(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    offer_id = int(request.match_info["offer_id"])
    conversation_id = await request.app[OFFERS].accept(offer_id, agent.id)
    if conversation_id is None:
        raise _error(409, "This offer is no longer open.")
    return web.json_response({"conversation_id": conversation_id})


async def reject_offer(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    if not await request.app[OFFERS].reject(int(request.match_info["offer_id"]), agent.id):
        raise _error(409, "This offer is no longer open.")
    return web.json_response({"rejected": True})


async def list_conversations(request: web.Request) -> web.Response:
    agent = await require_agent(request)
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


async def _visible_conversation(
    request: web.Request, agent: Agent, conversation_id: int | None = None
) -> Conversation:
    """A conversation the agent may see: assigned or offered to them (supervisors: any)."""
    if conversation_id is None:
        conversation_id = int(request.match_info["conversation_id"])
    async with request.app[SESSIONS]() as session:
        conversation = await session.get(Conversation, conversation_id)
        if (
            conversation is not None
            and agent.role in ("supervisor", "admin")
            and await may_see_conversation(session, agent, conversation)
        ):
            return conversation
        if conversation is not None and conversation.agent_id == agent.id:
            return conversation
        offered = await session.scalar(
            select(Offer.id).where(
                Offer.conversation_id == conversation_id,
                Offer.agent_id == agent.id,
                Offer.status == "pending",
            )
        )
        if conversation is not None and offered is not None:
            return conversation
    raise _error(404, "No such conversation for you.")


async def get_conversation(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    conversation = await _visible_conversation(request, agent)
    async with request.app[SESSIONS]() as session:
        return web.json_response(await conversation_view(session, conversation))


async def _act(request: web.Request, action: str) -> web.Response:
    agent = await require_agent(request)
    conversation_id = int(request.match_info["conversation_id"])
    body = await _json_body(request)
    conversations = request.app[CONVERSATIONS]
    try:
        if action == "reply":
            channel = body.get("channel")
            if channel is not None and not isinstance(channel, str):
                raise _error(400, "channel must be a channel name, like sms or email.")
            sent = await conversations.reply(
                agent.id, conversation_id, str(body.get("text", "")), channel or None
            )
            return web.json_response(
                {"message_id": sent.message_id, "delivery_status": sent.delivery_status}
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
        raise _error(exc.status, str(exc)) from None


async def reply(request: web.Request) -> web.Response:
    return await _act(request, "reply")


async def note(request: web.Request) -> web.Response:
    return await _act(request, "note")


async def close(request: web.Request) -> web.Response:
    return await _act(request, "close")


async def typing(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    conversation = await _visible_conversation(request, agent)
    # {"on": false} when the agent stops (sent, cleared, idle); no body means typing.
    on = (await _json_body(request)).get("on") is not False if request.body_exists else True
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


async def seen(request: web.Request) -> web.Response:
    """The agent's console shows the customer's messages up to `message_id`."""
    agent = await require_agent(request)
    message_id = (await _json_body(request)).get("message_id")
    if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id >= 2**31:
        raise _error(400, "message_id must be the id of a message.")
    conversation_id = int(request.match_info["conversation_id"])
    try:
        newest = await request.app[CONVERSATIONS].seen(agent.id, conversation_id, message_id)
    except ConversationError as exc:
        raise _error(exc.status, str(exc)) from None
    return web.json_response({"read_up_to": newest})


async def customer_timeline(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    customer_id = int(request.match_info["customer_id"])
    async with request.app[SESSIONS]() as session:
        if agent.role not in ("supervisor", "admin"):
            mine = await session.scalar(
                select(Conversation.id)
                .outerjoin(Offer, Offer.conversation_id == Conversation.id)
                .where(
                    Conversation.customer_id == customer_id,
                    or_(
                        Conversation.agent_id == agent.id,
                        (Offer.agent_id == agent.id) & (Offer.status == "pending"),
                    ),
                )
                .limit(1)
            )
            if mine is None:
                raise _error(404, "No such customer for you.")
        elif not await may_see_customer(session, agent, customer_id):
            raise _error(404, "No such customer for you.")
        events = await crm.timeline(session, customer_id)
        return web.json_response(timeline_view(events))


async def knowledge_search(request: web.Request) -> web.Response:
    await require_agent(request)
    query = request.query.get("q", "")
    suggestions = await request.app[KNOWLEDGE].suggest(query)
    return web.json_response([s.__dict__ for s in suggestions])


# --- live socket -------------------------------------------------------------


async def console_socket(request: web.Request) -> web.WebSocketResponse:
    agent = await current_agent(request)
    if agent is None:
        raise web.HTTPUnauthorized(text="Log in first.")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await ws.prepare(request)
    sockets = request.app[AGENT_SOCKETS]
    supervisors = request.app[SUPERVISOR_SOCKETS]
    peer = sockets.add(agent.id, ws)
    if agent.role in SUPERVISOR_ROLES:
        supervisors.add(agent.id)
    peer.send({"type": "hello", "agent": _agent_json(agent)})
    try:
        async for frame in ws:
            if frame.type == WSMsgType.TEXT and frame.data == "ping":
                peer.send({"type": "pong"})
    finally:
        await sockets.discard(agent.id, peer)
        if agent.id not in sockets:
            supervisors.discard(agent.id)
    return ws


async def _fan_out(app: web.Application) -> AsyncIterator[None]:
    sockets, supervisors = app[AGENT_SOCKETS], app[SUPERVISOR_SOCKETS]

    async def deliver(event: Event) -> None:
        _deliver(sockets, supervisors, event)

    async with following(app[BUS], deliver):
        yield
    await sockets.close_all()


def _deliver(sockets: SocketGroups, supervisors: set[int], event: Event) -> None:
    """The event to the agent it names; queue and agent events to every supervisor too.
    Sent as published: the console reads the catalogue's wire form."""
    kind, agent_id = event.get("type"), event.get("agent_id")
    watched = kind in SUPERVISOR_EVENTS and bool(supervisors)
    if kind in AGENT_EVENTS and agent_id is not None and not (watched and agent_id in supervisors):
        sockets.send(agent_id, event)
    if watched:
        text = json.dumps(event)
        for supervisor_id in list(supervisors):
            sockets.send(supervisor_id, text)
