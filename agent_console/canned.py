"""Canned responses: prepared replies with placeholders, written by admins, inserted by agents.

A placeholder names a field of the conversation in view: {customer.name},
{customer.first_name}, {agent.name}, {agent.first_name}, {conversation.id}. Filling
happens here, on the hub, for the agent and conversation asking. A placeholder we do
not know, or whose value is empty (a customer who never gave a name), stays as it was,
visibly, so the agent sees what still needs writing before sending.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent_console.access import visible_conversation
from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.responses import error, json_body
from hub.conversations import MAX_REPLY
from hub.keys import SESSIONS
from hub.models import Agent, CannedResponse, Conversation, Customer, utcnow

WRITERS = ADMINS
CANNED_REFUSAL = "Only admins change canned responses."
PLACEHOLDER = re.compile(r"\{([a-z_]+\.[a-z_]+)\}")
SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
ITEM = "/api/canned-responses/{canned_id:\\d+}"


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/canned-responses", list_canned)
    r.add_post("/api/canned-responses", create_canned)
    r.add_patch(ITEM, update_canned)
    r.add_delete(ITEM, delete_canned)


def first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else ""


def placeholder_values(
    agent: Agent, conversation: Conversation, customer: Customer
) -> dict[str, str]:
    agent_name = agent.display_name or agent.username
    return {
        "customer.name": customer.name.strip(),
        "customer.first_name": first_name(customer.name),
        "agent.name": agent_name,
        "agent.first_name": first_name(agent_name),
        "conversation.id": str(conversation.id),
    }


def fill(template: str, values: dict[str, str]) -> str:
    """The template with every known, non-empty placeholder replaced; the rest left as written."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1)) or m.group(0), template)


def canned_json(canned: CannedResponse) -> dict[str, Any]:
    return {
        "id": canned.id,
        "shortcut": canned.shortcut,
        "title": canned.title,
        "body": canned.body,
        "updated_at": canned.updated_at.isoformat(),
    }


async def query_placeholders(request: web.Request, agent: Agent) -> dict[str, str] | None:
    """The placeholder values of the conversation named by ?conversation_id=N (one the
    agent may see), or None when the query names none."""
    wanted = request.query.get("conversation_id", "")
    if not wanted:
        return None
    if not wanted.isdigit():
        raise error(400, "conversation_id must be a number.")
    conversation = await visible_conversation(request, agent, int(wanted))
    async with request.app[SESSIONS]() as session:
        customer = await session.get(Customer, conversation.customer_id)
    assert customer is not None
    return placeholder_values(agent, conversation, customer)


@requires()
async def list_canned(request: web.Request, agent: Agent) -> web.Response:
    """Every canned response; with ?conversation_id=N each also has `text`, filled for it."""
    values = await query_placeholders(request, agent)
    async with request.app[SESSIONS]() as session:
        rows = await session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut))
        result = []
        for canned in rows:
            item = canned_json(canned)
            if values is not None:
                item["text"] = fill(canned.body, values)
            result.append(item)
    return web.json_response(result)


def _fields(body: dict[str, Any], partial: bool) -> dict[str, str]:
    """The shortcut, title and body given, checked; all three unless `partial`."""
    fields: dict[str, str] = {}
    for name in ("shortcut", "title", "body"):
        if name not in body:
            if not partial:
                raise error(400, f"{name} is required.")
            continue
        value = body[name]
        if not isinstance(value, str) or not value.strip():
            raise error(400, f"{name} must be a non-empty text.")
        fields[name] = value.strip()
    shortcut = fields.get("shortcut")
    if shortcut is not None:
        fields["shortcut"] = shortcut = shortcut.lower().lstrip("/")
        if not SHORTCUT.fullmatch(shortcut):
            raise error(
                400,
                "shortcut must be 1 to 32 lowercase letters, digits, - or _, starting with a"
                " letter or digit.",
            )
    if len(fields.get("title", "")) > 200:
        raise error(400, "title must be at most 200 characters.")
    if len(fields.get("body", "")) > MAX_REPLY:
        raise error(400, f"body must be at most {MAX_REPLY} characters.")
    return fields


@requires(WRITERS, refusal=CANNED_REFUSAL)
async def create_canned(request: web.Request, agent: Agent) -> web.Response:
    fields = _fields(await json_body(request), partial=False)
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            canned = CannedResponse(**fields)
            session.add(canned)
            await session.flush()
            record(session, request, agent, "canned.created", f"canned {canned.id}", fields)
    except IntegrityError:
        raise error(409, f"The shortcut /{fields['shortcut']} is taken.") from None
    return web.json_response(canned_json(canned), status=201)


@requires(WRITERS, refusal=CANNED_REFUSAL)
async def update_canned(request: web.Request, agent: Agent) -> web.Response:
    fields = _fields(await json_body(request), partial=True)
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            canned = await session.get(CannedResponse, int(request.match_info["canned_id"]))
            if canned is None:
                raise error(404, "No such canned response.")
            change = {n: v for n, v in fields.items() if getattr(canned, n) != v}
            record(session, request, agent, "canned.updated", f"canned {canned.id}", change)
            for name, value in fields.items():
                setattr(canned, name, value)
            canned.updated_at = utcnow()
    except IntegrityError:
        raise error(409, f"The shortcut /{fields.get('shortcut')} is taken.") from None
    return web.json_response(canned_json(canned))


@requires(WRITERS, refusal=CANNED_REFUSAL)
async def delete_canned(request: web.Request, agent: Agent) -> web.Response:
    await json_body(request)  # the same cross-site guard as every other write
    async with request.app[SESSIONS]() as session, session.begin():
        canned = await session.get(CannedResponse, int(request.match_info["canned_id"]))
        if canned is None:
            raise error(404, "No such canned response.")
        shortcut = {"shortcut": canned.shortcut}
        record(session, request, agent, "canned.deleted", f"canned {canned.id}", shortcut)
        await session.delete(canned)
    return web.json_response({"deleted": True})
