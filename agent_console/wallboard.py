"""The supervisor wallboard: its page, the agents on the floor, and what a supervisor may change.

Queue figures come from `agent_console.supervisor`; this module adds who is working on
what, how long each agent has been in their state, and the two actions a supervisor
takes from the wallboard: set an agent's state, and reassign a conversation.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.audit import record, record_done
from agent_console.auth import SUPERVISORS, page_for
from agent_console.keys import ROUTER
from agent_console.me import PRESENCE
from agent_console.responses import error, json_body, page
from agent_console.supervisor import supervisors_only
from agent_console.teams import may_see_agent, may_see_conversation, team_of
from agent_console.transfers import HANDBACK
from hub import sla
from hub.customer_label import customer_label
from hub.events import AgentState, ConversationReassigned
from hub.keys import BUS, CHANNELS, QUEUE, SESSIONS
from hub.keys import PRESENCE as PRESENCE_BOARD
from hub.listeners import Listeners, following
from hub.models import Agent, Conversation, Customer, CustomerAddress, utcnow
from hub.presence import PresenceBoard
from hub.queue import GENERAL_QUEUE
from routing.handback import TransferError

log = logging.getLogger(__name__)
AT_RISK_AHEAD = 15 * 60  # seconds: what turns amber within this is read ahead


class StateClock:
    """When each agent's state last changed, kept on the presence board: with Redis it
    reads the same on every hub process and outlives a restart of any of them."""

    def __init__(self) -> None:
        self.started = utcnow()

    async def changed(self, board: PresenceBoard, agent_id: int, at: str | None) -> None:
        """Record a state change at `at` (the event's ISO time), or now."""
        when = utcnow()
        with contextlib.suppress(TypeError, ValueError):
            when = datetime.fromisoformat(at) if at else when
        await board.state_changed(agent_id, when.timestamp())

    async def since(self, board: PresenceBoard, agent_ids: list[int]) -> dict[int, datetime]:
        """When each agent entered their state; this process's start for those never seen
        changing (their state is older than anything the board remembers)."""
        known = await board.state_since(agent_ids)
        return {
            a: datetime.fromtimestamp(known[a], UTC) if a in known else self.started
            for a in agent_ids
        }


STATE_CLOCK = web.AppKey("state_clock", StateClock)


def setup(app: web.Application) -> None:
    app[STATE_CLOCK] = StateClock()
    r = app.router
    r.add_get("/console/wallboard", wallboard_page)
    r.add_get("/api/supervisor/agents", agents)
    r.add_get("/api/supervisor/sla-at-risk", sla_at_risk)
    r.add_post("/api/supervisor/agents/{agent_id:\\d+}/status", set_agent_status)
    r.add_post("/api/supervisor/conversations/{conversation_id:\\d+}/reassign", reassign)
    app.cleanup_ctx.append(_watch_states)


@page_for(SUPERVISORS, "Supervisors only", "The wallboard is for supervisors.")
async def wallboard_page(request: web.Request, agent: Agent) -> web.Response:
    return page(request, "wallboard.html")


@supervisors_only
async def agents(request: web.Request, supervisor: Agent) -> web.Response:
    """Every agent the supervisor oversees: state and since when, load and capacity per
    channel, open conversations."""
    clock = request.app[STATE_CLOCK]
    async with request.app[SESSIONS]() as session:
        team = await team_of(session, supervisor)
        everyone = [
            a
            for a in await session.scalars(
                select(Agent)
                .where(Agent.role != "analyst")  # they read reports; they take no work
                .order_by(Agent.display_name, Agent.username)
            )
            if team is None or a.id in team
        ]
        rows = await session.execute(
            select(
                Conversation.id,
                Conversation.agent_id,
                Conversation.channel,
                Customer.id,
                Customer.name,
                Customer.details,
            )
            .join(Customer, Customer.id == Conversation.customer_id)
            .where(Conversation.status == "assigned")
            .order_by(Conversation.id)
        )
        assigned = rows.all()
        addresses = await _addresses_of(session, {r[3] for r in assigned if not r[4].strip()})
        held: dict[int, list[dict[str, Any]]] = {}
        for conversation_id, agent_id, channel, customer_id, name, details in assigned:
            label = customer_label(name, addresses.get(customer_id, []), details)
            held.setdefault(agent_id, []).append(
                {"id": conversation_id, "channel": channel, "customer": label}
            )
    loads = await request.app[QUEUE].loads([a.id for a in everyone])
    since = await clock.since(request.app[PRESENCE_BOARD], [a.id for a in everyone])
    now = utcnow()
    return web.json_response(
        [
            {
                "id": a.id,
                "name": a.display_name or a.username,
                "role": a.role,
                "status": a.status,
                "status_since": since[a.id].isoformat(),
                "away_reason": a.away_reason if a.status == "away" else None,
                "wrap_up_until": (
                    a.wrap_up_until.isoformat()
                    if a.wrap_up_until and a.wrap_up_until > now
                    else None
                ),
                "load": loads.get(a.id, {}),
                "capacity": request.app[CHANNELS].capacities(a.capacities),
                "conversations": held.get(a.id, []),
            }
            for a in everyone
        ]
    )


@supervisors_only
async def sla_at_risk(request: web.Request, supervisor: Agent) -> web.Response:
    """Open conversations (of the supervisor's team, or waiting) whose next SLA target
    turns amber within the next AT_RISK_AHEAD seconds, soonest due first; the board
    shows those already amber or red and counts down."""
    horizon = utcnow() + timedelta(seconds=AT_RISK_AHEAD)
    async with request.app[SESSIONS]() as session:
        team = await team_of(session, supervisor)
        found = await sla.at_risk(session, horizon)
        ids = [row.conversation_id for row, *_ in found]
        rows = await session.execute(
            select(
                Conversation, Customer.name, Customer.details, Agent.display_name, Agent.username
            )
            .join(Customer, Customer.id == Conversation.customer_id)
            .outerjoin(Agent, Agent.id == Conversation.agent_id)
            .where(Conversation.id.in_(ids))
        )
        by_id = {c.id: (c, name, details, shown or user) for c, name, details, shown, user in rows}
        nameless = {c.customer_id for c, name, *_ in by_id.values() if not name.strip()}
        addresses = await _addresses_of(session, nameless)
    body = []
    for row, kind, due, warn in found:
        conversation, name, details, agent_name = by_id[row.conversation_id]
        known = addresses.get(conversation.customer_id, [])
        if team is not None and conversation.agent_id not in (None, *team):
            continue
        body.append(
            {
                "conversation_id": conversation.id,
                "customer": customer_label(name, known, details),
                "channel": conversation.channel,
                "queue": conversation.required_skill or GENERAL_QUEUE,
                "agent": agent_name,
                "kind": kind,
                "due": due.isoformat(),
                "warn": warn.isoformat(),
                "breached": getattr(row, f"{kind}_breached_at") is not None,
            }
        )
    return web.json_response(body)


@supervisors_only
async def set_agent_status(request: web.Request, supervisor: Agent) -> web.Response:
    """Body: {"status": "available", "away" or "offline"}; offline requeues their work."""
    status = (await json_body(request)).get("status")
    if status not in PRESENCE:
        raise error(400, f"status must be one of {', '.join(PRESENCE)}")
    agent_id = int(request.match_info["agent_id"])
    async with request.app[SESSIONS]() as session:
        if not await may_see_agent(session, supervisor, agent_id):
            raise error(404, "No such agent in your team.")
    why = f"set {status} by {supervisor.display_name or supervisor.username}"
    if status == "offline":
        async with request.app[SESSIONS]() as session:
            if await session.get(Agent, agent_id) is None:
                raise error(404, "No such agent.")
        requeued = await request.app[HANDBACK].agent_left(agent_id, why)
        change = {"status": status, "requeued": requeued}
        await record_done(request, supervisor, "agent.status_set", f"agent {agent_id}", change)
        return web.json_response({"status": status, "requeued": requeued})
    async with request.app[SESSIONS]() as session, session.begin():
        agent = await session.get(Agent, agent_id)
        if agent is None:
            raise error(404, "No such agent.")
        agent.status, agent.away_reason = str(status), None
        record(
            session,
            request,
            supervisor,
            "agent.status_set",
            f"agent {agent_id}",
            {"status": status},
        )
    await request.app[BUS].publish(AgentState(agent_id=agent_id, status=status, why=why))
    if status == "available":
        request.app[ROUTER].wake()
    return web.json_response({"status": status, "requeued": 0})


@supervisors_only
async def reassign(request: web.Request, supervisor: Agent) -> web.Response:
    """A transfer made on the holder's behalf.

    Body: {"agent_id": N} (offer it to that agent), {"skill": "billing"} (that skill's
    queue) or {"queue": true} (back to the queue it came from).
    """
    body = await json_body(request)
    to_agent, to_skill = body.get("agent_id"), body.get("skill")
    chosen = [to_agent is not None, bool(to_skill), body.get("queue") is True]
    if sum(chosen) != 1 or (
        to_agent is not None and (not isinstance(to_agent, int) or isinstance(to_agent, bool))
    ):
        raise error(400, 'Give one of "agent_id" (a number), "skill" or "queue": true.')
    conversation_id = int(request.match_info["conversation_id"])
    async with request.app[SESSIONS]() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or not await may_see_conversation(
            session, supervisor, conversation
        ):
            raise error(404, "No such conversation.")
        if to_agent is not None and not await may_see_agent(session, supervisor, to_agent):
            raise error(404, "No such agent in your team.")
    holder = conversation.agent_id
    if conversation.status != "assigned" or holder is None:
        raise error(409, f"The conversation is {conversation.status}, not with an agent.")
    try:
        outcome = await request.app[HANDBACK].transfer(
            conversation_id,
            holder,
            to_agent_id=to_agent,
            to_skill=str(to_skill) if to_skill else None,
        )
    except TransferError as exc:
        raise error(exc.status, str(exc)) from None
    change = {"from_agent_id": holder, "to": body, "outcome": outcome}
    target = f"conversation {conversation_id}"
    await record_done(request, supervisor, "conversation.reassigned", target, change)
    await request.app[BUS].publish(
        ConversationReassigned(
            conversation_id=conversation_id,
            agent_id=holder,
            by=supervisor.id,
            outcome=outcome,
        )
    )
    return web.json_response({"outcome": outcome})


STATES = Listeners[web.Application]()


async def _watch_states(app: web.Application) -> AsyncIterator[None]:
    async with following(app[BUS], STATES.bind(app)):
        yield


@STATES.on(AgentState)
async def _clock_state(app: web.Application, event: AgentState) -> None:
    """Time in state starts when the change was published, on whichever hub process."""
    try:
        await app[STATE_CLOCK].changed(app[PRESENCE_BOARD], event.agent_id, event.ts)
    except Exception:  # noqa: BLE001 - a missed time stamp must not stop the clock
        log.warning("time in state of agent %s not recorded", event.agent_id)


async def _addresses_of(
    session: AsyncSession, customer_ids: set[int]
) -> dict[int, list[tuple[str, str]]]:
    """(channel, address) pairs of these customers: what a nameless one is shown by."""
    found: dict[int, list[tuple[str, str]]] = {}
    if not customer_ids:
        return found
    rows = await session.execute(
        select(CustomerAddress.customer_id, CustomerAddress.channel, CustomerAddress.address)
        .where(CustomerAddress.customer_id.in_(customer_ids))
        .order_by(CustomerAddress.id)
    )
    for customer_id, channel, address in rows.all():
        found.setdefault(customer_id, []).append((channel, address))
    return found
