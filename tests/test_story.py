"""The whole way through: a chat customer writes, an agent is offered it, accepts and replies."""

from __future__ import annotations

from tests.support import ChatCustomer, Hub, eventually


async def test_chat_customer_reaches_an_agent_and_gets_the_reply(hub: Hub) -> None:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    customer = await ChatCustomer.connect(hub, name="Jane Doe")

    ack = await customer.say("Hello, my card was declined")
    assert ack["type"] == "ack" and not ack["duplicate"]

    offers = await eventually(lambda: agent.get("/api/offers"))
    status, body = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200
    conversation_id = body["conversation_id"]

    conversation = await agent.get(f"/api/conversations/{conversation_id}")
    assert conversation["customer"]["name"] == "Jane Doe"
    assert [m["text"] for m in conversation["messages"]] == ["Hello, my card was declined"]

    status, sent = await agent.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Let me check that for you."}
    )
    assert status == 200 and sent["delivery_status"] == "sent"
    reply = await customer.expect("message")
    assert reply["text"] == "Let me check that for you." and reply["author"] == "Alice"

    timeline = await agent.get(f"/api/customers/{conversation['customer']['id']}/timeline")
    kinds = [event["kind"] for event in reversed(timeline)]
    assert kinds[:1] == ["customer.created"]
    for kind in ("contact.received", "conversation.queued", "conversation.assigned", "reply.sent"):
        assert kind in kinds

    await customer.close()
    await agent.close()
