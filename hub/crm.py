"""The customer record: every contact, reply, note and outcome lands on the timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import TimelineEvent

# What a person reads for each kind of timeline event, on the customer page and in the
# console alike. A kind missing here is still shown, spelt out from its name (label()).
LABELS = {
    "customer.created": "New customer",
    "customer.updated": "Record changed",
    "customer.attribute": "Attribute changed",
    "customer.note": "Note",
    "customer.merged": "Merged",
    "customer.unmerged": "Merge undone",
    "customer.possible_match": "Possibly the same as another customer",
    "customer.erased": "Erased on request",
    "contact.received": "Message received",
    "chat.details": "Details given in chat",
    "chat.transcript_emailed": "Chat emailed to the customer",
    "conversation.started": "Conversation started",
    "conversation.queued": "Queued",
    "conversation.requeued": "Back in the queue",
    "conversation.assigned": "Assigned",
    "conversation.reopened": "Reopened",
    "conversation.taken_over": "Taken over",
    "conversation.labelled": "Conversation labels",
    "conversation.overflowed": "Overflowed",
    "conversation.rejected": "Queue full",
    "conversation.abandoned": "Abandoned",
    "conversation.by_email": "Continues by email",
    "conversation.closed": "Closed",
    "offer.created": "Offered",
    "offer.accepted": "Offer accepted",
    "offer.rejected": "Offer rejected",
    "offer.expired": "Offer expired",
    "offer.withdrawn": "Offer withdrawn",
    "reply.sent": "Reply sent",
    "reply.failed": "Reply not delivered",
    "reply.automatic": "Automatic reply",
    "note.added": "Private note",
    "thread.answered_by_other": "Answered by someone else",
    "survey.asked": "Asked for a rating",
    "survey.answered": "Satisfaction rating",
    "sms.opted_out": "Stopped texts",
    "sms.opted_in": "Texts allowed again",
    "whatsapp.opted_out": "Stopped WhatsApp messages",
    "whatsapp.opted_in": "WhatsApp messages allowed again",
    "call.status": "Call",
    "call.queue_left": "Left the queue",
    "call.connected": "Call put through",
    "call.missed": "Call missed",
    "call.failed": "Call not put through",
    "call.dial_ended": "Agent's line",
    "call.ended": "Call had ended",
    "callback.placed": "Calling back",
    "call.placed": "Call placed",
    "sla.breached": "SLA target missed",
}


def label(kind: str) -> str:
    """The words shown for a kind of event: its own label, else its name spelt out."""
    known = LABELS.get(kind)
    if known:
        return known
    words = kind.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "Event"


def record(
    session: AsyncSession,
    *,
    customer_id: int,
    kind: str,
    summary: str = "",
    conversation_id: int | None = None,
    agent_id: int | None = None,
    **data: Any,
) -> TimelineEvent:
    """Add a timeline event to the session; it commits with the change it describes."""
    event = TimelineEvent(
        customer_id=customer_id,
        conversation_id=conversation_id,
        agent_id=agent_id,
        kind=kind,
        summary=summary[:500],
        data=data,
    )
    session.add(event)
    return event


async def append(
    session: AsyncSession,
    *,
    customer_id: int,
    kind: str,
    summary: str = "",
    conversation_id: int | None = None,
    agent_id: int | None = None,
    **data: Any,
) -> None:
    """Write a timeline event now as one plain INSERT (for hot paths that never read it back)."""
    connection = await session.connection()
    await connection.execute(
        _APPEND,
        {
            "customer_id": customer_id,
            "conversation_id": conversation_id,
            "agent_id": agent_id,
            "kind": kind,
            "summary": summary[:500],
            "data": data,
        },
    )


_APPEND = insert(TimelineEvent)  # built once: building costs more than running it


async def timeline(
    session: AsyncSession, customer_id: int, limit: int = 200
) -> list[TimelineEvent]:
    """A customer's history across every channel, newest first."""
    rows = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.customer_id == customer_id)
        .order_by(TimelineEvent.created_at.desc(), TimelineEvent.id.desc())
        .limit(limit)
    )
    return list(rows)
