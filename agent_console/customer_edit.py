"""Keeping the record right: edit a customer's name, segment, language and labels, and a
conversation's labels. Every change goes on the customer's timeline with who made it.

`PATCH /api/customers/{id}` takes any of `name`, `segment`, `language`, `labels`;
`PATCH /api/conversations/{id}` takes `labels`. Whoever may open the customer (or the
conversation) may edit it; a customer merged into another is edited there instead.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.access import visible_conversation
from agent_console.auth import requires
from agent_console.customer_page import _readable
from agent_console.responses import error, json_body
from hub import crm
from hub.api_models.conversations import ConversationChange
from hub.api_models.customers import CustomerChange
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import Agent, Conversation, Customer

__all__ = ["change_customer", "edit_conversation", "edit_customer"]


@requires()
async def edit_customer(request: web.Request, viewer: Agent) -> web.Response:
    change = CustomerChange.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        customer = await _readable(session, viewer, request)
        changed = change_customer(session, customer, change, viewer.id)
        body = {
            "id": customer.id,
            "name": customer.name,
            "segment": customer.segment,
            "language": customer.language,
            "labels": customer.labels,
            "changed": changed,
        }
    return web.json_response(body)


def change_customer(
    session: AsyncSession, customer: Customer, change: CustomerChange, agent_id: int | None
) -> dict[str, dict[str, Any]]:
    """Apply the fields `change` sets, each on the timeline (by `agent_id`, or by an
    integration when None); what changed, before and after."""
    if customer.merged_into_id is not None:
        raise error(409, f"This customer was merged into {customer.merged_into_id}.")
    changed: dict[str, dict[str, Any]] = {}
    for field in sorted(change.model_fields_set):
        before, after = getattr(customer, field), getattr(change, field)
        if field == "name" and after is None:
            raise BadInput("name", "a customer's name cannot be removed, only changed.")
        if field == "segment" and after is None:
            after = "standard"
        if after != before:
            setattr(customer, field, after)
            changed[field] = {"before": before, "after": after}
            crm.record(
                session,
                customer_id=customer.id,
                agent_id=agent_id,
                kind="customer.updated",
                summary=f"{field.title()}: {_shown(before)} → {_shown(after)}",
                field=field,
                before=before,
                after=after,
            )
    return changed


@requires()
async def edit_conversation(request: web.Request, viewer: Agent) -> web.Response:
    change = ConversationChange.model_validate(await json_body(request))
    seen = await visible_conversation(request, viewer)
    async with request.app[SESSIONS]() as session, session.begin():
        conversation = await session.get(Conversation, seen.id)
        assert conversation is not None
        before = list(conversation.labels)
        if change.labels != before:
            conversation.labels = change.labels
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation.id,
                agent_id=viewer.id,
                kind="conversation.labelled",
                summary=f"Labels: {_shown(before)} → {_shown(change.labels)}",
                before=before,
                after=change.labels,
            )
        body = {"id": conversation.id, "labels": conversation.labels}
    return web.json_response(body)


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
