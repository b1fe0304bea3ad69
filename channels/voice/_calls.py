"""The record of phone calls: each call's progress, queue outcome and the agent it reached.

A caller waiting in Twilio's queue is a `queue` call; one who asked to be called back
is a `callback_request` (their line is not held); the call we place back to them is a
`callback`. Twilio reports on each (status callbacks, the queue's and the dial's
actions), often more than once and out of order: a call's status only moves forward,
and each report lands on the customer's timeline once.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm
from hub.bus import EventBus
from hub.db import Sessions
from hub.events import CallUpdated
from hub.models import Agent, Call, Conversation, TimelineEvent, utcnow

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
ANSWERED = frozenset({"completed", "answered"})  # DialCallStatus of a call the agent took


class CallBook:
    """Every call's state, from Twilio's reports."""

    def __init__(self, sessions: Sessions, bus: EventBus) -> None:
        self._sessions = sessions
        self._bus = bus

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
                summary = f"Call ended after {clock(duration)}"
            record(session, conversation, call, "call.status", summary, status=status)
        # A call back the customer did not pick up: the agent should know at once.
        unanswered = call.kind == CALLBACK and status in ENDED and status != "completed"
        await announce(
            self._bus,
            call.conversation_id,
            call.agent_id,
            summary,
            unanswered,
            ended=status in ENDED,
        )
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
            waited = f" after {clock(seconds)}" if seconds is not None else ""
            summary = (
                f"The caller hung up in the queue{waited}"
                if result == "hangup"
                else f"Left the queue{waited}: {result}"
            )
            record(session, conversation, call, "call.queue_left", summary, queue_result=result)
        await announce(self._bus, call.conversation_id, call.agent_id, summary)
        return call

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
                talked = f" for {clock(seconds)}" if seconds is not None else ""
                summary = f"Talked with {name}{talked}"
            else:
                summary = f"{name} did not answer ({dial_status})"
            record(
                session,
                conversation,
                call,
                "call.dial_ended",
                summary,
                dial_sid=dial_sid,
                dial_status=dial_status,
            )
        await announce(self._bus, call.conversation_id, call.agent_id, summary)
        return answered


def record(
    session: AsyncSession,
    conversation: Conversation,
    call: Call,
    kind: str,
    summary: str,
    **data: object,
) -> None:
    """Put what happened to a call on its customer's timeline."""
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


async def announce(
    bus: EventBus,
    conversation_id: int,
    agent_id: int | None,
    summary: str,
    alert: bool = False,
    ended: bool = False,
) -> None:
    """Tell the agent's console that a call of this conversation changed (`alert`: say so;
    `ended`: the customer's call is over)."""
    await bus.publish(
        CallUpdated(
            conversation_id=conversation_id,
            agent_id=agent_id,
            summary=summary,
            alert=alert,
            ended=ended,
        )
    )


def clock(seconds: int) -> str:
    minutes, rest = divmod(max(0, seconds), 60)
    return f"{minutes}:{rest:02d}" if minutes else f"{rest} s"


__all__ = [
    "ANSWERED",
    "CALLBACK",
    "CALLBACK_REQUEST",
    "CHANNEL",
    "ENDED",
    "LEFT_QUEUE",
    "PROGRESS",
    "QUEUE",
    "CallBook",
    "announce",
    "clock",
    "record",
]
