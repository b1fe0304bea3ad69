"""Everything the hub holds on a customer, as one archive: the answer to an access request.

A zip holding `customer.json` (profile with custom attributes, addresses with consent,
conversations with every message and note, the timeline, satisfaction surveys, calls,
what they gave the chat widget, merges, and the customers merged into this one) and,
under `attachments/`, the content of every attachment the hub stores itself. Content a
provider keeps (a recording at Twilio) is listed in the document but not fetched.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.attachments import REF_PREFIX, AttachmentStore
from hub.models import (
    Call,
    ChatVisitor,
    Conversation,
    Customer,
    CustomerAddress,
    CustomerAttribute,
    CustomerAttributeValue,
    CustomerMerge,
    Message,
    Survey,
    TimelineEvent,
    utcnow,
)

__all__ = ["DOCUMENT", "customer_archive", "customer_document"]

DOCUMENT = "customer.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


async def customer_archive(
    session: AsyncSession, store: AttachmentStore, customer_id: int
) -> bytes:
    """The zip of everything held on the customer (who must exist)."""
    document, files = await customer_document(session, store, customer_id)
    return await asyncio.to_thread(_zip, document, files)


async def customer_document(
    session: AsyncSession, store: AttachmentStore, customer_id: int
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The JSON document, and the stored files to put beside it (archive name -> path)."""
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise LookupError(f"no customer {customer_id}")
    merged = list(
        await session.scalars(
            select(Customer).where(Customer.merged_into_id == customer_id).order_by(Customer.id)
        )
    )
    ids = [customer_id, *(m.id for m in merged)]
    files: dict[str, Path] = {}
    conversations = []
    for conversation in await session.scalars(
        select(Conversation).where(Conversation.customer_id.in_(ids)).order_by(Conversation.id)
    ):
        messages = await session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        )
        conversations.append(
            {
                **_conversation(conversation),
                "messages": [_message(m, store, files) for m in messages],
            }
        )
    document = {
        "exported_at": utcnow(),
        "customer": await _profile(session, customer),
        "addresses": await _addresses(session, ids),
        "conversations": conversations,
        "timeline": await _timeline(session, ids),
        "surveys": await _surveys(session, ids),
        "calls": await _calls(session, ids),
        "chat_visitors": await _visitors(session, ids),
        "merges": await _merges(session, ids),
        "merged_customers": [await _profile(session, m) for m in merged],
    }
    return document, files


async def _profile(session: AsyncSession, customer: Customer) -> dict[str, Any]:
    attributes = await session.execute(
        select(CustomerAttribute.key, CustomerAttributeValue.value)
        .join(CustomerAttributeValue, CustomerAttributeValue.attribute_id == CustomerAttribute.id)
        .where(CustomerAttributeValue.customer_id == customer.id)
        .order_by(CustomerAttribute.key)
    )
    return {
        "id": customer.id,
        "name": customer.name,
        "segment": customer.segment,
        "language": customer.language,
        "labels": customer.labels,
        "external_id": customer.external_id,
        "details": customer.details,
        "attributes": dict(attributes.tuples().all()),
        "created_at": customer.created_at,
        "erased_at": customer.erased_at,
    }


async def _addresses(session: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(CustomerAddress)
        .where(CustomerAddress.customer_id.in_(ids))
        .order_by(CustomerAddress.id)
    )
    return [
        {
            "channel": a.channel,
            "address": a.address,
            "since": a.created_at,
            "consent": "opted out" if a.opted_out_at else "not opted out",
            "opted_out_at": a.opted_out_at,
        }
        for a in rows
    ]


def _conversation(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id,
        "channel": c.channel,
        "status": c.status,
        "subject": c.subject,
        "labels": c.labels,
        "disposition": c.disposition,
        "summary": c.summary,
        "created_at": c.created_at,
        "closed_at": c.closed_at,
    }


def _message(m: Message, store: AttachmentStore, files: dict[str, Path]) -> dict[str, Any]:
    attachments = []
    for index, attachment in enumerate(m.attachments or []):
        ref, name = str(attachment.get("ref", "")), str(attachment.get("name") or "attachment")
        entry = {k: attachment.get(k) for k in ("name", "content_type", "size")}
        if ref.startswith(REF_PREFIX) and store.path(ref).exists():
            entry["file"] = f"attachments/{m.id}-{index}-{_UNSAFE.sub('_', name)[:100]}"
            files[entry["file"]] = store.path(ref)
        attachments.append(entry)
    return {
        "id": m.id,
        "direction": m.direction,
        "channel": m.channel,
        "sender": m.sender,
        "cc": m.cc,
        "bcc": m.bcc,
        "subject": m.subject,
        "text": m.full_text or m.text,
        "attachments": attachments,
        "delivery_status": m.delivery_status,
        "at": m.created_at,
    }


async def _timeline(session: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.customer_id.in_(ids))
        .order_by(TimelineEvent.created_at, TimelineEvent.id)
    )
    return [
        {
            "kind": e.kind,
            "summary": e.summary,
            "conversation_id": e.conversation_id,
            "data": e.data,
            "at": e.created_at,
        }
        for e in rows
    ]


async def _surveys(session: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Survey).where(Survey.customer_id.in_(ids)).order_by(Survey.id)
    )
    return [
        {
            "conversation_id": s.conversation_id,
            "channel": s.channel,
            "asked_at": s.asked_at,
            "rating": s.rating,
            "comment": s.comment,
            "answered_at": s.answered_at,
        }
        for s in rows
    ]


async def _calls(session: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Call)
        .join(Conversation, Conversation.id == Call.conversation_id)
        .where(Conversation.customer_id.in_(ids))
        .order_by(Call.id)
    )
    return [
        {
            "conversation_id": c.conversation_id,
            "kind": c.kind,
            "number": c.number,
            "status": c.status,
            "duration": c.duration,
            "at": c.created_at,
        }
        for c in rows
    ]


async def _visitors(session: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    """What the customer typed into the chat widget as a visitor (name, email)."""
    addresses = list(
        await session.execute(
            select(CustomerAddress.channel, CustomerAddress.address).where(
                CustomerAddress.customer_id.in_(ids),
                CustomerAddress.channel.in_(("chat", "email")),
            )
        )
    )
    tokens = [a for channel, a in addresses if channel == "chat"]
    emails = [a for channel, a in addresses if channel == "email"]
    rows = await session.scalars(
        select(ChatVisitor)
        .where(or_(ChatVisitor.visitor.in_(tokens), ChatVisitor.email.in_(emails)))
        .order_by(ChatVisitor.created_at)
    )
    return [{"name": v.name, "email": v.email, "since": v.created_at} for v in rows]


async def _merges(session: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(CustomerMerge)
        .where(or_(CustomerMerge.survivor_id.in_(ids), CustomerMerge.merged_id.in_(ids)))
        .order_by(CustomerMerge.id)
    )
    return [
        {
            "survivor_id": m.survivor_id,
            "merged_id": m.merged_id,
            "at": m.created_at,
            "undone_at": m.undone_at,
        }
        for m in rows
    ]


def _zip(document: dict[str, Any], files: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        text = json.dumps(document, default=_json, indent=2, ensure_ascii=False)
        archive.writestr(DOCUMENT, text)
        for name, path in files.items():
            archive.write(path, name)
    return buffer.getvalue()


def _json(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")
