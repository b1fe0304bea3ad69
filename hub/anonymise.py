"""Anonymising stored conversations: what a customer wrote or was told is removed, what
counts (channel, times, status, outcome, who handled it, ratings) stays.

Shared by erasure (`hub.erasure`, a whole customer) and retention (`hub.retention`, old
conversations of a channel). Messages keep their rows, so reports still add up; their
text, subject, sender, copies (cc, bcc), raw form and attachments go. Updating `subject`
and `text` runs the SQLite search triggers and changes PostgreSQL's indexed expression,
so full-text search no longer finds the words. Attachment content shared by several messages (the
store keeps each content once) is deleted only when nothing left refers to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, cast, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.attachments import REF_PREFIX, AttachmentStore
from hub.models import Call, Conversation, Message, Survey, TimelineEvent

__all__ = ["KEPT_DATA", "anonymise_conversations", "delete_unreferenced", "scrubbed_data"]

# Timeline data that names no one and that reports read: kept when an event is scrubbed.
KEPT_DATA = frozenset(
    {"channel", "disposition", "rating", "routing", "merge_id", "merged_id", "queue", "status"}
)


def scrubbed_data(data: dict[str, Any]) -> dict[str, Any]:
    """A timeline event's data without anything a person wrote or that identifies them."""
    return {k: v for k, v in data.items() if k in KEPT_DATA}


async def anonymise_conversations(session: AsyncSession, ids: list[int]) -> set[str]:
    """Strip the conversations `ids` of every text and address; returns the attachment
    references their messages held (for `delete_unreferenced` once committed)."""
    if not ids:
        return set()
    refs: set[str] = set()
    for chunk in _chunks(ids):
        held = await session.scalars(
            select(Message.attachments).where(Message.conversation_id.in_(chunk))
        )
        refs.update(_refs(held))
        await session.execute(
            update(Message)
            .where(Message.conversation_id.in_(chunk))
            .values(
                text="",
                subject="",
                full_text=None,
                sender="",
                raw=None,
                attachments=[],
                cc=[],
                bcc=[],
                delivery_detail=None,
            )
        )
        await session.execute(
            update(Conversation)
            .where(Conversation.id.in_(chunk))
            .values(subject="", summary=None, thread_key=None, reply_address=None)
        )
        await session.execute(update(Call).where(Call.conversation_id.in_(chunk)).values(number=""))
        await session.execute(
            update(Survey).where(Survey.conversation_id.in_(chunk)).values(address="", comment=None)
        )
        await scrub_timeline(session, TimelineEvent.conversation_id.in_(chunk))
    return refs


async def scrub_timeline(session: AsyncSession, where: Any) -> None:
    """Empty the summaries and personal data of the timeline events `where` selects."""
    events = list(await session.execute(select(TimelineEvent.id, TimelineEvent.data).where(where)))
    for event_id, data in events:
        await session.execute(
            update(TimelineEvent)
            .where(TimelineEvent.id == event_id)
            .values(summary="", data=scrubbed_data(data or {}))
        )


async def delete_unreferenced(
    session: AsyncSession, store: AttachmentStore, refs: Iterable[str]
) -> int:
    """Delete the stored content of `refs` no message refers to any more; how many went.

    Only the hub's own store is emptied; content a provider holds (a recording at
    Twilio) is not the hub's to delete."""
    deleted = 0
    for ref in sorted(r for r in refs if r.startswith(REF_PREFIX)):
        still = await session.scalar(
            select(Message.id)
            .where(cast(Message.attachments, String).contains(ref.removeprefix(REF_PREFIX)))
            .limit(1)
        )
        if still is None:
            path = store.path(ref)
            if path.exists():
                await asyncio.to_thread(path.unlink, True)
                deleted += 1
    return deleted


def _refs(held: Iterable[list[Any]]) -> set[str]:
    found = set()
    for attachments in held:
        for attachment in attachments or []:
            if isinstance(attachment, dict) and attachment.get("ref"):
                found.add(str(attachment["ref"]))
    return found


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
