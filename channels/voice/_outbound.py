"""Calls agents place from the console: the TwiML app's voice URL.

The agent's browser (Twilio's Voice SDK, `device.connect`) starts a call with the
parameters the console gave it (hub.softphone); Twilio then posts here, signed, with
`From` the agent's Client identity. A call is dialled only to the number its ticket
names, for the agent it names, and only while that number has not opted out; it leaves
from the inbox's number and goes on the customer's timeline.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.twiml.voice_response import VoiceResponse

from channels.twilio import bad_request, signed_form
from hub import crm
from hub.conversations import ConversationError
from hub.keys import SESSIONS, SETTINGS
from hub.models import Agent, TimelineEvent
from hub.softphone import agent_of_identity, callable_number, read_ticket

OUTBOUND_PATH = "/webhooks/twilio/voice/outbound"
PLACED = "call.placed"
NOT_ALLOWED = "This call was not started from the console, so it is not placed."
log = logging.getLogger(__name__)


async def outbound_call(request: web.Request) -> web.Response:
    """TwiML for a call from the console: `<Dial callerId=inbox><Number>` the customer."""
    form = await signed_form(request)
    sid = form.get("CallSid", "")
    if not sid or len(sid) > 64 or not sid.isascii() or not sid.isalnum():
        raise bad_request("CallSid is not a Twilio SID.")
    settings = request.app[SETTINGS]
    answer = VoiceResponse()
    caller = agent_of_identity(settings, form.get("From", ""))
    held = read_ticket(settings, form.get("ticket", ""))
    if caller is None or held is None or held[0] != caller or held[2] != form.get("To"):
        log.warning("Call %s from %r refused: no valid ticket", sid, form.get("From", "")[:80])
        answer.say(NOT_ALLOWED)
        answer.hangup()
        return _twiml(answer)
    _, customer_id, number = held
    async with request.app[SESSIONS]() as session, session.begin():
        try:
            call = await callable_number(session, caller, customer_id, number)
        except ConversationError as exc:  # opted out since the agent clicked Call
            answer.say(str(exc))
            answer.hangup()
            return _twiml(answer)
        agent = await session.get(Agent, caller)
        name = (agent.display_name or agent.username) if agent else "An agent"
        if not await _noted(session, customer_id, sid):  # Twilio may ask twice for one call
            crm.record(
                session,
                customer_id=customer_id,
                agent_id=caller,
                kind=PLACED,
                summary=f"{name} called {number}",
                channel="voice",
                sid=sid,
                address=number,
            )
    answer.dial(caller_id=call.caller_id).number(number)
    return _twiml(answer)


async def _noted(session: AsyncSession, customer_id: int, sid: str) -> bool:
    """Whether this call is on the customer's timeline already (a webhook retried)."""
    recent = await session.scalars(
        select(TimelineEvent.data)
        .where(TimelineEvent.customer_id == customer_id, TimelineEvent.kind == PLACED)
        .order_by(TimelineEvent.id.desc())
        .limit(20)
    )
    return any(data.get("sid") == sid for data in recent)


def _twiml(answer: VoiceResponse) -> web.Response:
    return web.Response(text=str(answer), content_type="application/xml")
