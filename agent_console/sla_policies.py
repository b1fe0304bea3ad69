"""SLA policies, managed by admins: `GET /api/admin/sla-policies` lists them (admins and
supervisors), `POST` adds one, `PUT` and `DELETE /api/admin/sla-policies/{id}` replace
or remove one. Each change goes to the audit log. Conversations already open take the
new targets the next time they move."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent_console.audit import record
from agent_console.auth import ADMINS, SUPERVISORS, requires
from agent_console.responses import error, json_body
from hub.api_models.sla import SlaPolicyIn, SlaPolicyOut
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import Agent, SlaPolicy, utcnow

__all__ = ["setup"]

LIST = "/api/admin/sla-policies"
ITEM = LIST + "/{policy_id:\\d+}"
REFUSAL = "Only admins change SLA policies."


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get(LIST, list_policies)
    r.add_post(LIST, create_policy)
    r.add_put(ITEM, replace_policy)
    r.add_delete(ITEM, delete_policy)


def policy_out(policy: SlaPolicy) -> SlaPolicyOut:
    return SlaPolicyOut.model_validate(
        {name: getattr(policy, name) for name in SlaPolicyOut.model_fields}
    )


@requires(SUPERVISORS)
async def list_policies(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        rows = await session.scalars(select(SlaPolicy).order_by(SlaPolicy.id))
        body = [policy_out(p).model_dump() for p in rows]
    return web.json_response(body)


@requires(ADMINS, refusal=REFUSAL)
async def create_policy(request: web.Request, agent: Agent) -> web.Response:
    given = _policy_in(await json_body(request))
    fields = given.model_dump()
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            policy = SlaPolicy(**fields)
            session.add(policy)
            await session.flush()
            body = policy_out(policy)
            record(session, request, agent, "sla_policy.created", f"sla policy {policy.id}", fields)
    except IntegrityError:
        raise _taken(given.name) from None
    return web.json_response(body.model_dump(), status=201)


@requires(ADMINS, refusal=REFUSAL)
async def replace_policy(request: web.Request, agent: Agent) -> web.Response:
    given = _policy_in(await json_body(request))
    fields = given.model_dump()
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            policy = await session.get(SlaPolicy, int(request.match_info["policy_id"]))
            if policy is None:
                raise error(404, "No such SLA policy.")
            before = policy_out(policy).model_dump(exclude={"id"})
            for name, value in fields.items():
                setattr(policy, name, value)
            policy.updated_at = utcnow()
            body = policy_out(policy)
            change = {"before": before, "after": fields}
            record(session, request, agent, "sla_policy.updated", f"sla policy {policy.id}", change)
    except IntegrityError:
        raise _taken(given.name) from None
    return web.json_response(body.model_dump())


@requires(ADMINS, refusal=REFUSAL)
async def delete_policy(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session, session.begin():
        policy = await session.get(SlaPolicy, int(request.match_info["policy_id"]))
        if policy is None:
            raise error(404, "No such SLA policy.")
        await session.delete(policy)
        target = f"sla policy {policy.id} ({policy.name})"
        record(session, request, agent, "sla_policy.deleted", target)
    return web.json_response({"deleted": policy.id})


def _policy_in(body: object) -> SlaPolicyIn:
    given = SlaPolicyIn.model_validate(body)
    if not given.has_target():
        raise BadInput("first_response", "set at least one target (first_response, ...).")
    return given


def _taken(name: str) -> BadInput:
    return BadInput("name", f"there is an SLA policy named {name} already.", 409)
