"""Retention: a channel's conversations closed longer ago than it keeps them lose their
texts, senders and files, while the rows (and so the reports) stay; other channels,
recent and open conversations are left alone, and two hub processes never both do a
round's work."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.contacts import Attachment, InboundContact
from hub.keys import ATTACHMENTS, INTAKE, QUEUE, RETENTION
from hub.models import (
    Conversation,
    Message,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from hub.retention import Retention, RetentionError, parse_retention
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import Hub

PNG = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes * 4


async def contact(hub: Hub, channel: str, sender: str, text: str, **more: object) -> int:
    inbox = "help@example.com" if channel == "email" else "+14155550100"
    accepted = await hub.app[INTAKE].accept(
        InboundContact(
            channel=channel,
            inbox=inbox,
            external_id=uuid.uuid4().hex,
            sender=sender,
            text=text,
            **more,  # type: ignore[arg-type]
        )
    )
    return accepted.conversation_id


def test_the_setting_reads_channel_equals_days() -> None:
    assert parse_retention(" sms=30, email=365 ") == {"sms": 30, "email": 365}
    assert parse_retention("") == {}
    for wrong in ("sms", "sms=0", "sms=-3", "=5", "sms=thirty"):
        with pytest.raises(RetentionError):
            parse_retention(wrong)


async def test_old_closed_conversations_of_a_channel_are_anonymised(hub: Hub) -> None:
    ref = await hub.app[ATTACHMENTS].put(PNG)
    picture = Attachment("receipt.png", "image/png", len(PNG), ref)
    texted = await contact(
        hub, "sms", "+14155550123", "Order Zanzibar42 arrived broken", attachments=(picture,)
    )
    mailed = await contact(hub, "email", "ana@example.com", "Zanzibar42 by email")
    waiting = await contact(hub, "sms", "+14155550199", "Zanzibar42 still waiting")
    closed_at = utcnow()
    async with hub.sessions() as session, session.begin():
        for conversation_id in (texted, mailed):
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            conversation.status, conversation.closed_at = "closed", closed_at
    retention = Retention(
        hub.sessions, hub.app[QUEUE], hub.app[ATTACHMENTS], {"sms": 30, "email": 365}
    )
    assert await retention.run_once(now=closed_at + timedelta(days=29)) == 0
    assert await retention.run_once(now=closed_at + timedelta(days=31)) == 1
    assert not hub.app[ATTACHMENTS].path(ref).exists()
    async with hub.sessions() as session:
        texts = dict(
            (await session.execute(select(Message.conversation_id, Message.text))).tuples().all()
        )
        gone = await session.get(Conversation, texted)
        assert gone is not None and gone.anonymised_at is not None and gone.status == "closed"
    assert texts == {
        texted: "",
        mailed: "Zanzibar42 by email",
        waiting: "Zanzibar42 still waiting",
    }
    admin = await hub.add_agent("ada", role="admin")
    assert admin
    ada = await hub.login("ada")
    try:
        hits = (await ada.get("/api/conversations/search?q=Zanzibar42"))["hits"]
    finally:
        await ada.close()
    assert sorted(h["conversation_id"] for h in hits) == sorted([mailed, waiting])
    assert await retention.run_once(now=closed_at + timedelta(days=400)) == 1  # the email


async def test_two_hub_processes_never_both_do_a_round(hub: Hub) -> None:
    ids = [await contact(hub, "sms", f"+1415555{n:04d}", f"message {n}") for n in range(6)]
    async with hub.sessions() as session, session.begin():
        for conversation in await session.scalars(select(Conversation)):
            conversation.status, conversation.closed_at = "closed", utcnow()
    later = utcnow() + timedelta(days=8)
    first, second = (
        Retention(hub.sessions, hub.app[QUEUE], hub.app[ATTACHMENTS], {"sms": 7}) for _ in range(2)
    )
    done = await asyncio.gather(first.run_once(now=later), second.run_once(now=later))
    assert sum(done) == len(ids)
    assert hub.app[RETENTION].days == {}  # the running hub's own: none configured


async def event_with(hub: Hub, age_days: int, *statuses: str) -> int:
    """An outbox event `age_days` old with one delivery per status, each tried once."""
    at = utcnow() - timedelta(days=age_days)
    async with hub.sessions() as session, session.begin():
        subscription = await session.scalar(select(WebhookSubscription))
        if subscription is None:
            subscription = WebhookSubscription(
                url="http://127.0.0.1:9/hook", event_types=["customer.created"], secret="whsec_x"
            )
            session.add(subscription)
            await session.flush()
        event = OutboxEvent(event_type="customer.created", payload={}, created_at=at)
        session.add(event)
        await session.flush()
        for status in statuses:
            delivery = WebhookDelivery(
                subscription_id=subscription.id,
                event_id=event.id,
                status=status,
                attempts=1,
                last_error="",
                next_attempt_at=at,
                retry_since=at,
                created_at=at,
            )
            session.add(delivery)
            await session.flush()
            session.add(WebhookAttempt(delivery_id=delivery.id, at=at, status_code=200))
        return event.id


@pytest.fixture
async def quiet_hub(settings_for: Settings) -> AsyncIterator[Hub]:
    """A hub that prunes no outbox of its own, so the test's rounds hold the lease."""
    async with start_hub(replace(settings_for, outbox_keep_days=0), clean=True) as running:
        yield running


async def test_delivered_webhook_events_older_than_the_outbox_keeps_them_are_deleted(
    quiet_hub: Hub,
) -> None:
    hub = quiet_hub
    delivered = await event_with(hub, 40, "delivered", "delivered")
    waiting = await event_with(hub, 40, "delivered", "pending")
    given_up = await event_with(hub, 40, "failed")
    recent = await event_with(hub, 10, "delivered")
    kept_for_good = Retention(hub.sessions, hub.app[QUEUE], hub.app[ATTACHMENTS], {})
    assert await kept_for_good.prune_outbox() == 0
    retention = Retention(hub.sessions, hub.app[QUEUE], hub.app[ATTACHMENTS], {}, outbox_days=30)
    assert await retention.prune_outbox() == 1
    async with hub.sessions() as session:
        events = set(await session.scalars(select(OutboxEvent.id)))
        delivery_events = set(await session.scalars(select(WebhookDelivery.event_id)))
        attempts = await session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert events == {waiting, given_up, recent} == delivery_events
    assert delivered not in events and attempts == 4  # two of the waiting one's, one each
    # Forty days on, the recent one has had its time too; the others still wait.
    later = utcnow() + timedelta(days=40)
    assert await retention.prune_outbox(now=later) == 1


async def test_two_hub_processes_never_both_prune_the_outbox(quiet_hub: Hub) -> None:
    hub = quiet_hub
    for _ in range(5):
        await event_with(hub, 40, "delivered")
    first, second = (
        Retention(hub.sessions, hub.app[QUEUE], hub.app[ATTACHMENTS], {}, outbox_days=30)
        for _ in range(2)
    )
    done = await asyncio.gather(first.prune_outbox(), second.prune_outbox())
    assert sorted(done) == [0, 5]
