"""Past conversations: an agent or supervisor reopens one onto the queue, or takes one
over within their capacity; never two holders, never past capacity, each step on the
customer's timeline with who took it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.keys import QUEUE
from hub.models import Conversation
from tests.agent_console.crm_records import Talk, add_customer
from tests.support import Hub


async def _conversation(hub: Hub, customer_id: int) -> Conversation:
    async with hub.sessions() as session:
        found = await session.scalar(
            select(Conversation).where(Conversation.customer_id == customer_id)
        )
    assert found is not None
    return found


def _timeline(page: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    return [
        (e["agent_name"], e["summary"]) for e in page["timeline"]["events"] if e["kind"] == kind
    ]


async def test_an_agent_reopens_a_past_conversation_onto_the_queue(hub: Hub) -> None:
    nora = await hub.add_agent("nora", capacities={"chat": 2})
    await hub.add_agent("sven")
    customer = await add_customer(hub, "Past Customer", talks=(Talk("chat", "closed", nora),))
    conversation = (await _conversation(hub, customer)).id
    client, sven = await hub.login("nora"), await hub.login("sven")
    try:
        status, _ = await sven.post(f"/api/conversations/{conversation}/reopen")
        assert status == 404  # not one of his
        status, body = await client.post(f"/api/conversations/{conversation}/reopen")
        assert (status, body["status"]) == (200, "queued"), body
        assert await hub.app[QUEUE].contains(conversation)
        stored = await _conversation(hub, customer)
        assert (stored.status, stored.agent_id, stored.closed_at) == ("queued", None, None)
        status, body = await client.post(f"/api/conversations/{conversation}/reopen")
        assert status == 404  # waiting for anyone now: no longer hers to act on
        await hub.add_agent("sam", role="supervisor")
        sam = await hub.login("sam")
        try:
            status, body = await sam.post(f"/api/conversations/{conversation}/reopen")
            assert status == 409 and "waiting" in body["error"]
            page = await sam.get(f"/api/customers/{customer}")
        finally:
            await sam.close()
    finally:
        await client.close()
        await sven.close()
    assert _timeline(page, "conversation.reopened") == [
        ("Nora", "Back in the queue: reopened by Nora")
    ]


async def test_taking_over_respects_capacity_and_leaves_one_holder(hub: Hub) -> None:
    nora = await hub.add_agent("nora", capacities={"chat": 1})
    first = await add_customer(hub, "First Customer", talks=(Talk("chat", "closed", nora),))
    second = await add_customer(hub, "Second Customer", talks=(Talk("chat", "closed", nora),))
    one, two = (await _conversation(hub, first)).id, (await _conversation(hub, second)).id
    client = await hub.login("nora")
    try:
        status, body = await client.post(f"/api/conversations/{one}/take-over")
        assert (status, body["status"]) == (200, "assigned"), body
        assert await hub.app[QUEUE].load(nora) == {"chat": 1}
        status, body = await client.post(f"/api/conversations/{two}/take-over")
        assert status == 409 and "capacity" in body["error"], body
        assert (await _conversation(hub, second)).status == "closed"  # nothing changed
        status, body = await client.post(f"/api/conversations/{one}/take-over")
        assert status == 409 and "yours already" in body["error"]
        assert [c["id"] for c in await client.get("/api/conversations")] == [one]

        status, _ = await client.post(
            f"/api/conversations/{one}/close", {"disposition": "resolved"}
        )
        assert status == 200
        status, _ = await client.post(f"/api/conversations/{two}/take-over")
        assert status == 200
        assert await hub.app[QUEUE].load(nora) == {"chat": 1}
        page = await client.get(f"/api/customers/{second}")
    finally:
        await client.close()
    assert _timeline(page, "conversation.taken_over") == [("Nora", "Taken over by Nora (closed)")]


async def test_a_supervisor_takes_over_a_waiting_conversation_within_the_team(hub: Hub) -> None:
    nora = await hub.add_agent("nora", team="north")
    sam_id = await hub.add_agent("sam", role="supervisor", team="north", capacities={"email": 1})
    await hub.add_agent("sue", role="supervisor", team="south", capacities={"email": 5})
    customer = await add_customer(hub, "Mail Customer", talks=(Talk("email", "closed", nora),))
    conversation = (await _conversation(hub, customer)).id
    sam, sue = await hub.login("sam"), await hub.login("sue")
    try:
        status, _ = await sue.post(f"/api/conversations/{conversation}/take-over")
        assert status == 404  # another team's
        status, _ = await sam.post(f"/api/conversations/{conversation}/reopen")
        assert status == 200
        # Waiting, nobody's: every supervisor sees it; the first to reserve it has it.
        status, body = await sam.post(f"/api/conversations/{conversation}/take-over")
        assert status == 200, body
        assert not await hub.app[QUEUE].contains(conversation)
        status, body = await sue.post(f"/api/conversations/{conversation}/take-over")
        assert status == 404  # held by the north team now
        stored = await _conversation(hub, customer)
        assert (stored.status, stored.agent_id) == ("assigned", sam_id)
        page = await sam.get(f"/api/customers/{customer}")
    finally:
        await sam.close()
        await sue.close()
    assert _timeline(page, "conversation.taken_over") == [("Sam", "Taken over by Sam (waiting)")]
    assert _timeline(page, "conversation.reopened") == [
        ("Sam", "Back in the queue: reopened by Sam")
    ]


async def test_a_waiting_conversation_the_router_reserved_is_not_taken_twice(hub: Hub) -> None:
    nora = await hub.add_agent("nora", capacities={"chat": 3})
    await hub.add_agent("ada", role="admin", capacities={"chat": 3})
    customer = await add_customer(hub, "Raced Customer", talks=(Talk("chat", "closed", nora),))
    conversation = (await _conversation(hub, customer)).id
    ada = await hub.login("ada")
    try:
        status, _ = await ada.post(f"/api/conversations/{conversation}/reopen")
        assert status == 200
        # The router reserves it for Nora a moment before the admin asks for it.
        assert await hub.app[QUEUE].reserve(conversation, nora, "chat", 3)
        status, body = await ada.post(f"/api/conversations/{conversation}/take-over")
        assert status == 409 and "meanwhile" in body["error"], body
        loads = await hub.app[QUEUE].loads([nora])
        assert loads[nora] == {"chat": 1}
        stored = await _conversation(hub, customer)
        assert (stored.status, stored.agent_id) == ("queued", None)
    finally:
        await ada.close()
