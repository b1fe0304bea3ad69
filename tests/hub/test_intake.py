"""Intake: each contact stored once, threaded, queued and on the record before accept returns."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from agent_console.keys import OFFERS
from hub import crm
from hub.contacts import RAW_LIMIT, InboundContact
from hub.db import open_engine, session_factory
from hub.intake import Intake
from hub.keys import CONVERSATIONS, INTAKE, QUEUE, SETTINGS
from hub.models import Conversation, Customer, CustomerAddress, Inbox, Message, QueueEntry
from tests.support import Hub, eventually


def chat(sender: str = "visitor-1", text: str = "Hi there", **fields: Any) -> InboundContact:
    fields.setdefault("external_id", uuid.uuid4().hex)
    return InboundContact(channel="chat", inbox="website", sender=sender, text=text, **fields)


def intake(hub: Hub) -> Intake:
    return hub.app[INTAKE]


async def count(hub: Hub, model: type[Any], *where: Any) -> int:
    async with hub.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def test_the_same_contact_twice_is_stored_once(hub: Hub) -> None:
    contact = chat(external_id="msg-1")
    first = await intake(hub).accept(contact)
    again = await intake(hub).accept(contact)
    assert not first.duplicate and first.queued
    assert again.duplicate and not again.queued
    assert (again.message_id, again.conversation_id, again.customer_id) == (
        first.message_id,
        first.conversation_id,
        first.customer_id,
    )
    assert await count(hub, Message) == 1
    assert await count(hub, QueueEntry) == 1
    assert await hub.app[QUEUE].size() == 1


async def test_a_retried_contact_stored_but_never_queued_is_queued(hub: Hub) -> None:
    # As when the live queue failed (or the hub died) between the commit and the push:
    # the provider retries because it had no answer, and the retry must put it in line.
    await eventually(hub.app[QUEUE].intact)  # the start-up rebuild is behind us
    contact = chat(external_id="stored-not-queued")
    first = await intake(hub).accept(contact)
    assert await hub.app[QUEUE].remove(first.conversation_id)

    again = await intake(hub).accept(contact)
    assert again.duplicate
    assert await hub.app[QUEUE].contains(first.conversation_id)
    assert await count(hub, Message) == 1


async def test_twenty_concurrent_copies_store_one_message_and_queue_it_once(hub: Hub) -> None:
    contact = chat(sender="impatient", external_id="retried-by-the-provider")
    results = await asyncio.gather(*(intake(hub).accept(contact) for _ in range(20)))
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message_id for r in results}) == 1
    assert len({r.conversation_id for r in results}) == 1
    assert await count(hub, Message) == 1
    assert await count(hub, Customer) == 1
    assert await count(hub, Conversation) == 1
    assert await count(hub, QueueEntry) == 1
    assert await hub.app[QUEUE].size() == 1


async def test_a_new_customers_first_messages_at_once_share_one_conversation(hub: Hub) -> None:
    results = await asyncio.gather(
        *(intake(hub).accept(chat(sender="newcomer", text=f"part {n}")) for n in range(5))
    )
    assert len({r.customer_id for r in results}) == 1
    assert len({r.conversation_id for r in results}) == 1
    assert sum(r.queued for r in results) == 1
    assert await count(hub, Message) == 5
    assert await hub.app[QUEUE].size() == 1


async def test_an_inbox_first_seen_in_a_contact_that_rolled_back_is_made_again(
    hub: Hub,
) -> None:
    """A copy of a stored contact names an inbox nobody wrote to before: the pass that
    creates the inbox rolls back (the copy is refused), so no trace of that inbox may
    outlive it, and the next contact to it is stored."""

    def to(inbox: str, sender: str, external_id: str) -> InboundContact:
        return InboundContact("chat", inbox, external_id=external_id, sender=sender, text="Hi")

    stored = await intake(hub).accept(to("website", "visitor-1", "m-1"))
    copy = await intake(hub).accept(to("new-widget", "visitor-1", "m-1"))
    assert copy.duplicate and copy.message_id == stored.message_id

    fresh = await intake(hub).accept(to("new-widget", "visitor-2", "m-2"))
    async with hub.sessions() as session:
        conversation = await session.get(Conversation, fresh.conversation_id)
        assert conversation is not None
        inbox = await session.scalar(select(Inbox).where(Inbox.id == conversation.inbox_id))
        assert inbox is not None and inbox.address == "new-widget"


async def test_the_same_external_id_on_another_channel_is_another_contact(hub: Hub) -> None:
    await intake(hub).accept(chat(external_id="abc"))
    sms = InboundContact(
        channel="sms", inbox="+15550100", external_id="abc", sender="+15550111", text="Hi"
    )
    accepted = await intake(hub).accept(sms)
    assert not accepted.duplicate
    assert await count(hub, Message) == 2


async def test_a_new_sender_becomes_a_customer_with_an_address(hub: Hub) -> None:
    accepted = await intake(hub).accept(chat(sender="visitor-42", sender_name="Jane Doe"))
    async with hub.sessions() as session:
        customer = await session.get(Customer, accepted.customer_id)
        address = await session.scalar(
            select(CustomerAddress).where(CustomerAddress.customer_id == accepted.customer_id)
        )
    assert customer is not None and customer.name == "Jane Doe"
    assert address is not None and (address.channel, address.address) == ("chat", "visitor-42")


async def test_a_known_sender_threads_into_the_open_conversation(hub: Hub) -> None:
    first = await intake(hub).accept(chat(sender="visitor-7", text="My card was declined"))
    second = await intake(hub).accept(chat(sender="visitor-7", text="Hello?"))
    assert second.customer_id == first.customer_id
    assert second.conversation_id == first.conversation_id
    assert not second.queued
    assert await count(hub, Customer) == 1
    assert await hub.app[QUEUE].size() == 1


async def test_after_a_conversation_is_closed_the_sender_starts_a_new_one(hub: Hub) -> None:
    agent_id = await hub.add_agent("alice", status="available")
    first = await intake(hub).accept(chat(sender="visitor-7", text="My card was declined"))
    offers = await eventually(lambda: hub.app[OFFERS].pending_for(agent_id))
    assert await hub.app[OFFERS].accept(offers[0].offer_id, agent_id) == first.conversation_id
    await hub.app[CONVERSATIONS].close(agent_id, first.conversation_id, "resolved")

    later = await intake(hub).accept(chat(sender="visitor-7", text="Another question"))
    assert later.customer_id == first.customer_id
    assert later.conversation_id != first.conversation_id
    assert later.queued


async def test_the_timeline_tells_what_happened(hub: Hub) -> None:
    accepted = await intake(hub).accept(chat(sender="visitor-9", text="Where is my parcel?"))
    await intake(hub).accept(chat(sender="visitor-9", text="It was due Monday"))
    async with hub.sessions() as session:
        events = await crm.timeline(session, accepted.customer_id)
    kinds = sorted(e.kind for e in events)
    assert kinds == [
        "contact.received",
        "contact.received",
        "conversation.queued",
        "customer.created",
    ]
    received = [e for e in events if e.kind == "contact.received"]
    assert {e.summary for e in received} == {"Where is my parcel?", "It was due Monday"}
    assert {e.conversation_id for e in received} == {accepted.conversation_id}


async def test_a_contact_is_committed_when_accept_returns(hub: Hub) -> None:
    accepted = await intake(hub).accept(chat(text="Is this saved?", raw="{}"))
    # A separate engine has no share in the intake's connections or transactions.
    engine = open_engine(hub.app[SETTINGS].database_url)
    try:
        async with session_factory(engine)() as session:
            message = await session.get(Message, accepted.message_id)
            entry = await session.get(QueueEntry, accepted.conversation_id)
    finally:
        await engine.dispose()
    assert message is not None and message.text == "Is this saved?" and message.raw == "{}"
    assert entry is not None


async def test_raw_is_stored_capped(hub: Hub) -> None:
    accepted = await intake(hub).accept(chat(raw="x" * (RAW_LIMIT + 500)))
    async with hub.sessions() as session:
        message = await session.get(Message, accepted.message_id)
    assert message is not None and message.raw is not None
    assert len(message.raw) == RAW_LIMIT


@pytest.mark.parametrize("missing", ["channel", "inbox", "external_id", "sender"])
def test_an_inbound_contact_needs_its_identifying_fields(missing: str) -> None:
    fields = {"channel": "sms", "inbox": "+15550100", "external_id": "SM1", "sender": "+15550111"}
    fields[missing] = ""
    with pytest.raises(ValueError, match=missing):
        InboundContact(text="hello", **fields)


def test_an_inbound_contact_keeps_raw_within_the_limit() -> None:
    small = chat(raw="x" * RAW_LIMIT)
    large = chat(raw="y" * (RAW_LIMIT * 3))
    assert small.raw == "x" * RAW_LIMIT
    assert large.raw == "y" * RAW_LIMIT
    assert chat().raw is None


async def test_a_returning_customers_messages_at_once_open_one_conversation(hub: Hub) -> None:
    agent_id = await hub.add_agent("alice", status="available")
    first = await intake(hub).accept(chat(sender="visitor-7", text="My card was declined"))
    offers = await eventually(lambda: hub.app[OFFERS].pending_for(agent_id))
    await hub.app[OFFERS].accept(offers[0].offer_id, agent_id)
    await hub.app[CONVERSATIONS].close(agent_id, first.conversation_id, "resolved")

    results = await asyncio.gather(
        *(intake(hub).accept(chat(sender="visitor-7", text=f"again {n}")) for n in range(5))
    )
    assert len({r.conversation_id for r in results}) == 1
    assert sum(r.queued for r in results) == 1


# Run in a plain interpreter that imports only the hub: the stall below depends on
# when the garbage collector runs, and a larger import graph (pytest, the console)
# happened to hide it.
BURST = """
import asyncio, sys, time, uuid
from hub.bus import MemoryBus
from hub.channel_traits import ChannelRegistry, ChannelTraits
from hub.contacts import InboundContact
from hub.db import open_engine, session_factory
from hub.intake import Intake
from hub.metrics import Metrics
from hub.migrate import upgrade
from hub.queue import MemoryQueue

async def burst(path, seconds=2.0, webhooks=12):
    engine = open_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    # Web chat's traits as channels.webchat declares them, without importing the channel.
    chat = ChannelTraits("chat", "Chat", default_capacity=3, replies_on="chat", per_address=True)
    intake = Intake(
        session_factory(engine), MemoryQueue(), MemoryBus(), Metrics(), ChannelRegistry([chat])
    )
    stored = []

    async def webhook(n):
        while time.monotonic() < until:
            contact = InboundContact(
                channel="chat", inbox="widget", external_id=uuid.uuid4().hex,
                sender=uuid.uuid4().hex, text="hi",
            )
            stored.append((await intake.accept(contact)).message_id)

    until = time.monotonic() + seconds
    try:
        await asyncio.gather(*(webhook(n) for n in range(webhooks)))
    finally:
        await engine.dispose()
    return len(set(stored))

print(asyncio.run(burst(sys.argv[1])))
"""


def test_sqlite_takes_a_burst_of_writers_without_stalling(tmp_path: Path) -> None:
    # With several pooled connections, the garbage collector (on the event loop's
    # thread) could reset a cursor whose connection sat in SQLite's busy wait: the
    # loop froze for the 30 s busy timeout, then writers failed "database is locked".
    done = subprocess.run(
        [sys.executable, "-c", BURST, str(tmp_path / "burst.db")],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) > 12
