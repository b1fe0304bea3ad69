"""Contacts that arrive while their team is closed: stored and queued, nothing lost, and
waiting counted from the opening, so the closed night does not count against service level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.contacts import InboundContact
from hub.keys import CHANNELS, INTAKE, QUEUE
from hub.models import (
    Agent,
    BusinessHours,
    Conversation,
    Customer,
    Inbox,
    Offer,
    QueueEntry,
    utcnow,
)
from routing.stats import queue_stats
from tests.support import Hub

INBOX = "+14155550100"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


async def office_hours(hub: Hub) -> None:
    async with hub.sessions() as session, session.begin():
        schedule = BusinessHours(
            name="Berlin office",
            timezone="Europe/Berlin",
            weekly={d: [{"opens": "09:00", "closes": "17:00"}] for d in WEEKDAYS},
            holidays=[],
        )
        session.add(schedule)
        await session.flush()
        session.add(Inbox(channel="sms", address=INBOX, name="Texts", schedule_id=schedule.id))


def text(sid: str, at: datetime) -> InboundContact:
    return InboundContact(
        channel="sms",
        inbox=INBOX,
        external_id=sid,
        sender="+14155550123",
        text="My card is blocked",
        received_at=at,
    )


async def test_a_text_on_saturday_is_stored_and_queued_and_waits_from_monday_nine(
    hub: Hub,
) -> None:
    await office_hours(hub)
    saturday = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
    accepted = await hub.app[INTAKE].accept(text("SM-saturday", saturday))
    monday_nine_berlin = datetime(2026, 1, 19, 8, 0, tzinfo=UTC)

    async with hub.sessions() as session:
        conversation = await session.get(Conversation, accepted.conversation_id)
        entry = await session.get(QueueEntry, accepted.conversation_id)
    assert conversation is not None and entry is not None
    assert (conversation.status, conversation.waits_from) == ("queued", monday_nine_berlin)
    # Its age is kept for priority; the queue's time limits start at the opening.
    assert (entry.enqueued_at, entry.entered_at) == (saturday, monday_nine_berlin)
    waiting = await hub.app[QUEUE].waiting(limit=10)
    assert [w.conversation_id for w in waiting] == [accepted.conversation_id]

    tuesday = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
    during_hours = await hub.app[INTAKE].accept(
        InboundContact(
            channel="sms",
            inbox=INBOX,
            external_id="SM-tuesday",
            sender="+14155550199",
            text="Hello",
            received_at=tuesday,
        )
    )
    async with hub.sessions() as session:
        open_one = await session.get(Conversation, during_hours.conversation_id)
    assert open_one is not None and open_one.waits_from is None


async def test_service_level_counts_waiting_from_the_opening(hub: Hub) -> None:
    now = utcnow()
    async with hub.sessions() as session, session.begin():
        agent = Agent(username="alice", password_hash="x")
        customer = Customer(name="Jane")
        inbox = Inbox(channel="sms", address=INBOX, name="Texts")
        session.add_all([agent, customer, inbox])
        await session.flush()

        def conversation(status: str, **times: datetime | None) -> Conversation:
            return Conversation(
                customer_id=customer.id, inbox_id=inbox.id, channel="sms", status=status, **times
            )

        # Arrived 50 minutes ago while closed, answered 15 s after the opening.
        night = conversation(
            "assigned",
            created_at=now - timedelta(minutes=50),
            waits_from=now - timedelta(minutes=10),
        )
        # Arrived closed and left before the opening: against no one.
        gave_up = conversation(
            "abandoned",
            created_at=now - timedelta(minutes=40),
            waits_from=now - timedelta(minutes=10),
            closed_at=now - timedelta(minutes=20),
        )
        # Arrived open 5 minutes ago, answered after 2 minutes: late.
        late = conversation("assigned", created_at=now - timedelta(minutes=5))
        session.add_all([night, gave_up, late])
        await session.flush()
        for answered, decided in (
            (night, now - timedelta(minutes=10) + timedelta(seconds=15)),
            (late, now - timedelta(minutes=3)),
        ):
            session.add(
                Offer(
                    conversation_id=answered.id,
                    agent_id=agent.id,
                    status="accepted",
                    expires_at=decided,
                    decided_at=decided,
                )
            )

    stats = await queue_stats(hub.sessions, hub.app[QUEUE], hub.app[CHANNELS], target_seconds=20)
    assert (stats.answered, stats.abandoned) == (2, 0)
    assert stats.service_level == 0.5  # the night contact made it, the late one did not
    assert stats.average_speed_of_answer == (15 + 120) / 2
