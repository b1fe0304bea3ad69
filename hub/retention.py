"""Retention: conversations closed more than N days ago on a channel are anonymised.

Set per channel with SWITCHBOARD_RETENTION ("sms=30,email=365"; a channel not named is
kept for good). Anonymising is `hub.anonymise`: texts, subjects, senders, attachments and
timeline summaries go; the rows stay, so reports still count them. The customer's own
record (name, addresses) is not touched: that is erasure's (`hub.erasure`).

Each hub process runs the loop; a lease on the live queue lets one of them do a round
at a time, and a conversation already done (`anonymised_at`) is never picked again, so
two rounds that overlap anyway do no harm.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from hub.anonymise import anonymise_conversations, delete_unreferenced
from hub.attachments import AttachmentStore
from hub.db import Sessions
from hub.models import Conversation, ConversationStatus, utcnow
from hub.queue import ContactQueue

__all__ = ["Retention", "RetentionError", "parse_retention"]

log = logging.getLogger(__name__)
ENDED = (ConversationStatus.CLOSED, ConversationStatus.ABANDONED)
BATCH = 200


class RetentionError(ValueError):
    """A retention setting that does not read as channel=days pairs."""


def parse_retention(text: str) -> dict[str, int]:
    """ "sms=30, email=365" as {channel: days}; days must be at least 1."""
    days: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        channel, _, number = part.partition("=")
        if not channel.strip() or not number.strip().isdigit() or int(number) < 1:
            raise RetentionError(f"retention: {part!r} is not channel=days (days 1 or more)")
        days[channel.strip()] = int(number)
    return days


class Retention:
    """Anonymises the conversations each channel keeps no longer."""

    def __init__(
        self,
        sessions: Sessions,
        queue: ContactQueue,
        store: AttachmentStore,
        days: dict[str, int],
        interval: float = 3600.0,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._store = store
        self.days = days
        self._interval = interval
        self._holder = uuid.uuid4().hex

    async def run_once(self, now: datetime | None = None) -> int:
        """One round, as of `now`; how many conversations it anonymised (0 when another
        hub process holds the round)."""
        if not self.days:
            return 0
        if not await self._queue.claim_lease("retention", self._holder, 2 * self._interval):
            return 0
        now = now or utcnow()
        done = 0
        for channel, days in sorted(self.days.items()):
            done += await self._channel(channel, now - timedelta(days=days), now)
        if done:
            log.info("retention anonymised %d conversations", done)
        return done

    async def _channel(self, channel: str, cutoff: datetime, now: datetime) -> int:
        done = 0
        while True:
            async with self._sessions() as session, session.begin():
                ids = list(
                    await session.scalars(
                        select(Conversation.id)
                        .where(
                            Conversation.channel == channel,
                            Conversation.status.in_(ENDED),
                            Conversation.closed_at < cutoff,
                            Conversation.anonymised_at.is_(None),
                        )
                        .order_by(Conversation.id)
                        .limit(BATCH)
                        .with_for_update(skip_locked=True)
                    )
                )
                if not ids:
                    return done
                refs = await anonymise_conversations(session, ids)
                await session.execute(
                    update(Conversation).where(Conversation.id.in_(ids)).values(anonymised_at=now)
                )
            async with self._sessions() as session:
                await delete_unreferenced(session, self._store, refs)
            done += len(ids)
