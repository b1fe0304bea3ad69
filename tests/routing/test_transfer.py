"""Transfers keep the conversation and its history, to an agent or to a skill queue."""

from __future__ import annotations

from tests.support import AgentClient, ChatCustomer, Hub, eventually


async def take_chat(hub: Hub, agent: AgentClient, text: str) -> int:
    customer = await ChatCustomer.connect(hub, name="Robin")
    await customer.say(text)
    offers = await eventually(lambda: agent.get("/api/offers"))
    status, body = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200
    await customer.close()
    return int(body["conversation_id"])


async def test_transfer_to_a_colleague_offers_it_with_the_history(hub: Hub) -> None:
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    conversation_id = await take_chat(hub, alice, "I need to raise my transfer limit")
    bob_id = await hub.add_agent("bob", status="available")
    bob = await hub.login("bob")
    status, note = await alice.post(
        f"/api/conversations/{conversation_id}/note", {"text": "VIP, be quick"}
    )
    assert status == 200

    status, body = await alice.post(
        f"/api/conversations/{conversation_id}/transfer", {"agent_id": bob_id}
    )
    assert (status, body) == (200, {"outcome": "offered"})
    offers = await bob.get("/api/offers")
    assert [o["conversation_id"] for o in offers] == [conversation_id]
    status, _ = await bob.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200
    conversation = await bob.get(f"/api/conversations/{conversation_id}")
    assert [m["text"] for m in conversation["messages"]] == [
        "I need to raise my transfer limit",
        "VIP, be quick",
    ]
    assert await alice.get("/api/conversations") == []
    timeline = await bob.get(f"/api/customers/{conversation['customer']['id']}/timeline")
    assert any(e["kind"] == "conversation.requeued" and "Bob" in e["summary"] for e in timeline)
    await alice.close()
    await bob.close()


async def test_transfer_to_a_skill_queue_reaches_a_skilled_agent_not_the_sender(hub: Hub) -> None:
    await hub.add_agent("alice", status="available", skills={"support": 5, "loans": 5})
    alice = await hub.login("alice")
    conversation_id = await take_chat(hub, alice, "a question about my mortgage")
    await hub.add_agent("carol", status="available", skills={"mortgage": 8})
    await hub.add_agent("dan", status="available", skills={"support": 9})
    carol = await hub.login("carol")
    dan = await hub.login("dan")

    status, body = await alice.post(
        f"/api/conversations/{conversation_id}/transfer", {"skill": "mortgage"}
    )
    assert (status, body) == (200, {"outcome": "queued"})
    offers = await eventually(lambda: carol.get("/api/offers"))
    assert offers[0]["conversation_id"] == conversation_id
    assert await dan.get("/api/offers") == [] and await alice.get("/api/offers") == []
    for agent in (alice, carol, dan):
        await agent.close()


async def test_transfers_that_cannot_happen_say_why(hub: Hub) -> None:
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    conversation_id = await take_chat(hub, alice, "hello")
    away_id = await hub.add_agent("erin", status="away")
    url = f"/api/conversations/{conversation_id}/transfer"

    status, body = await alice.post(url, {"agent_id": away_id})
    assert status == 409 and body["error"] == "Erin is away."
    status, body = await alice.post(url, {})
    assert status == 400 and "either" in body["error"]
    status, body = await alice.post("/api/conversations/999999/transfer", {"skill": "x"})
    assert status == 404
    assert [c["id"] for c in await alice.get("/api/conversations")] == [conversation_id]
    await alice.close()
