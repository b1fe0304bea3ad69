"""Offers: what happens when an agent lets one expire, rejects it, or is full or unskilled."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from agent_console.keys import OFFERS
from hub.contacts import InboundContact
from hub.intake import Accepted
from hub.keys import CONVERSATIONS, INTAKE, QUEUE, SESSIONS
from hub.models import Conversation, Inbox, Offer, utcnow
from hub.queue import WaitingContact
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import Hub, eventually

QUIET = 0.4  # several routing ticks (0.05 s each): long enough for an unwanted offer to show


async def arrives(hub: Hub, sender: str, inbox: str = "website", **fields: object) -> Accepted:
    contact = InboundContact(
        channel="chat",
        inbox=inbox,
        external_id=uuid.uuid4().hex,
        sender=sender,
        text=f"Hello from {sender}",
        **fields,  # type: ignore[arg-type]
    )
    return await hub.app[INTAKE].accept(contact)


async def offers_of(hub: Hub, conversation_id: int) -> list[tuple[int, str]]:
    """(agent, status) of every offer made for a conversation, oldest first."""
    async with hub.app[SESSIONS]() as session:
        rows = await session.execute(
            select(Offer.agent_id, Offer.status)
            .where(Offer.conversation_id == conversation_id)
            .order_by(Offer.id)
        )
        return [(agent_id, status) for agent_id, status in rows.all()]


async def pending(hub: Hub, agent_id: int) -> list[int]:
    """Offer ids pending for an agent."""
    return [o.offer_id for o in await hub.app[OFFERS].pending_for(agent_id)]


async def back_in_line(hub: Hub, conversation_id: int) -> WaitingContact | None:
    for contact in await hub.app[QUEUE].waiting():
        if contact.conversation_id == conversation_id:
            return contact
    return None


async def status_of(hub: Hub, conversation_id: int) -> str:
    async with hub.app[SESSIONS]() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation.status


async def test_an_expired_offer_goes_back_in_line_and_then_to_someone_else(
    settings_for: Settings,
) -> None:
    async with start_hub(replace(settings_for, offer_timeout=0.6), clean=True) as hub:
        alice = await hub.add_agent("alice", status="available")
        arrived = utcnow() - timedelta(minutes=10)
        contact = await arrives(hub, "visitor-1", received_at=arrived)
        await eventually(lambda: pending(hub, alice))

        async def expired() -> WaitingContact | None:
            if await offers_of(hub, contact.conversation_id) == [(alice, "expired")]:
                return await back_in_line(hub, contact.conversation_id)
            return None

        waiting = await eventually(expired)
        assert waiting.enqueued_at == arrived.timestamp()
        assert waiting.declined_by == frozenset({alice})
        assert await hub.app[QUEUE].load(alice) == {}
        assert await status_of(hub, contact.conversation_id) == "queued"

        await asyncio.sleep(QUIET)
        assert await offers_of(hub, contact.conversation_id) == [(alice, "expired")]

        bob = await hub.add_agent("bob", status="available")
        await eventually(lambda: pending(hub, bob))
        assert [agent for agent, _ in await offers_of(hub, contact.conversation_id)] == [
            alice,
            bob,
        ]


async def test_a_rejected_offer_goes_to_someone_else_never_back(hub: Hub) -> None:
    await hub.add_agent("alice", status="available")
    await hub.add_agent("bob", status="offline")
    alice = await hub.login("alice")
    contact = await arrives(hub, "visitor-1")
    offers = await eventually(lambda: alice.get("/api/offers"))

    status, _ = await alice.post(f"/api/offers/{offers[0]['offer_id']}/reject")
    assert status == 200
    waiting = await eventually(lambda: back_in_line(hub, contact.conversation_id))
    assert waiting.enqueued_at == (await hub.app[QUEUE].waiting())[0].enqueued_at
    await asyncio.sleep(QUIET)
    assert await alice.get("/api/offers") == []

    bob = await hub.login("bob")
    status, _ = await bob.post("/api/me/status", {"status": "available"})
    assert status == 200
    offers = await eventually(lambda: bob.get("/api/offers"))
    assert offers[0]["conversation_id"] == contact.conversation_id
    status, body = await bob.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert (status, body["conversation_id"]) == (200, contact.conversation_id)
    await alice.close()
    await bob.close()


async def test_with_one_agent_a_declined_contact_comes_back_after_the_cool_down(
    settings_for: Settings,
) -> None:
    async with start_hub(replace(settings_for, decline_cooldown=1.0), clean=True) as hub:
        alice = await hub.add_agent("alice", status="available")
        contact = await arrives(hub, "visitor-1")
        first = await eventually(lambda: pending(hub, alice))
        assert await hub.app[OFFERS].reject(first[0], alice)

        await eventually(lambda: pending(hub, alice))
        async with hub.sessions() as session:
            rows = await session.execute(
                select(Offer.status, Offer.created_at, Offer.decided_at)
                .where(Offer.conversation_id == contact.conversation_id)
                .order_by(Offer.id)
            )
            (rejected, _, declined_at), (again, offered_at, _) = rows.all()
        assert (rejected, again) == ("rejected", "pending")
        assert declined_at is not None
        assert offered_at - declined_at >= timedelta(seconds=1.0)  # not before the cool-down


async def test_an_offer_cannot_be_accepted_after_it_expired(settings_for: Settings) -> None:
    async with start_hub(replace(settings_for, offer_timeout=0.3), clean=True) as hub:
        alice_id = await hub.add_agent("alice", status="available")
        alice = await hub.login("alice")
        contact = await arrives(hub, "visitor-1")
        offers = await eventually(lambda: alice.get("/api/offers"))
        offer_id = offers[0]["offer_id"]

        async def expired() -> bool:
            return await offers_of(hub, contact.conversation_id) == [(alice_id, "expired")]

        await eventually(expired)

        status, body = await alice.post(f"/api/offers/{offer_id}/accept")
        assert status == 409 and "no longer open" in body["error"]
        assert await hub.app[OFFERS].accept(offer_id, alice_id) is None
        assert await status_of(hub, contact.conversation_id) == "queued"
        await alice.close()


async def test_an_agent_at_capacity_gets_no_second_offer(hub: Hub) -> None:
    alice = await hub.add_agent("alice", status="available", capacities={"chat": 1})
    first = await arrives(hub, "visitor-1")
    second = await arrives(hub, "visitor-2")
    await eventually(lambda: pending(hub, alice))
    await asyncio.sleep(QUIET)
    assert len(await pending(hub, alice)) == 1
    assert await hub.app[QUEUE].load(alice) == {"chat": 1}
    assert [c.conversation_id for c in await hub.app[QUEUE].waiting()] == [second.conversation_id]

    # Once she wraps up the first, the second comes to her.
    offer_id = (await pending(hub, alice))[0]
    assert await hub.app[OFFERS].accept(offer_id, alice) == first.conversation_id
    await asyncio.sleep(QUIET)
    assert await pending(hub, alice) == []
    await hub.app[CONVERSATIONS].close(alice, first.conversation_id, "resolved")
    await eventually(lambda: pending(hub, alice))
    assert await offers_of(hub, second.conversation_id) == [(alice, "pending")]


async def test_a_contact_needing_a_skill_waits_for_an_agent_who_has_it(hub: Hub) -> None:
    async with hub.sessions() as session, session.begin():
        session.add(Inbox(channel="chat", address="billing", name="Billing", skill="billing"))
    generalist = await hub.add_agent("gene", status="available")
    contact = await arrives(hub, "visitor-1", inbox="billing")
    waiting = await back_in_line(hub, contact.conversation_id)
    assert waiting is not None and waiting.required_skill == "billing"

    await asyncio.sleep(QUIET)
    assert await offers_of(hub, contact.conversation_id) == []

    specialist = await hub.add_agent("bill", status="available", skills={"billing": 3})
    await eventually(lambda: pending(hub, specialist))
    assert await offers_of(hub, contact.conversation_id) == [(specialist, "pending")]
    assert await pending(hub, generalist) == []
