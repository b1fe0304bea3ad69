"""Custom attributes: the fields admins add to every customer's record.

`GET /api/customer-attributes` lists the definitions for every signed-in agent (the
customer page and the directory's filter show them). Admins define them on the admin
page: `POST /api/admin/customer-attributes` {key, label, kind, options},
`PATCH /api/admin/customer-attributes/{id}` renames (label) or changes a list's
options, `DELETE` removes the attribute and every customer's value of it (the
timeline keeps what each value was). The key and kind stay as created: the API and
filters name the key, and values already given were checked against the kind.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.responses import error, json_body
from hub.api_models.attributes import AttributeChange, AttributeIn, AttributeOut
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import Agent, CustomerAttribute, CustomerAttributeValue

__all__ = ["attribute_out", "setup"]

ITEM = "/api/admin/customer-attributes/{attribute_id:\\d+}"
REFUSAL = "Only admins define customer attributes."


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/customer-attributes", list_attributes)
    r.add_post("/api/admin/customer-attributes", create_attribute)
    r.add_patch(ITEM, update_attribute)
    r.add_delete(ITEM, delete_attribute)


def attribute_out(attribute: CustomerAttribute) -> AttributeOut:
    return AttributeOut(
        id=attribute.id,
        key=attribute.key,
        label=attribute.label,
        kind=attribute.kind,
        options=list(attribute.options),
    )


@requires()
async def list_attributes(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        found = await session.scalars(select(CustomerAttribute).order_by(CustomerAttribute.id))
        body = [attribute_out(a).model_dump() for a in found]
    return web.json_response(body)


@requires(ADMINS, refusal=REFUSAL)
async def create_attribute(request: web.Request, agent: Agent) -> web.Response:
    given = AttributeIn.model_validate(await json_body(request))
    if given.kind == "list" and not given.options:
        raise BadInput("options", "a list attribute needs at least one option.")
    if given.kind != "list" and given.options:
        raise BadInput("options", "only a list attribute has options.")
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            attribute = CustomerAttribute(**given.model_dump())
            session.add(attribute)
            await session.flush()
            body = attribute_out(attribute)
            target = f"customer attribute {attribute.id}"
            record(session, request, agent, "attribute.created", target, given.model_dump())
    except IntegrityError:
        raise BadInput("key", f"there is an attribute {given.key!r} already.", 409) from None
    return web.json_response(text=body.model_dump_json(), status=201)


@requires(ADMINS, refusal=REFUSAL)
async def update_attribute(request: web.Request, agent: Agent) -> web.Response:
    change = AttributeChange.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        attribute = await _attribute(session, request)
        before = attribute_out(attribute).model_dump(include={"label", "options"})
        if change.label is not None:
            attribute.label = change.label
        if change.options is not None:
            if attribute.kind != "list":
                raise BadInput("options", "only a list attribute has options.")
            if not change.options:
                raise BadInput("options", "a list attribute needs at least one option.")
            dropped = [o for o in attribute.options if o not in change.options]
            held = await session.scalar(
                select(func.count()).where(
                    CustomerAttributeValue.attribute_id == attribute.id,
                    CustomerAttributeValue.value_key.in_(dropped),
                )
            )
            if held:
                raise BadInput(
                    "options",
                    f"{held} customer(s) hold an option you removed; change their value first.",
                    409,
                )
            attribute.options = change.options
        body = attribute_out(attribute)
        after = body.model_dump(include={"label", "options"})
        if after != before:
            record(
                session,
                request,
                agent,
                "attribute.updated",
                f"customer attribute {attribute.id}",
                {"before": before, "after": after},
            )
    return web.json_response(text=body.model_dump_json())


@requires(ADMINS, refusal=REFUSAL)
async def delete_attribute(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session, session.begin():
        attribute = await _attribute(session, request)
        await session.execute(
            delete(CustomerAttributeValue).where(
                CustomerAttributeValue.attribute_id == attribute.id
            )
        )
        record(
            session,
            request,
            agent,
            "attribute.deleted",
            f"customer attribute {attribute.id}",
            attribute_out(attribute).model_dump(),
        )
        await session.delete(attribute)
    return web.json_response({"id": attribute.id, "deleted": True})


async def _attribute(session: AsyncSession, request: web.Request) -> CustomerAttribute:
    attribute = await session.get(CustomerAttribute, int(request.match_info["attribute_id"]))
    if attribute is None:
        raise error(404, "No such customer attribute.")
    return attribute
