"""Holding a call: the agent puts the caller on hold music and takes them back.

A call put through to an agent is the caller's call running `<Dial>` to the agent's
softphone (or own phone). Hold redirects the caller's call to hold music, which ends
the agent's leg; taking the caller back redirects it to the same `<Dial>` again, so the
agent's softphone rings and the console answers it. No conference is needed for that.
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from sqlalchemy import select
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from channels.voice._calls import CALLBACK, ENDED, QUEUE, announce, record
from hub.bus import EventBus
from hub.conversations import ConversationError
from hub.db import Sessions
from hub.models import Agent, Call, Conversation, utcnow

ON_HOLD = "Please hold."
NOT_FOUND = 20404


class CallHold:
    """Hold and resume for the live call of a conversation, by the agent who has it."""

    def __init__(
        self,
        sessions: Sessions,
        bus: EventBus,
        twilio: Client | None,
        hold_music_url: str,
        dial: Callable[[Agent], VoiceResponse],
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._twilio = twilio
        self._music = hold_music_url
        self._dial = dial

    async def hold(self, conversation_id: int, agent_id: int, on: bool) -> str:
        """Put the caller on hold (`on`) or back through to the agent; what happened, in a
        sentence. ConversationError when there is no live call of the agent's to hold."""
        async with self._sessions() as session:
            agent = await session.get(Agent, agent_id)
            call = await session.scalar(
                select(Call)
                .where(
                    Call.conversation_id == conversation_id,
                    Call.agent_id == agent_id,
                    Call.kind.in_((QUEUE, CALLBACK)),
                    Call.status.not_in(ENDED),
                )
                .order_by(Call.id.desc())
                .limit(1)
            )
        if agent is None or call is None:
            raise ConversationError("This conversation has no call of yours to hold.")
        if self._twilio is None:
            raise ConversationError("Twilio is not configured.", 503)
        answer = self._dial(agent)
        if on:
            answer = VoiceResponse()
            answer.say(ON_HOLD)
            answer.play(self._music, loop=0)
        try:
            await self._twilio.calls(call.sid).update_async(twiml=str(answer))
        except TwilioRestException as exc:
            if exc.status == 404 or exc.code == NOT_FOUND:
                raise ConversationError("The call has ended.") from None
            raise ConversationError(f"Twilio refused: {exc.code} {exc.msg}", 502) from None
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            raise ConversationError(f"Could not reach Twilio: {type(exc).__name__}", 502) from None
        name = agent.display_name or agent.username
        summary = f"{name} put the caller on hold" if on else f"{name} took the caller back"
        async with self._sessions() as session, session.begin():
            stored = await session.get(Call, call.id)
            conversation = await session.get(Conversation, conversation_id)
            if stored is not None and conversation is not None:
                stored.updated_at = utcnow()
                kind = "call.held" if on else "call.resumed"
                record(session, conversation, stored, kind, summary)
        await announce(self._bus, conversation_id, agent_id, summary)
        return summary
