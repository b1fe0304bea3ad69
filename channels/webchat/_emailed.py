"""A copy of the chat by email, when the visitor asks for one.

The visitor sends `transcript`, with `email` or without it to use the email they gave
before; the hub mails the messages of their newest chat (never the private notes) from
the first email inbox, puts it on the customer's timeline, and answers `transcript_sent`
(`email`). Refused, with a sentence the widget shows: `email_required`, `invalid_email`,
`no_chat` (the visitor has written nothing yet), `transcript_unavailable` (no email inbox
or the relay did not take it) and `rate_limited` (a few an hour per visitor, so the widget
cannot be used to mail strangers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from channels.webchat import _visitors
from hub import crm
from hub.contacts import OutboundMessage
from hub.keys import RATE_LIMITS, SENDERS, SESSIONS
from hub.models import Inbox, Message
from hub.schedules import hours_of

__all__ = ["PER_HOUR", "TranscriptRefused", "compose", "email_transcript"]

CHANNEL = "chat"
EMAIL = "email"
PER_HOUR = 3
EMAILED = "chat.transcript_emailed"


class TranscriptRefused(Exception):
    """A transcript the hub will not send: `code` and `detail` for the widget."""

    def __init__(self, code: str, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True)
class Line:
    at: datetime
    author: str  # "" for the visitor
    text: str


def compose(lines: list[Line], zone: ZoneInfo, zone_name: str) -> str:
    """The transcript as plain text: one paragraph per message, times on the team's clock."""
    first = lines[0].at.astimezone(zone) if lines else None
    head = "Here is a copy of your chat with us"
    if first is not None:
        head += f" on {first.day} {first:%B %Y}"
    out = [f"{head}. Times are in {zone_name}.", ""]
    for line in lines:
        when = line.at.astimezone(zone).strftime("%H:%M")
        out += [f"[{when}] {line.author or 'You'}:", line.text, ""]
    out.append("To go on with this conversation, reply to this email.")
    return "\n".join(out)


async def email_transcript(request: web.Request, visitor: str, given: str | None, data: Any) -> str:
    """Mail the visitor's newest chat to `data["email"]`, else to `given`; the address used."""
    typed = data.get("email") if isinstance(data, dict) else None
    if typed is not None and not isinstance(typed, str):
        raise TranscriptRefused("invalid_email", "That email address does not look right.")
    email = _visitors.normal_email(typed) if typed and typed.strip() else given
    if typed and typed.strip() and email is None:
        raise TranscriptRefused("invalid_email", "That email address does not look right.")
    if email is None:
        raise TranscriptRefused("email_required", "Give an email address to send the chat to.")
    sessions = request.app[SESSIONS]
    async with sessions() as session:
        conversation = await _visitors.newest_conversation(session, visitor)
        if conversation is None:
            raise TranscriptRefused("no_chat", "There is nothing in this chat to send yet.")
        messages = list(
            await session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id, Message.direction != "note")
                .order_by(Message.id)
            )
        )
        inbox = await session.scalar(
            select(Inbox.address).where(Inbox.channel == EMAIL).order_by(Inbox.id).limit(1)
        )
        chat_inbox = await session.scalar(
            select(Inbox.address).where(Inbox.id == conversation.inbox_id)
        )
        schedule = await hours_of(session, channel=CHANNEL, inbox=chat_inbox)
    sender = request.app[SENDERS].get(EMAIL)
    if inbox is None or sender is None:
        raise TranscriptRefused("transcript_unavailable", "Chats cannot be sent by email here.")
    wait = await request.app[RATE_LIMITS].hit(f"chat:transcript:{visitor}", PER_HOUR, 3600.0)
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        raise TranscriptRefused(
            "rate_limited",
            f"A copy was sent a few times already: try again in {minutes} min.",
            math.ceil(wait),
        )
    zone_name = schedule.timezone if schedule is not None else "UTC"
    lines = [
        Line(m.created_at, "" if m.direction == "incoming" else (m.sender or "Agent"), m.text)
        for m in messages
    ]
    delivery = await sender.send(
        OutboundMessage(
            message_id=0,  # not a message of the conversation: the timeline says it was sent
            conversation_id=conversation.id,
            channel=EMAIL,
            inbox=inbox,
            recipient=email,
            text=compose(lines, ZoneInfo(zone_name), zone_name),
            subject="A copy of your chat with us",
            headers=(("Auto-Submitted", "auto-generated"),),
        )
    )
    if delivery.status in ("failed", "opted_out"):
        raise TranscriptRefused(
            "transcript_unavailable", "The copy could not be sent just now; try again later."
        )
    async with sessions() as session, session.begin():
        crm.record(
            session,
            customer_id=conversation.customer_id,
            conversation_id=conversation.id,
            kind=EMAILED,
            summary=f"Chat transcript emailed to {email} at the visitor's request",
            channel=EMAIL,
            address=email,
        )
    return email
