"""The console's softphone: `GET|POST /api/voice/token`, the signed-in agent's Twilio
access token (their own identity only); `POST /api/voice/outbound`, what the browser
needs to call one of a customer's numbers (consent checked here and again when Twilio
asks the voice URL what to dial; see hub.softphone); and
`POST /api/voice/conversations/{id}/hold` {"on": true|false}, hold music for the caller
of the agent's call, or the caller back (channels.voice._hold)."""

from __future__ import annotations

from aiohttp import web

from agent_console.auth import requires
from agent_console.responses import error, json_body
from agent_console.teams import may_read_customer
from hub import softphone
from hub.api_models.voice import HoldIn, OutboundCallIn
from hub.conversations import ConversationError
from hub.keys import HOLD_CALL, SESSIONS, SETTINGS
from hub.models import Agent

NOT_CONFIGURED = (
    "The softphone is not configured: set SWITCHBOARD_TWILIO_ACCOUNT_SID, "
    "SWITCHBOARD_TWILIO_API_KEY, SWITCHBOARD_TWILIO_API_SECRET and "
    "SWITCHBOARD_TWILIO_TWIML_APP_SID."
)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/voice/token", voice_token)
    app.router.add_post("/api/voice/token", voice_token)
    app.router.add_post("/api/voice/outbound", outbound_call)
    app.router.add_post("/api/voice/conversations/{conversation_id:\\d+}/hold", hold_call)


@requires()
async def voice_token(request: web.Request, agent: Agent) -> web.Response:
    settings = request.app[SETTINGS]
    if not softphone.configured(settings):
        raise error(404, NOT_CONFIGURED)
    return web.json_response(
        {
            "token": softphone.access_token(settings, agent),
            "identity": softphone.client_identity(settings, agent),
            "ttl": settings.voice_token_ttl,
            "ring_number": agent.ring_number,
        },
        headers={"Cache-Control": "no-store"},
    )


@requires()
async def outbound_call(request: web.Request, agent: Agent) -> web.Response:
    """Body: {"customer_id": 7, "address": "+14155550123"}; the parameters the browser
    passes to `device.connect`."""
    settings = request.app[SETTINGS]
    if not softphone.configured(settings):
        raise error(404, NOT_CONFIGURED)
    wanted = OutboundCallIn.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session:
        if not await may_read_customer(session, agent, wanted.customer_id):
            raise error(404, "No such customer for you.")
        try:
            call = await softphone.callable_number(
                session, agent.id, wanted.customer_id, wanted.address
            )
        except ConversationError as exc:
            raise error(exc.status, str(exc)) from None
    return web.json_response(
        {
            "params": {
                "To": call.to,
                "customer_id": str(call.customer_id),
                "ticket": softphone.ticket(settings, call),
            },
            "caller_id": call.caller_id,
        }
    )


@requires()
async def hold_call(request: web.Request, agent: Agent) -> web.Response:
    wanted = HoldIn.model_validate(await json_body(request))
    conversation_id = int(request.match_info["conversation_id"])
    try:
        summary = await request.app[HOLD_CALL](conversation_id, agent.id, wanted.on)
    except ConversationError as exc:
        raise error(exc.status, str(exc)) from None
    return web.json_response({"on_hold": wanted.on, "summary": summary})
