"""The admin settings page and its API: agents, queues (inboxes), queue limits and,
through `agent_console.canned`, canned responses.

Admins write; supervisors may read the lists; agents get 403. Routing reads agents'
skills, languages and capacities from the database on every pass, so each change here
counts from the next pass on; we wake the router so that pass is now.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import ADMINS, page_for, requires
from agent_console.keys import ROUTER
from agent_console.responses import error, json_body, page
from agent_console.transfers import HANDBACK
from hub.auth import hash_password
from hub.events import AgentUpdated, QueueUpdated
from hub.keys import BUS, CHANNELS, SESSIONS
from hub.models import Agent, AgentSkill, Inbox
from hub.queue import GENERAL_QUEUE
from hub.sessions import end_all
from routing.limits import Limit, load_limits, set_limit

WRITERS = ADMINS
READERS = ("admin", "supervisor")  # in this order in the 403 message
ROLES = ("agent", "supervisor", "admin")
MAX_CAPACITY = 50
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
SKILL = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2})?")
AGENT = "/api/admin/agents/{agent_id:\\d+}"
QUEUE = "/api/admin/queues/{queue_id:\\d+}"
MAX_WAITING = 100_000
MAX_WAIT_SECONDS = 7 * 24 * 3600


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
        skills = await _skills(session, [a.id for a in agents])
    return web.json_response([_agent_json(a, skills.get(a.id, {})) for a in agents])


async def _skills(session: AsyncSession, agent_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = await session.execute(
        select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level)
        .where(AgentSkill.agent_id.in_(agent_ids))
        .order_by(AgentSkill.skill)
    )
    skills: dict[int, dict[str, int]] = {}
    for agent_id, skill, level in rows.all():
        skills.setdefault(agent_id, {})[skill] = level
    return skills


def _agent_json(agent: Agent, skills: dict[str, int]) -> dict[str, Any]:
    return {
        "id": agent.id,
        "username": agent.username,
        "display_name": agent.display_name,
        "role": agent.role,
        "team": agent.team,
        "active": agent.active,
        "status": agent.status,
        "skills": skills,
        "languages": list(agent.languages or []),
        "capacities": {k: int(v) for k, v in (agent.capacities or {}).items()},
    }


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body[name]
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise error(400, f"{name} must be a text of at most {limit} characters.")
    return value.strip()


def _int(value: object, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise error(400, f"{name} must be a whole number from {low} to {high}.")
    return value


def _agent_fields(body: dict[str, Any], channels: tuple[str, ...]) -> dict[str, Any]:
    """The agent's fields given in the body, checked; the password comes back hashed."""
    fields: dict[str, Any] = {}
    if "username" in body:
        username = _text(body, "username", 64)
        if not USERNAME.fullmatch(username):
            raise error(400, "username must be 2 to 64 letters, digits, '.', '_' or '-'.")
        fields["username"] = username
    if "display_name" in body:
        fields["display_name"] = _text(body, "display_name", 200)
    if "team" in body:
        fields["team"] = _text(body, "team", 64)
    if "role" in body:
        if body["role"] not in ROLES:
            raise error(400, f"role must be one of {', '.join(ROLES)}.")
        fields["role"] = body["role"]
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise error(400, "active must be true or false.")
        fields["active"] = body["active"]
    if "password" in body:
        password = body["password"]
        if not isinstance(password, str):
            raise error(400, "password must be a text.")
        try:
            fields["password_hash"] = hash_password(password)
        except ValueError as exc:
            raise error(400, f"The password is too short: {exc}.") from None
    if "skills" in body:
        skills = body["skills"]
        if not isinstance(skills, dict) or not all(
            isinstance(s, str) and SKILL.fullmatch(s) for s in skills
        ):
            raise error(400, "skills must map skill names (lowercase, digits, - or _) to levels.")
        fields["skills"] = {s: _int(v, f"The level of {s}", 1, 10) for s, v in skills.items()}
    if "languages" in body:
        languages = body["languages"]
        if not isinstance(languages, list) or not all(
            isinstance(code, str) and LANGUAGE.fullmatch(code) for code in languages
        ):
            raise error(400, "languages must be a list of language codes like en or pt-BR.")
        fields["languages"] = list(dict.fromkeys(languages))
    if "capacities" in body:
        capacities = body["capacities"]
        if not isinstance(capacities, dict) or not set(capacities) <= set(channels):
            raise error(400, f"capacities must map channels ({', '.join(channels)}) to numbers.")
        fields["capacities"] = {
            c: _int(n, f"The {c} capacity", 0, MAX_CAPACITY) for c, n in capacities.items()
        }
    return fields


@requires(WRITERS)
async def create_agent(request: web.Request, admin: Agent) -> web.Response:
    body = await json_body(request)
    for required in ("username", "password"):
        if not body.get(required):
            raise error(400, f"{required} is required.")
    fields = _agent_fields(body, request.app[CHANNELS].names())
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
    except IntegrityError:
        raise error(409, f"The username {fields['username']} is taken.") from None
    await request.app[BUS].publish(AgentUpdated(agent_id=agent.id))
    return web.json_response(_agent_json(agent, skills), status=201)


@requires(WRITERS)
async def update_agent(request: web.Request, admin: Agent) -> web.Response:
    agent_id = int(request.match_info["agent_id"])
    fields = _agent_fields(await json_body(request), request.app[CHANNELS].names())
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
            current = (await _skills(session, [agent_id])).get(agent_id, {})
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


# --- queues ------------------------------------------------------------------------

# What an admin may set on a queue (an inbox: one address on one channel).
QUEUE_TEXT_FIELDS = {"name": 200, "address": 320}


def _queue_json(inbox: Inbox) -> dict[str, Any]:
    return {
        "id": inbox.id,
        "channel": inbox.channel,
        "address": inbox.address,
        "name": inbox.name,
        "skill": inbox.skill or "",
        "skill_level": inbox.skill_level,
        "language": inbox.language,
    }


def _queue_fields(body: dict[str, Any], channels: tuple[str, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, limit in QUEUE_TEXT_FIELDS.items():
        if name in body:
            fields[name] = _text(body, name, limit)
    if "address" in fields and not fields["address"]:
        raise error(400, "address must not be empty.")
    if "channel" in body:
        if body["channel"] not in channels:
            raise error(400, f"channel must be one of {', '.join(channels)}.")
        fields["channel"] = body["channel"]
    if "skill" in body:
        skill = body["skill"]
        if skill in (None, ""):
            fields["skill"] = None
        elif isinstance(skill, str) and SKILL.fullmatch(skill):
            fields["skill"] = skill
        else:
            raise error(400, "skill must be a skill name (lowercase, digits, - or _) or empty.")
    if "skill_level" in body:
        fields["skill_level"] = _int(body["skill_level"], "skill_level", 1, 10)
    if "language" in body:
        language = body["language"]
        if not isinstance(language, str) or not LANGUAGE.fullmatch(language):
            raise error(400, "language must be a language code like en or pt-BR.")
        fields["language"] = language
    return fields


@requires(READERS)
async def list_queues(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        inboxes = await session.scalars(select(Inbox).order_by(Inbox.channel, Inbox.address))
        return web.json_response([_queue_json(i) for i in inboxes])


@requires(WRITERS)
async def create_queue(request: web.Request, agent: Agent) -> web.Response:
    body = await json_body(request)
    for required in ("channel", "address"):
        if not body.get(required):
            raise error(400, f"{required} is required.")
    fields = _queue_fields(body, request.app[CHANNELS].names())
    fields.setdefault("name", fields["address"])
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            inbox = Inbox(**fields)
            session.add(inbox)
    except IntegrityError:
        raise error(409, "There is already a queue on that channel and address.") from None
    return web.json_response(_queue_json(inbox), status=201)


@requires(WRITERS)
async def update_queue(request: web.Request, agent: Agent) -> web.Response:
    fields = _queue_fields(await json_body(request), request.app[CHANNELS].names())
    if "channel" in fields:
        raise error(400, "A queue's channel cannot change; add a new queue instead.")
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            inbox = await session.get(Inbox, int(request.match_info["queue_id"]))
            if inbox is None:
                raise error(404, "No such queue.")
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


def _queue_name(value: object, name: str) -> str:
    if not isinstance(value, str) or not SKILL.fullmatch(value):
        raise error(
            400, f"{name} must be a skill's queue or {GENERAL_QUEUE} (lowercase, digits, - or _)."
        )
    return value


def _optional_int(body: dict[str, Any], name: str, high: int) -> int | None:
    value = body.get(name)
    return None if value is None else _int(value, name, 0, high)


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
    body = await json_body(request)
    name = _queue_name(body.get("name"), "name")
    channel = body.get("channel") or None
    channels = request.app[CHANNELS].names()
    if channel is not None and channel not in channels:
        raise error(400, f"channel must be one of {', '.join(channels)}, or null for all.")
    overflow = body.get("overflow_queue") or None
    if overflow is not None and _queue_name(overflow, "overflow_queue") == name:
        raise error(400, "A queue cannot overflow into itself.")
    limit = Limit(
        name,
        channel,
        _optional_int(body, "max_waiting", MAX_WAITING),
        _optional_int(body, "max_wait_seconds", MAX_WAIT_SECONDS),
        overflow,
    )
    async with request.app[SESSIONS]() as session, session.begin():
        await set_limit(session, limit)
    # Every hub process's router applies limits on its next pass; start those passes now.
    await request.app[BUS].publish(QueueUpdated(queue=name, channel=channel))
    request.app[ROUTER].wake()
    return web.json_response(_limit_json(limit))
