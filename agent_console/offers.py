"""Offers to the signed-in agent: the open ones, and taking or declining one."""

from __future__ import annotations

from aiohttp import web

from agent_console.auth import requires
from agent_console.keys import OFFERS
from agent_console.responses import error
from hub.models import Agent

OFFER = "/api/offers/{offer_id:\\d+}"


def setup(app: web.Application) -> None:
    app.router.add_get("/api/offers", list_offers)
    app.router.add_post(OFFER + "/accept", accept_offer)
    app.router.add_post(OFFER + "/reject", reject_offer)


@requires()
async def list_offers(request: web.Request, agent: Agent) -> web.Response:
    offers = await request.app[OFFERS].pending_for(agent.id)
    return web.json_response([o.__dict__ for o in offers])


@requires()
async def accept_offer(request: web.Request, agent: Agent) -> web.Response:
    offer_id = int(request.match_info["offer_id"])
    conversation_id = await request.app[OFFERS].accept(offer_id, agent.id)
    if conversation_id is None:
        raise error(409, "This offer is no longer open.")
    return web.json_response({"conversation_id": conversation_id})


@requires()
async def reject_offer(request: web.Request, agent: Agent) -> web.Response:
    if not await request.app[OFFERS].reject(int(request.match_info["offer_id"]), agent.id):
        raise error(409, "This offer is no longer open.")
    return web.json_response({"rejected": True})
