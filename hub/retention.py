"""Retention: conversations closed more than N days ago on a channel are anonymised.

Set per channel with SWITCHBOARD_RETENTION ("sms=30,email=365"; a channel not named is
kept for good). Anonymising is `hub.anonymise`: texts, subjects, senders, attachments and
timeline summaries go; the rows stay, so reports still count them. The customer's own
record (name, addresses) is not touched: that is erasure's (`hub.erasure`).

Each hub process runs the loop; a lease on the live queue lets one of them do a round
at a time, and a conversation already done (`anonymised_at`) is never picked again, so
two rounds that overlap anyway do no harm.

The webhook outbox is pruned the same way, under a lease of its own: an event older
than SWITCHBOARD_OUTBOX_KEEP_DAYS whose every delivery was made is deleted with its
deliveries and their attempts. An event with a delivery still pending or given up
stays, so an admin can still see it in the log and send it again.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update

from hub.anonymise import anonymise_conversations, delete_unreferenced
from hub.attachments import AttachmentStore
from hub.db import Sessions
from hub.models import (
    Conversation,
    ConversationStatus,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    utcnow,
)
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
        outbox_days: int = 0,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._store = store
        self.days = days
        self.outbox_days = outbox_days
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

    async def prune_outbox(self, now: datetime | None = None) -> int:
        """One round of outbox pruning, as of `now`; how many events it deleted (0 when
        another hub process holds the round, or when nothing is to be kept less than
        for good)."""
        if self.outbox_days < 1:
            return 0
        if not await self._queue.claim_lease("outbox-prune", self._holder, 2 * self._interval):
            return 0
        cutoff = (now or utcnow()) - timedelta(days=self.outbox_days)
        undelivered = exists().where(
            WebhookDelivery.event_id == OutboxEvent.id, WebhookDelivery.status != "delivered"
        )
        pruned = 0
        while True:
            async with self._sessions() as session, session.begin():
                ids = list(
                    await session.scalars(
                        select(OutboxEvent.id)
                        .where(OutboxEvent.created_at < cutoff, ~undelivered)
                        .order_by(OutboxEvent.id)
                        .limit(BATCH)
                        .with_for_update(skip_locked=True)
                    )
                )
                if not ids:
                    break
                # Locked, then looked at again: a redelivery asked for meanwhile keeps
                # its event.
                deliveries = (
                    await session.execute(
                        select(WebhookDelivery.id, WebhookDelivery.event_id, WebhookDelivery.status)
                        .where(WebhookDelivery.event_id.in_(ids))
                        .with_for_update()
                    )
                ).all()
                kept = {event for _, event, status in deliveries if status != "delivered"}
                gone = [i for i in ids if i not in kept]
                made = [d for d, event, _ in deliveries if event not in kept]
                if made:
                    await session.execute(
                        delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(made))
                    )
                    await session.execute(
                        delete(WebhookDelivery).where(WebhookDelivery.id.in_(made))
                    )
                await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(gone)))
            pruned += len(gone)
            if not gone:
                break
        if pruned:
            log.info("retention pruned %d delivered webhook events", pruned)
        return pruned
