"""Calls: each phone call's progress on the record, and the agent who takes it on the line.

A caller waiting in Twilio's queue is a `queue` call; one who asked to be called back
is a `callback_request` (their line is not held); the call we place back to them is a
`callback`. When an agent accepts a voice conversation (`conversation.assigned` on the
bus), the waiting caller is redirected into a `<Dial><Client>` to that agent, or the
customer is called back and put through to them. A caller who hung up first is
recorded as abandoned and the agent is told, whichever of Twilio's reports came first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from hub import crm
from hub.bus import Event, EventBus, make_event
from hub.db import Sessions
from hub.models import Agent, Call, Conversation, Inbox, TimelineEvent, utcnow
from hub.queue import ContactQueue
from hub.settings import Settings

CHANNEL = "voice"
QUEUE, CALLBACK_REQUEST, CALLBACK = "queue", "callback_request", "callback"
# How far along a call is; a status callback never moves it back (they arrive out of order).
PROGRESS = {
    "queued": 1,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "completed": 4,
    "busy": 4,
    "no-answer": 4,
    "failed": 4,
    "canceled": 4,
}
ENDED = frozenset(status for status, rank in PROGRESS.items() if rank == 4)
LABELS = {
    "queued": "Call queued",
    "initiated": "Dialling",
    "ringing": "Ringing",
    "in-progress": "Call answered",
    "completed": "Call ended",
    "busy": "Line busy",
    "no-answer": "No answer",
    "failed": "Call failed",
    "canceled": "Call canceled",
}
# QueueResult values that mean the caller is no longer waiting on the line.
LEFT_QUEUE = frozenset({"hangup", "queue-full", "error", "system-error", "leave"})
NOT_FOUND, NOT_IN_PROGRESS = 20404, 21220  # Twilio's codes for a call that is over
CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
DIAL_SECONDS = 30  # how long the agent's softphone rings
ANSWERED = frozenset({"completed", "answered"})  # DialCallStatus of a call the agent took

log = logging.getLogger(__name__)


class CallBook:
    """Every call's state, from Twilio's reports, and the agent each is put through to."""

    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        bus: EventBus,
        twilio: Client | None,
        settings: Settings,
        status_url: str,
        dialed_url: str,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._bus = bus
        self._twilio = twilio
        self._settings = settings
        self._status_url = status_url
        self._dialed_url = dialed_url

    async def opened(self, sid: str, conversation_id: int, kind: str, number: str) -> None:
        """Remember a call of this conversation, once per CallSid (Twilio retries)."""
        try:
            async with self._sessions() as session, session.begin():
                if await session.scalar(select(Call.id).where(Call.sid == sid)) is None:
                    session.add(
                        Call(sid=sid, conversation_id=conversation_id, kind=kind, number=number)
                    )
        except IntegrityError:
            pass  # a retry of the same webhook stored it first

    async def progressed(self, sid: str, status: str, duration: int | None) -> Call | None:
        """Move a call's status forward (never back); the call if it moved."""
        earlier = [name for name, rank in PROGRESS.items() if rank < PROGRESS[status]]
        now = utcnow()
        async with self._sessions() as session, session.begin():
            moved = await session.execute(
                update(Call)
                .where(Call.sid == sid, Call.status.in_(earlier))
                .values(status=status, duration=duration, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                return None
            call = await session.scalar(select(Call).where(Call.sid == sid))
            assert call is not None
            conversation = await session.get(Conversation, call.conversation_id)
            assert conversation is not None
            summary = LABELS[status]
            if status == "completed" and duration is not None:
                summary = f"Call ended after {_clock(duration)}"
            _record(session, conversation, call, "call.status", summary, status=status)
        await self._updated(call.conversation_id, call.agent_id, summary)
        return call

    async def left_queue(self, sid: str, result: str, seconds: int | None) -> Call | None:
        """Twilio's queue let the caller go (QueueResult): recorded once; the call, if known."""
        async with self._sessions() as session, session.begin():
            call = await session.scalar(select(Call).where(Call.sid == sid))
            if call is None:
                return None
            if call.queue_result is not None:
                return call  # a retried report
            call.queue_result, call.queue_seconds = result, seconds
            call.updated_at = utcnow()
            conversation = await session.get(Conversation, call.conversation_id)
            assert conversation is not None
            waited = f" after {_clock(seconds)}" if seconds is not None else ""
            summary = (
                f"The caller hung up in the queue{waited}"
                if result == "hangup"
                else f"Left the queue{waited}: {result}"
            )
            _record(session, conversation, call, "call.queue_left", summary, queue_result=result)
        await self._updated(call.conversation_id, call.agent_id, summary)
        return call

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
            if first:
                name = agent.display_name or agent.username
                _record(
                    session, conversation, call, "call.connected", f"Call put through to {name}"
                )
        if first:
            await self._updated(call.conversation_id, agent.id, f"Call put through to {name}")
        return self._dial(agent)

    async def dial_agent_of(self, call: Call) -> VoiceResponse | None:
        """TwiML dialling the agent this call was put through to, if it was."""
        if call.agent_id is None:
            return None
        async with self._sessions() as session:
            agent = await session.get(Agent, call.agent_id)
        return None if agent is None else self._dial(agent)

    async def dialed(
        self, sid: str, dial_sid: str, dial_status: str, seconds: int | None
    ) -> bool | None:
        """How the `<Dial>` to the agent ended, on the timeline once per dialled call;
        whether the agent answered (None for a call we do not know)."""
        answered = dial_status in ANSWERED
        async with self._sessions() as session, session.begin():
            call = await session.scalar(select(Call).where(Call.sid == sid))
            if call is None:
                return None
            conversation = await session.get(Conversation, call.conversation_id)
            agent = await session.get(Agent, call.agent_id) if call.agent_id else None
            assert conversation is not None
            seen = await session.scalar(
                select(TimelineEvent.id).where(
                    TimelineEvent.conversation_id == conversation.id,
                    TimelineEvent.kind == "call.dial_ended",
                    TimelineEvent.data["dial_sid"].as_string() == dial_sid,
                )
            )
            if seen is not None:
                return answered
            name = (agent.display_name or agent.username) if agent else "The agent"
            if answered:
                talked = f" for {_clock(seconds)}" if seconds is not None else ""
                summary = f"Talked with {name}{talked}"
            else:
                summary = f"{name} did not answer ({dial_status})"
            _record(
                session,
                conversation,
                call,
                "call.dial_ended",
                summary,
                dial_sid=dial_sid,
                dial_status=dial_status,
            )
        await self._updated(call.conversation_id, call.agent_id, summary)
        return answered

    async def follow(self, events: AsyncIterator[Event]) -> None:
        """Put each accepted voice conversation's caller through to its agent."""
        async for event in events:
            if event.get("type") != "conversation.assigned":
                continue
            try:
                await self.connect(
                    int(event["conversation_id"]), int(event["agent_id"]), int(event["offer_id"])
                )
            except Exception:  # noqa: BLE001 - one bad call must not stop the others
                log.exception("Could not connect conversation %s", event.get("conversation_id"))

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
            await self._missed(conversation_id, agent_id, name)
        else:
            await self._bridge(conversation_id, sid, agent)

    # --- putting calls through ---------------------------------------------------

    async def _bridge(self, conversation_id: int, sid: str, agent: Agent) -> None:
        name = agent.display_name or agent.username
        if self._twilio is None:
            await self._failed(conversation_id, agent.id, name, "Twilio is not configured.")
            return
        try:
            await self._twilio.calls(sid).update_async(twiml=str(self._dial(agent)))
        except TwilioRestException as exc:
            if exc.status == 404 or exc.code in (NOT_FOUND, NOT_IN_PROGRESS):
                await self._missed(conversation_id, agent.id, name)
            else:
                await self._failed(conversation_id, agent.id, name, f"{exc.code} {exc.msg}")
            return
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            await self._failed(conversation_id, agent.id, name, type(exc).__name__)
            return
        summary = f"Call connected to {name}"
        await self._note(conversation_id, agent.id, "call.connected", summary, sid=sid)
        await self._updated(conversation_id, agent.id, summary)

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
            _record(session, conversation, call, "callback.placed", summary)
        await self._updated(conversation_id, agent.id, summary)

    def _dial(self, agent: Agent, answer: VoiceResponse | None = None) -> VoiceResponse:
        answer = answer or VoiceResponse()
        dial = answer.dial(action=self._dialed_url, timeout=DIAL_SECONDS)
        dial.client(self.identity(agent))
        return answer

    def identity(self, agent: Agent) -> str:
        """The Twilio Client identity the agent's softphone registers as."""
        return self._settings.voice_client_identity.format(id=agent.id, username=agent.username)

    # --- when it does not work -----------------------------------------------------

    async def _missed(self, conversation_id: int, agent_id: int, name: str) -> None:
        why = f"The caller hung up before {name} was connected."
        await self._note(conversation_id, agent_id, "call.missed", why)
        await self._abandon_assigned(conversation_id, why)

    async def _failed(self, conversation_id: int, agent_id: int, name: str, detail: str) -> None:
        summary = f"Could not put the call through to {name}: {detail}"
        log.warning("Conversation %s: %s", conversation_id, summary)
        await self._note(conversation_id, agent_id, "call.failed", summary)
        await self._updated(conversation_id, agent_id, summary)

    async def _abandon_assigned(self, conversation_id: int, why: str) -> None:
        """The caller left just as an agent took the call: abandoned, the agent freed.

        (Before any agent answers, `Conversations.abandon` does this for waiting calls.)
        """
        async with self._sessions() as session, session.begin():
            now = utcnow()
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.status != "assigned":
                return
            agent_id = conversation.agent_id
            conversation.status = conversation.disposition = "abandoned"
            conversation.closed_at = conversation.updated_at = now
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation_id,
                agent_id=agent_id,
                kind="conversation.abandoned",
                summary=f"Abandoned: {why}",
                reason=why,
            )
        if agent_id is not None:
            await self._queue.release(agent_id, CHANNEL)
        await self._bus.publish(
            make_event(
                "conversation.closed", conversation_id=conversation_id, agent_id=agent_id, why=why
            )
        )

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

    async def _updated(self, conversation_id: int, agent_id: int | None, summary: str) -> None:
        await self._bus.publish(
            make_event(
                "call.updated",
                conversation_id=conversation_id,
                agent_id=agent_id,
                summary=summary,
            )
        )


def _record(
    session: AsyncSession,
    conversation: Conversation,
    call: Call,
    kind: str,
    summary: str,
    **data: object,
) -> None:
    crm.record(
        session,
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
        agent_id=call.agent_id,
        kind=kind,
        summary=summary,
        channel=CHANNEL,
        sid=call.sid,
        call=call.kind,
        **data,
    )


def _clock(seconds: int) -> str:
    minutes, rest = divmod(max(0, seconds), 60)
    return f"{minutes}:{rest:02d}" if minutes else f"{rest} s"


__all__ = ["CALLBACK", "CALLBACK_REQUEST", "ENDED", "LEFT_QUEUE", "PROGRESS", "QUEUE", "CallBook"]
