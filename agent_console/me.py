"""The signed-in agent: who they are (`/api/me`), the presence they set for themselves,
their signature (`PUT /api/me/signature`), which ends their email (hub.conversations),
and the phone their calls ring instead of the console (`PUT /api/me/ring-number`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agent_console.auth import requires
from agent_console.keys import ROUTER
from agent_console.responses import error, json_body
from hub import softphone
from hub.api_models.agents import PresenceChange, SignatureIn
from hub.api_models.voice import RingNumberIn
from hub.events import AgentState
from hub.keys import BUS, SESSIONS, SETTINGS
from hub.models import Agent
from hub.settings import Settings

PRESENCE = ("available", "away", "offline")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/me", me)
    app.router.add_post("/api/me/status", set_status)
    app.router.add_put("/api/me/signature", set_signature)
    app.router.add_put("/api/me/ring-number", set_ring_number)


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "username": agent.username,
        "display_name": agent.display_name or agent.username,
        "role": agent.role,
        "status": agent.status,
        "away_reason": agent.away_reason if agent.status == "away" else None,
        "signature": agent.signature or "",
        "ring_number": agent.ring_number,
    }


def away_reasons(settings: Settings) -> list[str]:
    """What an agent may say they are away for, in the order the hub lists them."""
    return [reason.strip() for reason in settings.away_reasons.split(",") if reason.strip()]


@requires()
async def me(request: web.Request, agent: Agent) -> web.Response:
    settings = request.app[SETTINGS]
    return web.json_response(
        {
            **agent_json(agent),
            "away_reasons": away_reasons(settings),
            # Whether the console's softphone may ask for a token (GET /api/voice/token).
            "softphone": softphone.configured(settings),
        }
    )


@requires()
async def set_status(request: web.Request, agent: Agent) -> web.Response:
    """Body: {"status": "available" | "away" | "offline", "reason": one of the away
    reasons, only with away (left out: away without saying why)}."""
    change = PresenceChange.model_validate(await json_body(request))
    status, reason = change.status, change.reason or None
    if reason is not None and status != "away":
        raise error(400, "reason: only an agent who is away gives a reason")
    if reason is not None and reason not in away_reasons(request.app[SETTINGS]):
        reasons = ", ".join(away_reasons(request.app[SETTINGS]))
        raise error(400, f"reason: {reason!r} is not one of the away reasons ({reasons})")
    async with request.app[SESSIONS]() as session, session.begin():
        stored = await session.get(Agent, agent.id)
        assert stored is not None
        stored.status, stored.away_reason = status, reason
    await request.app[BUS].publish(AgentState(agent_id=agent.id, status=status, reason=reason))
    if status == "available":
        request.app[ROUTER].wake()
    return web.json_response({"status": status})


@requires()
async def set_signature(request: web.Request, agent: Agent) -> web.Response:
    given = SignatureIn.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        stored = await session.get(Agent, agent.id)
        assert stored is not None
        stored.signature = given.signature.strip()
    return web.json_response({"signature": stored.signature})


@requires()
async def set_ring_number(request: web.Request, agent: Agent) -> web.Response:
    """Body: {"ring_number": "+14155550199"} to have calls ring that phone, or null to
    have them ring the console's softphone."""
    given = RingNumberIn.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        stored = await session.get(Agent, agent.id)
        assert stored is not None
        stored.ring_number = given.ring_number
    return web.json_response({"ring_number": given.ring_number})
