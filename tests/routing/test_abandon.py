"""Customers who give up while waiting: the conversation is abandoned and the stats show it."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import select

from hub.keys import CONVERSATIONS, QUEUE
from hub.models import Conversation, Message, Offer, QueueEntry, TimelineEvent
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import ChatCustomer, Hub, eventually


async def status_of(hub: Hub, conversation_id: int) -> str:
    async with hub.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation.status


async def waiting_conversation(hub: Hub, customer: ChatCustomer, text: str) -> int:
    ack = await customer.say(text)
    assert ack["type"] == "ack", ack
    async with hub.sessions() as session:
        message = await session.get(Message, ack["message_id"])
        assert message is not None
        return message.conversation_id


async def test_a_visitor_who_leaves_before_an_answer_abandons_and_stats_count_it(
    hub: Hub,
) -> None:
    await hub.add_agent("alice", status="available", capacities={"chat": 1})
    await hub.add_agent("sam", role="supervisor")
    alice = await hub.login("alice")
    sam = await hub.login("sam")
    first = await ChatCustomer.connect(hub, name="First")
    await first.say("hello")
    offers = await eventually(lambda: alice.get("/api/offers"))
    status, _ = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200

    second = await ChatCustomer.connect(hub, name="Second")
    waiting = await waiting_conversation(hub, second, "anyone there?")
    assert await status_of(hub, waiting) == "queued"
    await second.ws.send('{"type": "leave"}')
    left = await second.expect("left")
    assert left == {"type": "left", "abandoned": 1}

    assert await status_of(hub, waiting) == "abandoned"
    assert not await hub.app[QUEUE].contains(waiting)
    async with hub.sessions() as session:
        assert await session.get(QueueEntry, waiting) is None
        kinds = list(
            await session.scalars(
                select(TimelineEvent.kind).where(TimelineEvent.conversation_id == waiting)
            )
        )
    assert kinds[-1] == "conversation.abandoned"

    stats = await sam.get("/api/supervisor/stats?target=20")
    assert (stats["answered"], stats["abandoned"]) == (1, 1)
    assert stats["abandon_rate"] == pytest.approx(0.5)
    assert stats["service_level"] == pytest.approx(0.5)  # the abandon counts against it
    assert stats["lines"] == []
    for client in (first, second):
        await client.close()
    for agent in (alice, sam):
        await agent.close()


async def test_a_visitor_gone_past_the_grace_period_abandons(settings_for: Settings) -> None:
    settings = dataclasses.replace(settings_for, chat_abandon_grace=0.3)
    async with start_hub(settings, clean=True) as hub:
        gone = await ChatCustomer.connect(hub, name="Gone")
        gone_id = await waiting_conversation(hub, gone, "hello?")
        await gone.close()
        await eventually(lambda: _is(hub, gone_id, "abandoned"))

        back = await ChatCustomer.connect(hub, name="Back")
        back_id = await waiting_conversation(hub, back, "still there?")
        await back.close()
        back = await ChatCustomer.connect(hub, token=back.token)
        await asyncio.sleep(0.6)  # twice the grace period: the timer must be off
        assert await status_of(hub, back_id) == "queued"
        assert await hub.app[QUEUE].contains(back_id)
        await back.close()


async def _is(hub: Hub, conversation_id: int, status: str) -> bool:
    return await status_of(hub, conversation_id) == status


async def test_leaving_while_offered_withdraws_the_offer_and_frees_the_agent(hub: Hub) -> None:
    alice_id = await hub.add_agent("alice", status="available", capacities={"chat": 1})
    alice = await hub.login("alice")
    customer = await ChatCustomer.connect(hub, name="Pat")
    conversation_id = await waiting_conversation(hub, customer, "help")
    offers = await eventually(lambda: alice.get("/api/offers"))
    assert await hub.app[QUEUE].load(alice_id) == {"chat": 1}

    assert await hub.app[CONVERSATIONS].abandon(conversation_id, "caller hung up")
    assert await hub.app[QUEUE].load(alice_id) == {}
    status, _ = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status != 200
    assert await alice.get("/api/offers") == []
    async with hub.sessions() as session:
        offer = await session.get(Offer, offers[0]["offer_id"])
        assert offer is not None and offer.status == "withdrawn"
    assert await status_of(hub, conversation_id) == "abandoned"
    await customer.close()
    await alice.close()


async def test_an_answered_conversation_cannot_be_abandoned(hub: Hub) -> None:
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    customer = await ChatCustomer.connect(hub, name="Pat")
    conversation_id = await waiting_conversation(hub, customer, "help")
    offers = await eventually(lambda: alice.get("/api/offers"))
    status, _ = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200

    assert not await hub.app[CONVERSATIONS].abandon(conversation_id, "caller hung up")
    await customer.ws.send('{"type": "leave"}')
    assert await customer.expect("left") == {"type": "left", "abandoned": 0}
    assert await status_of(hub, conversation_id) == "assigned"
    await customer.close()
    await alice.close()


async def test_a_chat_back_in_the_queue_after_its_visitor_left_is_abandoned(
    settings_for: Settings,
) -> None:
    settings = dataclasses.replace(
        settings_for, chat_abandon_grace=0.3, presence_grace=0.6, presence_interval=0.1
    )
    async with start_hub(settings, clean=True) as hub:
        await hub.add_agent("alice", status="available")
        alice = await hub.login("alice")
        try:
            console = await alice.http.ws_connect("console/ws")
            customer = await ChatCustomer.connect(hub, name="Pat")
            conversation_id = await waiting_conversation(hub, customer, "hello?")
            offers = await eventually(lambda: alice.get("/api/offers"))
            status, _ = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
            assert status == 200
            await customer.close()  # the visitor leaves while alice holds the chat
            await asyncio.sleep(0.6)  # past the visitor's grace: nothing to abandon yet
            assert await status_of(hub, conversation_id) == "assigned"

            await console.close()  # alice goes too: her chat goes back to the queue...
            # ...where nobody is left to answer it: abandoned, not queued forever.
            await eventually(lambda: _is(hub, conversation_id, "abandoned"))
            assert not await hub.app[QUEUE].contains(conversation_id)
        finally:
            await alice.close()
