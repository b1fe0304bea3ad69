"""The admin settings page and its API: agents, queues (inboxes), queue limits and,
through `agent_console.canned`, canned responses.

Admins write; supervisors may read the lists; agents get 403. Routing reads agents'
skills, languages and capacities from the database on every pass, so each change here
counts from the next pass on; we wake the router so that pass is now.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.audit import record
from agent_console.auth import ADMINS, page_for, requires
from agent_console.keys import ROUTER
from agent_console.responses import error, json_body, page
from agent_console.transfers import HANDBACK
from hub.api_models.agents import MAX_CAPACITY, AgentChange, AgentIn, AgentOut
from hub.api_models.queues import LimitIn, QueueChange, QueueIn, QueueOut
from hub.auth import hash_password
from hub.events import AgentUpdated, QueueUpdated
from hub.inputs import BadInput
from hub.keys import BUS, CHANNELS, SESSIONS
from hub.models import Agent, AgentSkill, Inbox
from hub.sessions import end_all
from routing.limits import Limit, load_limits, set_limit

WRITERS = ADMINS
READERS = ("admin", "supervisor")  # in this order in the 403 message
AGENT = "/api/admin/agents/{agent_id:\\d+}"
QUEUE = "/api/admin/queues/{queue_id:\\d+}"


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/admin", admin_page)
    r.add_get("/api/admin/agents", list_agents)
    r.add_post("/api/admin/agents", create_agent)
    r.add_patch(AGENT, update_agent)
    r.add_get("/api/admin/queues", list_queues)
    r.add_post("/api/admin/queues", create_queue)
    r.add_patch(QUEUE, update_queue)
    r.add_get("/api/admin/queue-limits", list_limits)
    r.add_post("/api/admin/queue-limits", put_limit)


@page_for(WRITERS, "Admins only", "The settings page is for admins.")
async def admin_page(request: web.Request, agent: Agent) -> web.Response:
    return page(request, "admin.html")


# --- agents ----------------------------------------------------------------------


@requires(READERS)
async def list_agents(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        agents = list(await session.scalars(select(Agent).order_by(Agent.username)))
        skills = await skills_of(session, [a.id for a in agents])
    return web.json_response([_agent_json(a, skills.get(a.id, {})) for a in agents])


async def skills_of(session: AsyncSession, agent_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = await session.execute(
        select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level)
        .where(AgentSkill.agent_id.in_(agent_ids))
        .order_by(AgentSkill.skill)
    )
    skills: dict[int, dict[str, int]] = {}
    for agent_id, skill, level in rows.all():
        skills.setdefault(agent_id, {})[skill] = level
    return skills


def agent_out(agent: Agent, skills: dict[str, int]) -> AgentOut:
    return AgentOut(
        id=agent.id,
        username=agent.username,
        display_name=agent.display_name,
        role=agent.role,
        team=agent.team,
        active=agent.active,
        status=agent.status,
        skills=skills,
        languages=list(agent.languages or []),
        capacities={k: int(v) for k, v in (agent.capacities or {}).items()},
        signature=agent.signature or "",
    )


def _agent_json(agent: Agent, skills: dict[str, int]) -> dict[str, Any]:
    return agent_out(agent, skills).model_dump()


def _agent_fields(change: AgentChange, channels: tuple[str, ...]) -> dict[str, Any]:
    """The agent's fields the change sets; the password comes back hashed."""
    fields = change.model_dump(exclude_unset=True, exclude={"password"})
    if any(value is None for value in fields.values()):
        field = next(name for name, value in fields.items() if value is None)
        raise BadInput(field, "must not be null.")
    if change.password is not None:
        try:
            fields["password_hash"] = hash_password(change.password)
        except ValueError as exc:
            raise BadInput("password", f"The password is too short: {exc}.") from None
    if change.capacities is not None and not set(change.capacities) <= set(channels):
        raise BadInput("capacities", f"must map channels ({', '.join(channels)}) to numbers.")
    if change.capacities is not None and max(change.capacities.values(), default=0) > MAX_CAPACITY:
        raise BadInput("capacities", f"must be at most {MAX_CAPACITY} per channel.")
    if change.languages is not None:
        fields["languages"] = list(dict.fromkeys(change.languages))
    return fields


@requires(WRITERS)
async def create_agent(request: web.Request, admin: Agent) -> web.Response:
    change = AgentIn.model_validate(await json_body(request))
    fields = _agent_fields(change, request.app[CHANNELS].names())
    skills = fields.pop("skills", {})
    fields.setdefault("display_name", fields["username"])
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            agent = Agent(status="offline", **fields)
            session.add(agent)
            await session.flush()
            session.add_all(
                AgentSkill(agent_id=agent.id, skill=s, level=v) for s, v in skills.items()
            )
            shown = {k: v for k, v in fields.items() if k != "password_hash"}
            record(
                session, request, admin, "agent.created", _who(agent), {**shown, "skills": skills}
            )
    except IntegrityError:
        raise error(409, f"The username {fields['username']} is taken.") from None
    await request.app[BUS].publish(AgentUpdated(agent_id=agent.id))
    return web.json_response(_agent_json(agent, skills), status=201)


@requires(WRITERS)
async def update_agent(request: web.Request, admin: Agent) -> web.Response:
    agent_id = int(request.match_info["agent_id"])
    change = AgentChange.model_validate(await json_body(request))
    fields = _agent_fields(change, request.app[CHANNELS].names())
    if agent_id == admin.id and (
        fields.get("active") is False or fields.get("role", "admin") != "admin"
    ):
        raise error(400, "You cannot deactivate yourself or take away your own admin role.")
    skills = fields.pop("skills", None)
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            agent = await session.get(Agent, agent_id)
            if agent is None:
                raise error(404, "No such agent.")
            deactivated = agent.active and fields.get("active") is False
            before_skills = (await skills_of(session, [agent_id])).get(agent_id, {})
            _record_agent_change(session, request, admin, agent, fields, before_skills, skills)
            for name, value in fields.items():
                setattr(agent, name, value)
            if deactivated or "password_hash" in fields:
                # Signed out everywhere: whoever held the old password holds nothing now.
                await end_all(session, agent_id)
            if skills is not None:
                await session.execute(delete(AgentSkill).where(AgentSkill.agent_id == agent_id))
                session.add_all(
                    AgentSkill(agent_id=agent_id, skill=s, level=v) for s, v in skills.items()
                )
            await session.flush()
            current = (await skills_of(session, [agent_id])).get(agent_id, {})
    except IntegrityError:
        raise error(409, f"The username {fields.get('username')} is taken.") from None
    if deactivated:
        # Their offers and conversations go back to the queue, as when a console goes away.
        who = admin.display_name or admin.username
        await request.app[HANDBACK].agent_left(agent_id, f"deactivated by {who}")
        agent.status = "offline"
    await request.app[BUS].publish(AgentUpdated(agent_id=agent_id))
    request.app[ROUTER].wake()
    return web.json_response(_agent_json(agent, current))


def _who(agent: Agent) -> str:
    return f"agent {agent.id} ({agent.username})"


def _record_agent_change(
    session: AsyncSession,
    request: web.Request,
    admin: Agent,
    agent: Agent,
    fields: dict[str, Any],
    before_skills: dict[str, int],
    skills: dict[str, int] | None,
) -> None:
    """One audit line per kind of change: a reset, (de)activation, role, skills, the rest."""
    target = _who(agent)
    if "password_hash" in fields:
        record(session, request, admin, "agent.password_reset", target)
    if "active" in fields and fields["active"] != agent.active:
        action = "agent.reactivated" if fields["active"] else "agent.deactivated"
        record(session, request, admin, action, target)
    if "role" in fields and fields["role"] != agent.role:
        change = {"before": agent.role, "after": fields["role"]}
        record(session, request, admin, "agent.role_changed", target, change)
    if skills is not None and skills != before_skills:
        change = {"before": before_skills, "after": skills}
        record(session, request, admin, "agent.skills_changed", target, change)
    other = {
        name: {"before": getattr(agent, name), "after": value}
        for name, value in fields.items()
        if name not in ("password_hash", "active", "role") and getattr(agent, name) != value
    }
    if other:
        record(session, request, admin, "agent.updated", target, other)


# --- queues ------------------------------------------------------------------------


def queue_out(inbox: Inbox) -> QueueOut:
    return QueueOut(
        id=inbox.id,
        channel=inbox.channel,
        address=inbox.address,
        name=inbox.name,
        skill=inbox.skill or "",
        skill_level=inbox.skill_level,
        language=inbox.language,
        signature=inbox.signature or "",
    )


def _queue_json(inbox: Inbox) -> dict[str, Any]:
    return queue_out(inbox).model_dump()


def _queue_fields(change: QueueChange, channels: tuple[str, ...]) -> dict[str, Any]:
    fields = change.model_dump(exclude_unset=True)
    for name in ("name", "address", "skill_level", "language", "channel", "signature"):
        if name in fields and fields[name] is None:
            raise BadInput(name, "must not be null.")
    if "channel" in fields and fields["channel"] not in channels:
        raise BadInput("channel", f"must be one of {', '.join(channels)}.")
    return fields


@requires(READERS)
async def list_queues(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        inboxes = await session.scalars(select(Inbox).order_by(Inbox.channel, Inbox.address))
        return web.json_response([_queue_json(i) for i in inboxes])


@requires(WRITERS)
async def create_queue(request: web.Request, agent: Agent) -> web.Response:
    fields = _queue_fields(
        QueueIn.model_validate(await json_body(request)), request.app[CHANNELS].names()
    )
    fields.setdefault("name", fields["address"])
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            inbox = Inbox(**fields)
            session.add(inbox)
            await session.flush()
            record(session, request, agent, "queue.created", f"queue {inbox.id}", fields)
    except IntegrityError:
        raise error(409, "There is already a queue on that channel and address.") from None
    return web.json_response(_queue_json(inbox), status=201)


@requires(WRITERS)
async def update_queue(request: web.Request, agent: Agent) -> web.Response:
    body = await json_body(request)
    if "channel" in body:
        raise BadInput("channel", "A queue's channel cannot change; add a new queue instead.")
    fields = _queue_fields(QueueChange.model_validate(body), request.app[CHANNELS].names())
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            inbox = await session.get(Inbox, int(request.match_info["queue_id"]))
            if inbox is None:
                raise error(404, "No such queue.")
            change = {
                name: {"before": getattr(inbox, name), "after": value}
                for name, value in fields.items()
                if getattr(inbox, name) != value
            }
            record(session, request, agent, "queue.updated", f"queue {inbox.id}", change)
            for name, value in fields.items():
                setattr(inbox, name, value)
    except IntegrityError:
        raise error(409, "There is already a queue on that channel and address.") from None
    await request.app[BUS].publish(QueueUpdated(queue_id=inbox.id))
    request.app[ROUTER].wake()
    return web.json_response(_queue_json(inbox))


# --- queue limits ----------------------------------------------------------------------


def _limit_json(limit: Limit) -> dict[str, Any]:
    return {
        "name": limit.name,
        "channel": limit.channel,
        "max_waiting": limit.max_waiting,
        "max_wait_seconds": limit.max_wait_seconds,
        "overflow_queue": limit.overflow_queue,
    }


@requires(READERS)
async def list_limits(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        limits = await load_limits(session)
    ordered = sorted(limits.values(), key=lambda lim: (lim.name, lim.channel or ""))
    return web.json_response([_limit_json(lim) for lim in ordered])


@requires(WRITERS)
async def put_limit(request: web.Request, agent: Agent) -> web.Response:
    """Body: {name, channel (null: every channel), max_waiting, max_wait_seconds,
    overflow_queue}; nulls lift a limit. Replaces that queue's limits."""
    given = LimitIn.model_validate(await json_body(request))
    channels = request.app[CHANNELS].names()
    if given.channel is not None and given.channel not in channels:
        raise BadInput("channel", f"must be one of {', '.join(channels)}, or null for all.")
    if given.overflow_queue == given.name:
        raise BadInput("overflow_queue", "A queue cannot overflow into itself.")
    name, channel = given.name, given.channel
    limit = Limit(name, channel, given.max_waiting, given.max_wait_seconds, given.overflow_queue)
    async with request.app[SESSIONS]() as session, session.begin():
        await set_limit(session, limit)
        target = f"queue limit {name}" + (f" ({channel})" if channel else "")
        record(session, request, agent, "queue_limit.set", target, _limit_json(limit))
    # Every hub process's router applies limits on its next pass; start those passes now.
    await request.app[BUS].publish(QueueUpdated(queue=name, channel=channel))
    request.app[ROUTER].wake()
    return web.json_response(_limit_json(limit))
