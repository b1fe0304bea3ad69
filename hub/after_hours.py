"""What a customer who writes while the team is closed hears: one automatic reply per
conversation saying when to expect an answer (the next opening), on channels whose
traits ask for it (email, SMS).

The reply goes out as the hub, never to an opted-out address, marked
`Auto-Submitted: auto-replied` on email (RFC 3834) so other robots do not answer it.
Mail that is itself automated is stored but never queued (channels.email), so it never
reaches here. Every hub process hears the queued contact; the message's unique key lets
one of them send it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from hub.channel_traits import ChannelRegistry
from hub.conversations import Conversations
from hub.db import Sessions
from hub.hours import Schedule, is_open, next_opening
from hub.loops import Background
from hub.models import (
    WAITING_STATUSES,
    Conversation,
    CustomerAddress,
    Inbox,
    Message,
    MessageDirection,
    utcnow,
)
from hub.queue import GENERAL_QUEUE
from hub.schedules import hours_of

__all__ = ["AfterHours", "acknowledgement"]

AUTO_REPLIED = (("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"))
ACKNOWLEDGEMENT = (
    "Thank you for your message. Our team is closed right now; we will answer after we "
    "open again, {opening}."
)

log = logging.getLogger(__name__)


def acknowledgement(schedule: Schedule, now: datetime) -> str:
    """The automatic reply's text: when the team opens next, in its own time zone."""
    opening = next_opening(schedule, now)
    if opening is None:
        return ACKNOWLEDGEMENT.format(opening="as soon as we can").replace(", as", " as")
    local = opening.astimezone(schedule.zone())
    when = f"{local:%A %d %B} at {local:%H:%M} ({schedule.timezone} time)"
    return ACKNOWLEDGEMENT.format(opening=f"on {when}")


class AfterHours:
    """Acknowledges contacts that arrive closed, once per conversation."""

    def __init__(
        self, sessions: Sessions, conversations: Conversations, channels: ChannelRegistry
    ) -> None:
        self._sessions = sessions
        self._conversations = conversations
        self._channels = channels
        self._jobs = Background()

    def acknowledge_soon(self, conversation_id: int, channel: str) -> None:
        """Acknowledge in the background, so a slow relay holds up no other listener."""
        self._jobs.start(
            self._acknowledged(conversation_id, channel),
            f"acknowledging conversation {conversation_id} out of hours failed",
        )

    async def close(self) -> None:
        """Stop acknowledgements still being sent (the message row says whether one went)."""
        await self._jobs.close()

    async def _acknowledged(self, conversation_id: int, channel: str) -> None:
        await self.contact_queued(conversation_id, channel)

    async def contact_queued(self, conversation_id: int, channel: str) -> str | None:
        """Send the acknowledgement if the conversation waits while its team is closed and
        nobody answered it yet; its delivery status, or None when none was due."""
        if channel not in self._channels or not self._channels[channel].acknowledges_closed:
            return None
        now = utcnow()
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.status not in WAITING_STATUSES:
                return None
            inbox = await session.get(Inbox, conversation.inbox_id)
            schedule = await hours_of(
                session,
                channel=conversation.channel,
                inbox=inbox.address if inbox else None,
                queue=conversation.required_skill or GENERAL_QUEUE,
            )
            if schedule is None or is_open(schedule, now):
                return None
            answered = await session.scalar(
                select(Message.id).where(
                    Message.conversation_id == conversation_id,
                    Message.direction == MessageDirection.OUTGOING,
                )
            )
            last = await session.scalar(
                select(Message.sender)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == MessageDirection.INCOMING,
                )
                .order_by(Message.id.desc())
            )
            opted_out = await session.scalar(
                select(CustomerAddress.opted_out_at).where(
                    CustomerAddress.channel == conversation.channel,
                    CustomerAddress.address == (last or ""),
                )
            )
        if answered is not None or opted_out is not None:
            return None
        status = await self._conversations.notify(
            conversation_id,
            acknowledgement(schedule, now),
            headers=AUTO_REPLIED,
            once=f"closed-ack:{conversation_id}",
        )
        log.info("conversation %d acknowledged out of hours: %s", conversation_id, status)
        return status
