"""Macros: a canned reply plus actions, defined by admins, applied by an agent in one go.

`GET /api/macros` lists them (with `?conversation_id=` each has its reply filled in for
that conversation, as canned responses are); admins manage them at `POST
/api/admin/macros`, `PATCH` and `DELETE /api/admin/macros/{id}`. `POST
/api/conversations/{id}/macros/{macro_id}` applies one to a conversation the agent holds:
labels and customer attributes first (all checked before any is stored), then the reply
(the agent's edit of it, if they changed it), then the transfer or close. Each step is the
one the agent would take by hand (the same function, checks and timeline entries), so a
macro can do nothing its agent could not.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent_console.access import visible_conversation
from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.canned import fill, placeholder_values, query_placeholders
from agent_console.customer_edit import change_customer, label_conversation
from agent_console.responses import error, json_body
from agent_console.transfers import HANDBACK
from hub.api_models.conversations import ConversationChange
from hub.api_models.customers import CustomerChange
from hub.api_models.macros import MacroApply, MacroChange, MacroIn, MacroOut
from hub.conversations import ConversationError
from hub.inputs import BadInput
from hub.keys import CONVERSATIONS, SESSIONS
from hub.models import Agent, Conversation, Customer, Macro, utcnow
from routing.handback import TransferError

__all__ = ["setup"]

ITEM = "/api/admin/macros/{macro_id:\\d+}"
REFUSAL = "Only admins define macros."


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/macros", list_macros)
    r.add_post("/api/admin/macros", create_macro)
    r.add_patch(ITEM, update_macro)
    r.add_delete(ITEM, delete_macro)
    r.add_post("/api/conversations/{conversation_id:\\d+}/macros/{macro_id:\\d+}", apply_macro)


def macro_out(macro: Macro) -> MacroOut:
    return MacroOut(id=macro.id, name=macro.name, reply=macro.reply, actions=macro.actions)


@requires()
async def list_macros(request: web.Request, agent: Agent) -> web.Response:
    values = await query_placeholders(request, agent)
    async with request.app[SESSIONS]() as session:
        rows = await session.scalars(select(Macro).order_by(Macro.name))
        body = []
        for macro in rows:
            item = macro_out(macro).model_dump()
            if values is not None:
                item["text"] = fill(macro.reply, values)
            body.append(item)
    return web.json_response(body)


@requires(ADMINS, refusal=REFUSAL)
async def create_macro(request: web.Request, agent: Agent) -> web.Response:
    given = MacroIn.model_validate(await json_body(request))
    fields = given.model_dump(exclude_unset=True)
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            macro = Macro(**{"reply": "", "actions": [], **fields})
            session.add(macro)
            await session.flush()
            body = macro_out(macro)
            record(session, request, agent, "macro.created", f"macro {macro.id}", fields)
    except IntegrityError:
        raise BadInput("name", f"there is a macro named {given.name} already.", 409) from None
    return web.json_response(body.model_dump(), status=201)


@requires(ADMINS, refusal=REFUSAL)
async def update_macro(request: web.Request, agent: Agent) -> web.Response:
    change = MacroChange.model_validate(await json_body(request))
    fields = {k: v for k, v in change.model_dump(exclude_unset=True).items() if v is not None}
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            macro = await session.get(Macro, int(request.match_info["macro_id"]))
            if macro is None:
                raise error(404, "No such macro.")
            before = macro_out(macro).model_dump(include=set(fields))
            for name, value in fields.items():
                setattr(macro, name, value)
            macro.updated_at = utcnow()
            body = macro_out(macro)
            change_seen = {"before": before, "after": fields}
            record(session, request, agent, "macro.updated", f"macro {macro.id}", change_seen)
    except IntegrityError:
        raise BadInput(
            "name", f"there is a macro named {fields.get('name')} already.", 409
        ) from None
    return web.json_response(body.model_dump())


@requires(ADMINS, refusal=REFUSAL)
async def delete_macro(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session, session.begin():
        macro = await session.get(Macro, int(request.match_info["macro_id"]))
        if macro is None:
            raise error(404, "No such macro.")
        await session.delete(macro)
        record(session, request, agent, "macro.deleted", f"macro {macro.id} ({macro.name})")
    return web.json_response({"deleted": macro.id})


@requires()
async def apply_macro(request: web.Request, agent: Agent) -> web.Response:
    given = MacroApply.model_validate(await json_body(request) if request.body_exists else {})
    macro = await _macro(request)
    seen = await visible_conversation(request, agent)
    if seen.agent_id != agent.id or seen.status != "assigned":
        raise error(409, "Apply a macro in a conversation you hold.")
    done: list[str] = await _edit_record(request, agent, seen.id, macro)
    text = given.text
    if text is None:
        async with request.app[SESSIONS]() as session:
            customer = await session.get(Customer, seen.customer_id)
        assert customer is not None
        text = fill(macro.reply, placeholder_values(agent, seen, customer))
    reply: dict[str, Any] | None = None
    conversations = request.app[CONVERSATIONS]
    try:
        if text.strip():
            sent = await conversations.reply(agent.id, seen.id, text)
            reply = {"message_id": sent.message_id, "delivery_status": sent.delivery_status}
            done.append("reply")
        for action in macro.actions:
            if action["type"] == "transfer":
                outcome = await request.app[HANDBACK].transfer(
                    seen.id, agent.id, to_skill=action["skill"]
                )
                done.append(f"transfer:{outcome}")
            elif action["type"] == "close":
                await conversations.close(agent.id, seen.id, action["code"])
                done.append("close")
    except (ConversationError, TransferError) as exc:
        raise error(exc.status, f"{'; '.join(done) or 'Nothing'} done, then: {exc}") from None
    return web.json_response({"macro_id": macro.id, "done": done, "reply": reply})


async def _edit_record(
    request: web.Request, agent: Agent, conversation_id: int, macro: Macro
) -> list[str]:
    """Labels and attributes, all checked before any is stored: one bad value, none set."""
    labels = [a["label"] for a in macro.actions if a["type"] == "label"]
    attributes = {a["key"]: a["value"] for a in macro.actions if a["type"] == "attribute"}
    done: list[str] = []
    async with request.app[SESSIONS]() as session, session.begin():
        conversation = await session.get(Conversation, conversation_id)
        customer = await session.get(Customer, conversation.customer_id) if conversation else None
        assert conversation is not None and customer is not None
        if labels:
            wanted = ConversationChange.model_validate(
                {"labels": [*conversation.labels, *labels]}
            ).labels
            label_conversation(session, conversation, wanted, agent.id)
            done.append("labels")
        if attributes:
            change = CustomerChange.model_validate({"attributes": attributes})
            await change_customer(session, customer, change, agent.id)
            done.append("attributes")
    return done


async def _macro(request: web.Request) -> Macro:
    async with request.app[SESSIONS]() as session:
        macro = await session.get(Macro, int(request.match_info["macro_id"]))
    if macro is None:
        raise error(404, "No such macro.")
    return macro
