"""No contact waits while an eligible agent has room: freed capacity is used at once."""

from __future__ import annotations

from tests.support import ChatCustomer, Hub, eventually


async def test_closing_a_conversation_hands_the_next_one_over_promptly(hub: Hub) -> None:
    await hub.add_agent("alice", status="available", capacities={"chat": 1})
    alice = await hub.login("alice")
    first = await ChatCustomer.connect(hub, name="First")
    second = await ChatCustomer.connect(hub, name="Second")
    await first.say("one")
    await second.say("two")
    offers = await eventually(lambda: alice.get("/api/offers"))
    assert len(offers) == 1
    status, body = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200

    status, _ = await alice.post(
        f"/api/conversations/{body['conversation_id']}/close", {"disposition": "resolved"}
    )
    assert status == 200
    offers = await eventually(lambda: alice.get("/api/offers"), timeout=5)
    assert offers[0]["conversation_id"] != body["conversation_id"]
    await first.close()
    await second.close()
    await alice.close()


async def test_an_agent_becoming_available_gets_what_is_waiting(hub: Hub) -> None:
    await hub.add_agent("alice", status="away")
    alice = await hub.login("alice")
    customer = await ChatCustomer.connect(hub, name="Waiting")
    await customer.say("is anyone there?")
    assert await alice.get("/api/offers") == []
    status, _ = await alice.post("/api/me/status", {"status": "available"})
    assert status == 200
    offers = await eventually(lambda: alice.get("/api/offers"), timeout=5)
    assert len(offers) == 1
    await customer.close()
    await alice.close()
