"""JSON shapes the console reads: a conversation with its customer, and a timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm
from hub.channel_traits import ChannelRegistry
from hub.conversations import window_closes_at
from hub.customer_label import customer_label
from hub.models import (
    Call,
    Conversation,
    Customer,
    CustomerAddress,
    Message,
    TimelineEvent,
    WrapUpCode,
)
from hub.reply_channels import reply_channels


async def conversation_view(
    session: AsyncSession, conversation: Conversation, channels: ChannelRegistry
) -> dict[str, Any]:
    customer = await session.get(Customer, conversation.customer_id)
    assert customer is not None
    addresses = list(
        await session.scalars(
            select(CustomerAddress).where(CustomerAddress.customer_id == customer.id)
        )
    )
    messages = await session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
    )
    calls = await session.scalars(
        select(Call).where(Call.conversation_id == conversation.id).order_by(Call.id)
    )
    reply_channel = conversation.reply_channel or conversation.channel
    answerable = []
    for c in await reply_channels(session, customer.id, channels):
        # A channel with a reply window (WhatsApp's 24 hours): when it closes (or closed)
        # for this address; null when the customer never wrote there.
        closes = (
            await window_closes_at(session, channels[c.channel], c.address)
            if channels[c.channel].reply_window_hours
            else None
        )
        answerable.append(
            {
                "channel": c.channel,
                "address": c.address,
                "opted_out": c.opted_out,
                "window_closes_at": closes.isoformat() if closes else None,
            }
        )
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "status": conversation.status,
        "subject": conversation.subject,
        "agent_id": conversation.agent_id,
        # The outcome it was closed with, and that code's label (retired codes too).
        "disposition": conversation.disposition,
        "disposition_label": await session.scalar(
            select(WrapUpCode.label).where(WrapUpCode.code == conversation.disposition)
        )
        if conversation.disposition
        else None,
        "customer": {
            "id": customer.id,
            "name": customer_label(
                customer.name, [(a.channel, a.address) for a in addresses], customer.details
            ),
            "segment": customer.segment,
            "addresses": [{"channel": a.channel, "address": a.address} for a in addresses],
        },
        # Where a reply goes by default, and the other channels the agent may answer on.
        "reply_channel": reply_channel,
        "reply_channels": answerable,
        # The default reply channel's window, as above (the console says when it closed
        # and offers the approved templates).
        "window_closes_at": next(
            (c["window_closes_at"] for c in answerable if c["channel"] == reply_channel), None
        ),
        "messages": [
            {
                "id": m.id,
                "direction": m.direction,
                "channel": m.channel,
                "sender": m.sender,
                "subject": m.subject,
                "text": m.text,
                "full_text": m.full_text,
                "delivery_status": m.delivery_status,
                "delivery_detail": m.delivery_detail,
                # Only agents read this view: BCC stays out of what the customer sees.
                "cc": m.cc,
                "bcc": m.bcc,
                "attachments": m.attachments,
                "at": m.created_at.isoformat(),
            }
            for m in messages
        ],
        # Phone calls: a caller on hold, a callback request, the call back; their progress.
        "calls": [
            {
                "kind": c.kind,
                "number": c.number,
                "status": c.status,
                "duration": c.duration,
                "queue_result": c.queue_result,
                "queue_seconds": c.queue_seconds,
                "agent_id": c.agent_id,
                "at": c.created_at.isoformat(),
            }
            for c in calls
        ],
    }


def timeline_view(events: list[TimelineEvent]) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "kind": e.kind,
            "label": crm.label(e.kind),
            "summary": e.summary,
            "conversation_id": e.conversation_id,
            "agent_id": e.agent_id,
            "data": e.data,
            "at": e.created_at.isoformat(),
        }
        for e in events
    ]
