"""Putting calls through: the waiting caller to the agent who accepts, or a call back out.

When an agent accepts a voice conversation (`conversation.assigned` on the bus), the
caller waiting in Twilio's queue is redirected (REST API) into a `<Dial><Client>` to
that agent, or, for a callback request, the customer is called from the number they
called and then put through. A caller who hung up first is recorded as abandoned and
the agent is told, whichever of Twilio's reports came first.

A caller still holding when routing turns their contact away (the queue is full:
`conversation.rejected`; nobody answered in time: `conversation.abandoned`) is
redirected the same way, out of the queue into TwiML that says so and takes a
voicemail, once per call however many hub processes hear the event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from channels.voice._calls import (
    CALLBACK,
    CALLBACK_REQUEST,
    CHANNEL,
    ENDED,
    LEFT_QUEUE,
    PROGRESS,
    QUEUE,
    announce,
    record,
)
from hub import crm
from hub.bus import EventBus
from hub.conversations import Conversations
from hub.db import Sessions
from hub.events import (
    ConversationAbandoned,
    ConversationAssigned,
    ConversationRejected,
)
from hub.listeners import Listeners
from hub.models import Agent, Call, Conversation, Inbox, Offer, utcnow
from hub.settings import Settings
from hub.softphone import client_identity

NOT_FOUND, NOT_IN_PROGRESS = 20404, 21220  # Twilio's codes for a call that is over
# Putting a call through sets the same TwiML however often it is sent, so a hiccup at
# Twilio (too many requests, a 5xx, a dropped connection) is worth another try or two.
TRANSIENT = frozenset({429, 500, 502, 503, 504})
RETRY_DELAYS = (0.2, 0.8)  # seconds before the second and the third try
CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
DIAL_SECONDS = 30  # how long the agent's softphone (or own phone) rings
# Routing's events for a contact it turned away, and the status that follows.
REDIRECTED = "redirected"  # the QueueResult Twilio reports for a call we redirect

SORRY_SUMMARY = {
    "rejected": "Told the caller the line is busy and offered a voicemail",
    "abandoned": "Told the caller nobody could answer in time and offered a voicemail",
}

log = logging.getLogger(__name__)


class CallBridge:
    """Puts each accepted call through to its agent, once per acceptance."""

    def __init__(
        self,
        sessions: Sessions,
        conversations: Conversations,
        bus: EventBus,
        twilio: Client | None,
        settings: Settings,
        status_url: str,
        dialed_url: str,
        sorry: Callable[[str], VoiceResponse] = lambda _status: VoiceResponse(),
    ) -> None:
        try:
            settings.voice_client_identity.format(id=1, username="agent")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                "SWITCHBOARD_VOICE_CLIENT_IDENTITY may name only {id} and {username}: "
                f"{settings.voice_client_identity!r} ({exc!r})"
            ) from None
        self._sessions = sessions
        self._conversations = conversations
        self._bus = bus
        self._twilio = twilio
        self._settings = settings
        self._status_url = status_url
        self._dialed_url = dialed_url
        self._sorry = sorry  # TwiML for a caller turned away, by conversation status

    async def turn_away(self, conversation_id: int, status: str) -> bool:
        """Redirect the caller still holding for this conversation, which ended `status`
        unanswered, to hear so and leave a voicemail; once per call (the process that
        claims it acts). Whether this process redirected a call."""
        async with self._sessions() as session, session.begin():
            ended = await session.scalar(
                select(Conversation.id).where(
                    Conversation.id == conversation_id, Conversation.status == status
                )
            )
            if ended is None:
                return False
            call = await self._claim_waiting(session, Call.conversation_id == conversation_id)
            if call is None:
                return False  # no caller holding (hung up, put through, or another process)
            sid = call.sid
        twiml = str(self._sorry(status))
        if self._twilio is None:
            await self._turned_away(sid, "Could not tell the caller: Twilio is not configured.")
            return True
        try:
            await self._twilio.calls(sid).update_async(twiml=twiml)
        except TwilioRestException as exc:
            if exc.status == 404 or exc.code in (NOT_FOUND, NOT_IN_PROGRESS):
                return True  # the call ended meanwhile: nobody left to tell
            detail = f"{exc.code} {exc.msg}"
            await self._turned_away(sid, f"Could not tell the caller: {detail}")
            return True
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            await self._turned_away(sid, f"Could not tell the caller: {type(exc).__name__}")
            return True
        await self._turned_away(sid, SORRY_SUMMARY[status])
        return True

    async def turned_away_now(self, sid: str) -> bool:
        """Whether this call's conversation already ended unanswered (routing turned it
        away before the call joined Twilio's queue), so the caller should hear so now.
        The first to find it so records it on the timeline."""
        async with self._sessions() as session, session.begin():
            call = await session.scalar(select(Call).where(Call.sid == sid))
            if call is None or call.kind != QUEUE or call.agent_id is not None:
                return False
            conversation = await session.get(Conversation, call.conversation_id)
            if conversation is None or conversation.status not in SORRY_SUMMARY:
                return False
            claimed = await self._claim_waiting(session, Call.id == call.id)
            status = conversation.status
        if claimed is not None:
            await self._turned_away(sid, SORRY_SUMMARY[status])
        return True

    async def _claim_waiting(
        self, session: AsyncSession, which: ColumnElement[bool]
    ) -> Call | None:
        """Claim the live queued call chosen by `which`: its QueueResult set to
        "redirected" (what Twilio reports for it next), so one process acts."""
        claimed = await session.execute(
            update(Call)
            .where(
                which,
                Call.kind == QUEUE,
                Call.agent_id.is_(None),
                Call.queue_result.is_(None),
                Call.status.not_in(ENDED),
            )
            .values(queue_result=REDIRECTED, updated_at=utcnow())
            .returning(Call.id)
            .execution_options(synchronize_session=False)
        )
        ids = list(claimed.scalars())
        return await session.get(Call, ids[-1]) if ids else None

    async def _turned_away(self, sid: str, summary: str) -> None:
        async with self._sessions() as session, session.begin():
            call = await session.scalar(select(Call).where(Call.sid == sid))
            conversation = await session.get(Conversation, call.conversation_id) if call else None
            if call is None or conversation is None:
                return
            record(session, conversation, call, "call.turned_away", summary)
        await announce(self._bus, conversation.id, None, summary)

    async def connect(self, conversation_id: int, agent_id: int, offer_id: int) -> None:
        """Bridge the waiting caller, or call the customer back, once per accepted offer."""
        async with self._sessions() as session, session.begin():
            call = await session.scalar(
                select(Call)
                .where(
                    Call.conversation_id == conversation_id,
                    Call.kind.in_((QUEUE, CALLBACK_REQUEST)),
                )
                .order_by(Call.id.desc())
                .limit(1)
            )
            if call is None:
                return  # not a call (or not one we hold)
            reached = call.agent_id is not None  # an agent already had this call once
            # Every hub process hears the event; the one that claims the offer acts.
            claimed = await session.execute(
                update(Call)
                .where(Call.id == call.id, (Call.offer_id != offer_id) | Call.offer_id.is_(None))
                .values(offer_id=offer_id, agent_id=agent_id, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return
            agent = await session.get(Agent, agent_id)
            conversation = await session.get(Conversation, conversation_id)
            inbox = await session.get(Inbox, conversation.inbox_id) if conversation else None
            if agent is None or inbox is None:
                return
            sid, kind, number = call.sid, call.kind, call.number
            gone = call.queue_result in LEFT_QUEUE or call.status in ENDED
        name = agent.display_name or agent.username
        if kind == CALLBACK_REQUEST:
            await self._call_back(conversation_id, agent, number, inbox.address)
        elif gone:
            await self._missed(conversation_id, agent_id, name, reached)
        else:
            await self._bridge(conversation_id, sid, agent, reached)

    async def catch_up(self) -> int:
        """Put through accepted calls whose event was missed (a hub process restarted);
        how many this process took."""
        latest = (
            select(Offer.conversation_id, func.max(Offer.id).label("offer_id"))
            .where(Offer.status == "accepted")
            .group_by(Offer.conversation_id)
            .subquery()
        )
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Conversation.id, Conversation.agent_id, latest.c.offer_id)
                    .join(latest, latest.c.conversation_id == Conversation.id)
                    .join(Call, Call.conversation_id == Conversation.id)
                    .where(
                        Conversation.status == "assigned",
                        Call.kind.in_((QUEUE, CALLBACK_REQUEST)),
                        Call.agent_id.is_(None) | (Call.offer_id != latest.c.offer_id),
                    )
                    .distinct()
                )
            ).all()
        for conversation_id, agent_id, offer_id in rows:
            if agent_id is not None:
                await self.connect(conversation_id, agent_id, offer_id)
        return len(rows)

    async def put_through_now(self, sid: str) -> VoiceResponse | None:
        """TwiML dialling the agent who already has this call's conversation, if one does.

        A customer who calls again while an agent holds their conversation goes straight
        to that agent: the call joins the open conversation and is never queued.
        """
        async with self._sessions() as session, session.begin():
            call = await session.scalar(select(Call).where(Call.sid == sid))
            if call is None:
                return None
            conversation = await session.get(Conversation, call.conversation_id)
            if conversation is None or conversation.status != "assigned":
                return None
            agent = await session.get(Agent, conversation.agent_id)
            if agent is None:
                return None
            first = call.agent_id is None
            call.agent_id, call.updated_at = agent.id, utcnow()
            # Claim the acceptance too: its event, if still on its way, then changes nothing.
            call.offer_id = call.offer_id or await session.scalar(
                select(func.max(Offer.id)).where(
                    Offer.conversation_id == conversation.id, Offer.status == "accepted"
                )
            )
            if first:
                name = agent.display_name or agent.username
                record(session, conversation, call, "call.connected", f"Call put through to {name}")
        if first:
            await announce(self._bus, call.conversation_id, agent.id, f"Call put through to {name}")
        return self._dial(agent)

    async def dial_agent_of(self, call: Call) -> VoiceResponse | None:
        """TwiML dialling the agent this call was put through to, if it was."""
        if call.agent_id is None:
            return None
        async with self._sessions() as session:
            agent = await session.get(Agent, call.agent_id)
        return None if agent is None else self._dial(agent)

    def dial_twiml(self, agent: Agent) -> VoiceResponse:
        """TwiML that rings the agent (their softphone, or their own phone)."""
        return self._dial(agent)

    def identity(self, agent: Agent) -> str:
        """The Twilio Client identity the agent's softphone registers as."""
        return client_identity(self._settings, agent)

    # --- putting calls through ---------------------------------------------------

    async def _bridge(
        self, conversation_id: int, sid: str, agent: Agent, reached: bool = False
    ) -> None:
        name = agent.display_name or agent.username
        if self._twilio is None:
            await self._failed(conversation_id, agent.id, name, "Twilio is not configured.")
            return
        twiml = str(self._dial(agent))
        for retry_in in (*RETRY_DELAYS, None):
            try:
                await self._twilio.calls(sid).update_async(twiml=twiml)
                break
            except TwilioRestException as exc:
                if exc.status == 404 or exc.code in (NOT_FOUND, NOT_IN_PROGRESS):
                    await self._missed(conversation_id, agent.id, name, reached)
                    return
                if exc.status in TRANSIENT and retry_in is not None:
                    log.warning("Twilio answered %s putting %s through; retrying", exc.status, sid)
                    await asyncio.sleep(retry_in)
                    continue
                await self._failed(conversation_id, agent.id, name, f"{exc.code} {exc.msg}")
                return
            except (aiohttp.ClientError, TimeoutError) as exc:
                if retry_in is not None:
                    log.warning("could not reach Twilio putting %s through; retrying", sid)
                    await asyncio.sleep(retry_in)
                    continue
                await self._failed(conversation_id, agent.id, name, type(exc).__name__)
                return
            except TwilioException as exc:
                await self._failed(conversation_id, agent.id, name, type(exc).__name__)
                return
        summary = f"Call connected to {name}"
        await self._note(conversation_id, agent.id, "call.connected", summary, sid=sid)
        await announce(self._bus, conversation_id, agent.id, summary)

    async def _call_back(self, conversation_id: int, agent: Agent, number: str, inbox: str) -> None:
        name = agent.display_name or agent.username
        if self._twilio is None:
            await self._failed(conversation_id, agent.id, name, "Twilio is not configured.")
            return
        answer = VoiceResponse()
        answer.say(self._settings.voice_callback_announcement)
        self._dial(agent, answer)
        try:
            placed = await self._twilio.calls.create_async(
                to=number,
                from_=inbox,
                twiml=str(answer),
                status_callback=self._status_url,
                status_callback_event=CALLBACK_EVENTS,
            )
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            detail = f"{exc.code} {exc.msg}" if isinstance(exc, TwilioRestException) else ""
            await self._failed(conversation_id, agent.id, name, detail or type(exc).__name__)
            return
        status = placed.status if placed.status in PROGRESS else "queued"
        async with self._sessions() as session, session.begin():
            call = Call(
                sid=placed.sid,
                conversation_id=conversation_id,
                kind=CALLBACK,
                number=number,
                status=status,
                agent_id=agent.id,
            )
            session.add(call)
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            summary = f"{name} is calling back {number}"
            record(session, conversation, call, "callback.placed", summary)
        await announce(self._bus, conversation_id, agent.id, summary)

    def _dial(self, agent: Agent, answer: VoiceResponse | None = None) -> VoiceResponse:
        answer = answer or VoiceResponse()
        dial = answer.dial(action=self._dialed_url, timeout=DIAL_SECONDS)
        if agent.ring_number:  # an agent without a headset takes calls on their own phone
            dial.number(agent.ring_number)
        else:
            dial.client(self.identity(agent))
        return answer

    # --- when it does not work -----------------------------------------------------

    async def _missed(
        self, conversation_id: int, agent_id: int, name: str, reached: bool = False
    ) -> None:
        if reached:
            # An agent spoke with the caller before (this is a transfer or a requeue):
            # the conversation goes on, by a call back if need be.
            summary = f"The call had ended before it reached {name}."
            await self._note(conversation_id, agent_id, "call.ended", summary)
            await announce(self._bus, conversation_id, agent_id, summary, alert=True)
            return
        why = f"The caller hung up before {name} was connected."
        await self._note(conversation_id, agent_id, "call.missed", why)
        await self._conversations.abandon_answered(conversation_id, why)

    async def _failed(self, conversation_id: int, agent_id: int, name: str, detail: str) -> None:
        summary = f"Could not put the call through to {name}: {detail}"
        log.warning("Conversation %s: %s", conversation_id, summary)
        await self._note(conversation_id, agent_id, "call.failed", summary)
        await announce(self._bus, conversation_id, agent_id, summary, alert=True)

    async def _note(
        self, conversation_id: int, agent_id: int, kind: str, summary: str, **data: object
    ) -> None:
        async with self._sessions() as session, session.begin():
            conversation = await session.get(Conversation, conversation_id)
            if conversation is not None:
                crm.record(
                    session,
                    customer_id=conversation.customer_id,
                    conversation_id=conversation_id,
                    agent_id=agent_id,
                    kind=kind,
                    summary=summary,
                    channel=CHANNEL,
                    **data,
                )


# What the bridge does on hearing an event, on every hub process (the one holding the
# call acts): put accepted callers through, tell callers routing turned away.
BRIDGE_EVENTS = Listeners[CallBridge]()


@BRIDGE_EVENTS.on(ConversationAssigned)
async def _put_through(bridge: CallBridge, event: ConversationAssigned) -> None:
    if event.offer_id is None:  # an agent started it: no caller waits to be put through
        return
    await bridge.connect(event.conversation_id, event.agent_id, event.offer_id)


@BRIDGE_EVENTS.on(ConversationRejected)
async def _line_busy(bridge: CallBridge, event: ConversationRejected) -> None:
    if event.channel == CHANNEL:
        await bridge.turn_away(event.conversation_id, "rejected")


@BRIDGE_EVENTS.on(ConversationAbandoned)
async def _nobody_answered(bridge: CallBridge, event: ConversationAbandoned) -> None:
    if event.channel == CHANNEL:
        await bridge.turn_away(event.conversation_id, "abandoned")


__all__ = ["BRIDGE_EVENTS", "CallBridge"]
