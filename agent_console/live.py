"""The console's live socket, /console/ws: each event to the agents who hear it.

Who hears what is the catalogue's to say (`hub.events`: an event's audience); this
module keeps which agents and supervisors hold a socket on this hub process.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web

from agent_console.auth import CONSOLE, SUPERVISORS, signed_in_session
from agent_console.me import agent_json
from hub.bus import Event
from hub.events import AgentUpdated, Audience, SessionsEnded, heard_by
from hub.keys import AGENT_SESSIONS, BUS
from hub.listeners import following
from hub.sockets import SocketGroups

AGENT_SOCKETS = web.AppKey("agent_sockets", SocketGroups)
# Agent ids of supervisors holding a console socket on this hub process.
SUPERVISOR_SOCKETS = web.AppKey("supervisor_sockets", set[int])
SIGNED_OUT = 4401  # the close code a console hears when its agent's session ended
# Events an agent's socket receives when the event names that agent.
AGENT_EVENTS = heard_by(Audience.AGENT)
# Events every supervisor's socket receives, whoever they name: the wallboard's feed.
SUPERVISOR_EVENTS = heard_by(Audience.SUPERVISORS)


def setup(app: web.Application) -> None:
    app[AGENT_SOCKETS] = SocketGroups()
    app[SUPERVISOR_SOCKETS] = set()
    app.router.add_get("/console/ws", console_socket)
    app.cleanup_ctx.append(_fan_out)


async def console_socket(request: web.Request) -> web.WebSocketResponse:
    signed_in = await signed_in_session(request)
    if signed_in is None:  # a socket is not a page to redirect, nor an API to answer in JSON
        raise web.HTTPUnauthorized(text="Log in first.")
    agent = signed_in.agent
    if agent.role not in CONSOLE:  # an analyst reads reports, not the floor's events
        raise web.HTTPForbidden(text="The console's live events are for its agents.")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await ws.prepare(request)
    sockets = request.app[AGENT_SOCKETS]
    supervisors = request.app[SUPERVISOR_SOCKETS]
    peer = sockets.add(agent.id, ws, signed_in.session_id)
    if agent.role in SUPERVISORS:
        supervisors.add(agent.id)
    peer.send({"type": "hello", "agent": agent_json(agent)})
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
        ends_sessions = event.get("type") in (AgentUpdated.name, SessionsEnded.name)
        if ends_sessions and event.get("agent_id") in sockets:
            await _close_ended_sessions(app, int(event["agent_id"]))

    async with following(app[BUS], deliver):
        yield
    await sockets.close_all()


async def _close_ended_sessions(app: web.Application, agent_id: int) -> None:
    """Consoles whose session ended (signed out, a password reset, the agent deactivated)
    close at once, on whichever hub process holds them: the change reaches every
    process as agent.updated or sessions.ended."""
    sockets = app[AGENT_SOCKETS]
    opened_with = set(sockets.tags(agent_id))
    ended = opened_with - await app[AGENT_SESSIONS].live(sorted(opened_with))
    await sockets.close_tagged(agent_id, ended, SIGNED_OUT, b"signed out")
    if agent_id not in sockets:
        app[SUPERVISOR_SOCKETS].discard(agent_id)


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
