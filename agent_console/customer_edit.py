"""Keeping the record right: edit a customer's name, segment, language and labels, and a
conversation's labels. Every change goes on the customer's timeline with who made it.

`PATCH /api/customers/{id}` takes any of `name`, `segment`, `language`, `labels` and
`attributes` ({key: value}, null removes a value; each checked against the kind its
admin gave it, hub.customer_attributes); `PATCH /api/conversations/{id}` takes `labels`.
Whoever may open the customer (or the conversation) may edit it; a customer merged into
another is edited there instead.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.access import visible_conversation
from agent_console.auth import requires
from agent_console.customer_page import _readable
from agent_console.responses import error, json_body
from hub import crm
from hub.api_models.conversations import ConversationChange
from hub.api_models.customers import CustomerChange
from hub.customer_attributes import AttributeValueError, attribute_values, check_value, shown
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import (
    Agent,
    Conversation,
    Customer,
    CustomerAttribute,
    CustomerAttributeValue,
    utcnow,
)

__all__ = ["change_customer", "edit_conversation", "edit_customer", "label_conversation"]


@requires()
async def edit_customer(request: web.Request, viewer: Agent) -> web.Response:
    change = CustomerChange.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        customer = await _readable(session, viewer, request)
        changed = await change_customer(session, customer, change, viewer.id)
        body = {
            "id": customer.id,
            "name": customer.name,
            "segment": customer.segment,
            "language": customer.language,
            "labels": customer.labels,
            "attributes": await attribute_values(session, customer.id),
            "changed": changed,
        }
    return web.json_response(body)


async def change_customer(
    session: AsyncSession, customer: Customer, change: CustomerChange, agent_id: int | None
) -> dict[str, dict[str, Any]]:
    """Apply the fields `change` sets, each on the timeline (by `agent_id`, or by an
    integration when None); what changed, before and after."""
    if customer.merged_into_id is not None:
        raise error(409, f"This customer was merged into {customer.merged_into_id}.")
    changed: dict[str, dict[str, Any]] = {}
    for field in sorted(change.model_fields_set - {"attributes"}):
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
    if change.attributes:
        changed.update(await _set_attributes(session, customer, change.attributes, agent_id))
    return changed


@requires()
async def edit_conversation(request: web.Request, viewer: Agent) -> web.Response:
    change = ConversationChange.model_validate(await json_body(request))
    seen = await visible_conversation(request, viewer)
    async with request.app[SESSIONS]() as session, session.begin():
        conversation = await session.get(Conversation, seen.id)
        assert conversation is not None
        label_conversation(session, conversation, change.labels, viewer.id)
        body = {"id": conversation.id, "labels": conversation.labels}
    return web.json_response(body)


def label_conversation(
    session: AsyncSession, conversation: Conversation, labels: list[str], agent_id: int
) -> None:
    """Give the conversation these labels, on the timeline when they changed."""
    before = list(conversation.labels)
    if labels != before:
        conversation.labels = labels
        crm.record(
            session,
            customer_id=conversation.customer_id,
            conversation_id=conversation.id,
            agent_id=agent_id,
            kind="conversation.labelled",
            summary=f"Labels: {_shown(before)} → {_shown(labels)}",
            before=before,
            after=labels,
        )


async def _set_attributes(
    session: AsyncSession, customer: Customer, wanted: dict[str, Any], agent_id: int | None
) -> dict[str, dict[str, Any]]:
    """Every value checked before any is stored: a bad one refuses the whole change."""
    known = {
        a.key: a
        for a in await session.scalars(
            select(CustomerAttribute).where(CustomerAttribute.key.in_(list(wanted)))
        )
    }
    checked: dict[str, tuple[Any, str] | None] = {}
    for key in sorted(wanted):
        if key not in known:
            raise BadInput(f"attributes.{key}", "no such attribute (an admin defines them).")
        if wanted[key] is None:
            checked[key] = None
            continue
        try:
            checked[key] = check_value(known[key], wanted[key])
        except AttributeValueError as exc:
            raise BadInput(f"attributes.{key}", str(exc)) from None
    stored = {
        v.attribute_id: v
        for v in await session.scalars(
            select(CustomerAttributeValue).where(CustomerAttributeValue.customer_id == customer.id)
        )
    }
    changed: dict[str, dict[str, Any]] = {}
    for key, new in checked.items():
        attribute = known[key]
        held = stored.get(attribute.id)
        before = held.value if held is not None else None
        after = new[0] if new is not None else None
        if before == after:
            continue
        if new is None:
            assert held is not None
            await session.delete(held)
        elif held is None:
            session.add(
                CustomerAttributeValue(
                    customer_id=customer.id,
                    attribute_id=attribute.id,
                    value=after,
                    value_key=new[1],
                )
            )
        else:
            held.value, held.value_key, held.updated_at = after, new[1], utcnow()
        changed[f"attributes.{key}"] = {"before": before, "after": after}
        crm.record(
            session,
            customer_id=customer.id,
            agent_id=agent_id,
            kind="customer.attribute",
            summary=f"{attribute.label}: {shown(before)} → {shown(after)}",
            field=key,
            attribute_id=attribute.id,
            label=attribute.label,
            before=before,
            after=after,
        )
    await session.flush()
    return changed


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
