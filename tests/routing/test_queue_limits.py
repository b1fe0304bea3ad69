"""Queues with a length and a time limit: contacts past them overflow, are rejected or abandon."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.contacts import InboundContact
from hub.keys import INTAKE, QUEUE
from hub.models import Conversation, Message, QueueEntry, TimelineEvent
from hub.queue import WaitingContact
from hub.settings import Settings
from routing.limits import QUEUE_FULL, TOO_LONG, Limit, _over_limits, _target, set_limit
from tests.conftest import start_hub
from tests.support import ChatCustomer, Hub, eventually


async def limit(hub: Hub, *limits: Limit) -> None:
    async with hub.sessions() as session, session.begin():
        for each in limits:
            await set_limit(session, each)


async def chat(hub: Hub, name: str, text: str = "hello?") -> tuple[ChatCustomer, int]:
    customer = await ChatCustomer.connect(hub, name=name)
    ack = await customer.say(text)
    assert ack["type"] == "ack", ack
    async with hub.sessions() as session:
        message = await session.get(Message, ack["message_id"])
        assert message is not None
        return customer, message.conversation_id


async def conversation(hub: Hub, conversation_id: int) -> Conversation:
    async with hub.sessions() as session:
        found = await session.get(Conversation, conversation_id)
        assert found is not None
        return found


async def events(hub: Hub, conversation_id: int) -> list[TimelineEvent]:
    async with hub.sessions() as session:
        return list(
            await session.scalars(
                select(TimelineEvent)
                .where(TimelineEvent.conversation_id == conversation_id)
                .order_by(TimelineEvent.id)
            )
        )


async def in_queue(hub: Hub, conversation_id: int, queue: str) -> WaitingContact | None:
    for contact in await hub.app[QUEUE].waiting():
        if contact.conversation_id == conversation_id and contact.queue == queue:
            return contact
    return None


async def test_a_contact_arriving_at_a_full_queue_overflows_keeping_its_age(hub: Hub) -> None:
    await limit(hub, Limit("general", max_waiting=1, overflow_queue="backup"))
    first, first_id = await chat(hub, "First")
    second, second_id = await chat(hub, "Second")

    moved = await eventually(lambda: in_queue(hub, second_id, "backup"))
    assert await in_queue(hub, first_id, "general") is not None
    stored = await conversation(hub, second_id)
    assert stored.required_skill == "backup" and stored.status == "queued"
    assert moved.enqueued_at == stored.created_at.timestamp()  # its age is kept
    assert moved.entered_at is not None and moved.entered_at >= moved.enqueued_at
    overflowed = [e for e in await events(hub, second_id) if e.kind == "conversation.overflowed"]
    assert len(overflowed) == 1
    assert overflowed[0].data["routing"]["why"] == "queue full"
    assert overflowed[0].data["routing"]["limit"] == {"max_waiting": 1}
    assert overflowed[0].data["routing"]["outcome"] == "overflow to backup"
    async with hub.sessions() as session:
        entry = await session.get(QueueEntry, second_id)
        assert entry is not None and entry.overflowed_from == ["general"]

    # An agent of the overflow queue gets it, and the explanation names the queue.
    await hub.add_agent("bob", status="available", skills={"backup": 5})
    bob = await hub.login("bob")

    async def both_offered() -> set[int] | None:
        offered = {o["conversation_id"] for o in await bob.get("/api/offers")}
        return offered if len(offered) == 2 else None

    assert await eventually(both_offered) == {first_id, second_id}
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    decisions = await sam.get(f"/api/supervisor/routing?conversation_id={second_id}")
    assert decisions[0]["requirements"]["queue"] == "backup"
    for client in (first, second):
        await client.close()
    await bob.close()
    await sam.close()


async def test_a_full_queue_without_overflow_rejects_but_keeps_the_message(hub: Hub) -> None:
    await limit(hub, Limit("general", max_waiting=1))
    first, first_id = await chat(hub, "First")
    second, second_id = await chat(hub, "Second", "I need help with <b>my order</b>")

    answer = await second.expect("message")
    assert answer["text"] == QUEUE_FULL and answer["author"] == "Switchboard"
    stored = await conversation(hub, second_id)
    assert (stored.status, stored.disposition) == ("rejected", "queue full")
    assert not await hub.app[QUEUE].contains(second_id)
    assert await hub.app[QUEUE].contains(first_id)
    async with hub.sessions() as session:
        texts = list(
            await session.scalars(select(Message.text).where(Message.conversation_id == second_id))
        )
    assert "I need help with <b>my order</b>" in texts  # never lost
    kinds = [e.kind for e in await events(hub, second_id)]
    assert "conversation.rejected" in kinds and "reply.automatic" in kinds

    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    stats = await sam.get("/api/supervisor/stats")
    assert (stats["rejected"], stats["abandoned"]) == (1, 0)
    for client in (first, second):
        await client.close()
    await sam.close()


async def test_waiting_too_long_overflows_and_the_new_queue_counts_from_arrival(
    hub: Hub,
) -> None:
    await limit(
        hub,
        Limit("general", max_wait_seconds=1, overflow_queue="backup"),
        Limit("backup", max_wait_seconds=3600),
    )
    customer, conversation_id = await chat(hub, "Pat")
    moved = await eventually(lambda: in_queue(hub, conversation_id, "backup"))
    assert moved.entered_at is not None and moved.entered_at > moved.enqueued_at
    overflowed = [e for e in await events(hub, conversation_id) if e.kind.endswith("overflowed")]
    assert overflowed[0].data["routing"]["why"] == "waited too long"
    assert overflowed[0].data["routing"]["limit"] == {"max_wait_seconds": 1}
    assert (await conversation(hub, conversation_id)).status == "queued"
    await customer.close()


async def test_waiting_too_long_with_nowhere_to_go_abandons(hub: Hub) -> None:
    await limit(hub, Limit("general", max_wait_seconds=1))
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    customer, conversation_id = await chat(hub, "Pat")

    answer = await customer.expect("message")
    assert answer["text"] == TOO_LONG
    stored = await conversation(hub, conversation_id)
    assert stored.status == "abandoned" and stored.closed_at is not None
    abandoned = [e for e in await events(hub, conversation_id) if e.kind.endswith("abandoned")]
    assert "queue general" in abandoned[0].summary
    stats = await sam.get("/api/supervisor/stats")
    assert (stats["abandoned"], stats["abandon_rate"], stats["service_level"]) == (1, 1.0, 0.0)
    await customer.close()
    await sam.close()


def test_overflow_passes_full_queues_on_and_never_goes_back() -> None:
    limits = {
        ("a", None): Limit("a", max_waiting=1, overflow_queue="b"),
        ("b", None): Limit("b", max_waiting=1, overflow_queue="c"),
        ("c", None): Limit("c", max_waiting=5, overflow_queue="a"),
    }
    contact = WaitingContact(1, "chat", "a", 0, 0.0)
    counts: Counter[tuple[str, str | None]] = Counter({("a", None): 1, ("b", None): 1})
    assert _target(contact, limits[("a", None)], limits, counts, ()) == "c"
    counts[("c", None)] = 5
    assert _target(contact, limits[("a", None)], limits, counts, ()) is None
    from_c = WaitingContact(2, "chat", "c", 0, 0.0)
    assert _target(from_c, limits[("c", None)], limits, Counter(), ("a",)) is None
    # A limit for one channel wins over the queue's limit for every channel.
    limits[("a", "email")] = Limit("a", "email", max_waiting=100)
    waiting = [
        WaitingContact(10, "email", "a", 0, 1.0),
        WaitingContact(11, "email", "a", 0, 2.0),
        WaitingContact(20, "chat", "a", 0, 1.0),
        WaitingContact(21, "chat", "a", 0, 2.0),
    ]
    over = _over_limits(waiting, limits, now=3.0)
    assert [(c.conversation_id, why) for c, _limit, why in over] == [(21, "full")]


def test_queue_commands_set_and_list_limits(tmp_path: Path) -> None:
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"}

    def switchboard(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", "queue", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=50,
        )

    assert switchboard("set", "billing", "--max-waiting", "20", "--overflow", "general").stdout
    assert switchboard("set", "billing", "--channel", "email", "--max-wait", "900").returncode == 0
    assert switchboard("list").stdout.splitlines() == [
        "billing: max waiting 20, overflow to general",
        "billing (email): max wait 900 s, no overflow",
    ]
    refused = switchboard("set", "billing", "--max-waiting", "-1")
    assert refused.returncode == 2 and "cannot be negative" in refused.stderr


@pytest.mark.parametrize("backend", ["redis"])
async def test_two_hubs_enforcing_limits_move_each_contact_once_and_lose_none(
    settings_for: Settings,
) -> None:
    async with start_hub(settings_for, clean=True) as one, start_hub(settings_for) as two:
        await limit(
            one,
            Limit("general", max_waiting=3, overflow_queue="backup"),
            Limit("backup", max_waiting=5),
        )
        hubs = [one, two]
        # The first routing pass builds the live queue from the database; contacts that
        # arrive while it does can be dropped from the live queue (hub/recovery.py).
        await eventually(one.app[QUEUE].intact)
        accepted = await asyncio.gather(
            *(
                hubs[n % 2]
                .app[INTAKE]
                .accept(
                    InboundContact(
                        channel="chat",
                        inbox="website",
                        external_id=f"burst-{n}",
                        sender=f"visitor-{n}",
                        text=f"Question {n}",
                    )
                )
                for n in range(20)
            )
        )

        async def settled() -> Counter[tuple[str, str | None]] | None:
            async with one.sessions() as session:
                rows = await session.execute(
                    select(Conversation.status, Conversation.required_skill)
                )
                found = Counter((status, skill) for status, skill in rows.all())
            queued = {("queued", None): 3, ("queued", "backup"): 5}
            rejected = sum(n for (status, _skill), n in found.items() if status == "rejected")
            done = all(found[k] == n for k, n in queued.items()) and rejected == 12
            return found if done else None

        await eventually(settled, timeout=30)
        async with one.sessions() as session:
            moves = Counter(
                await session.scalars(
                    select(TimelineEvent.conversation_id).where(
                        TimelineEvent.kind.in_(("conversation.overflowed", "conversation.rejected"))
                    )
                )
            )

        async def every_message() -> bool:
            async with one.sessions() as session:
                stored = await session.scalar(select(func.count()).select_from(Message))
            return stored == 20 + 12  # every question, and the "queue is full" answers

        assert await eventually(every_message)
        assert len(moves) == 17 and max(moves.values()) <= 2  # overflow, then maybe rejected
        waiting = await one.app[QUEUE].waiting()
        assert Counter(c.queue for c in waiting) == {"general": 3, "backup": 5}
        assert {a.conversation_id for a in accepted} >= {c.conversation_id for c in waiting}
