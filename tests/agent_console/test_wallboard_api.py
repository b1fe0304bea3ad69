"""The wallboard's API: who may use it, and what a supervisor's actions do to agents and work."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from sqlalchemy import select

from hub.models import Agent, Conversation
from tests.support import AgentClient, ChatCustomer, Hub, eventually


async def open_socket(agent: AgentClient) -> aiohttp.ClientWebSocketResponse:
    ws = await agent.http.ws_connect("console/ws")
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello"
    return ws


async def next_event(
    ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 5.0, **fields: Any
) -> dict[str, Any]:
    """The next event of this type (and these fields), skipping the others."""
    async with asyncio.timeout(timeout):
        while True:
            event = await ws.receive_json()
            if event["type"] == kind and all(event.get(k) == v for k, v in fields.items()):
                return dict(event)


async def drain(ws: aiohttp.ClientWebSocketResponse, settle: float = 0.3) -> list[dict[str, Any]]:
    """Every event that arrives until the socket has been quiet for `settle` seconds."""
    events = []
    while True:
        try:
            frame = await ws.receive(timeout=settle)
        except TimeoutError:
            return events
        events.append(json.loads(frame.data))


async def chat_taken_by(hub: Hub, agent: AgentClient, name: str) -> int:
    """A chat customer writes and `agent` (available) accepts; the conversation id."""
    customer = await ChatCustomer.connect(hub, name=name)
    await customer.say("My order never arrived")
    offers = await eventually(lambda: agent.get("/api/offers"))
    status, body = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200, body
    await customer.close()
    return int(body["conversation_id"])


async def test_agents_are_kept_out_of_the_wallboard_and_its_actions(hub: Hub) -> None:
    alice_id = await hub.add_agent("alice", status="available")
    await hub.add_agent("sam", role="supervisor")
    alice, sam = await hub.login("alice"), await hub.login("sam")

    async with alice.http.get("console/wallboard") as page:
        assert page.status == 403
        assert "for supervisors" in await page.text()
    async with alice.http.get("api/supervisor/agents") as response:
        assert response.status == 403
    status, body = await alice.post(f"/api/supervisor/agents/{alice_id}/status", {"status": "away"})
    assert (status, body) == (403, {"error": "Supervisors only."})
    status, _ = await alice.post("/api/supervisor/conversations/1/reassign", {"queue": True})
    assert status == 403
    async with hub.sessions() as session:
        assert (await session.get(Agent, alice_id)).status == "available"  # type: ignore[union-attr]

    async with sam.http.get("console/wallboard") as page:
        assert page.status == 200
        html = await page.text()
    assert 'id="agents"' in html and "wallboard.js" in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    for client in (alice, sam):
        await client.close()


async def test_a_supervisor_sets_an_agent_away_and_the_agent_hears_it(hub: Hub) -> None:
    alice_id = await hub.add_agent("alice", status="available")
    await hub.add_agent("sam", role="supervisor")
    alice, sam = await hub.login("alice"), await hub.login("sam")
    alice_ws = await open_socket(alice)

    status, body = await sam.post(f"/api/supervisor/agents/{alice_id}/status", {"status": "away"})
    assert (status, body) == (200, {"status": "away", "requeued": 0})
    event = await next_event(alice_ws, "agent.state")
    assert (event["agent_id"], event["status"], event["why"]) == (
        alice_id,
        "away",
        "set away by Sam",
    )

    async def clocked() -> dict[str, Any] | None:
        # Time in state is recorded from the same event, on the presence board.
        board = {a["name"]: a for a in await sam.get("/api/supervisor/agents")}
        return board if board["Alice"]["status_since"] == event["ts"] else None

    board = await eventually(clocked)
    assert board["Alice"]["status"] == "away"
    assert board["Alice"]["capacity"]["chat"] == 3 and board["Alice"]["load"] == {}

    status, body = await sam.post(f"/api/supervisor/agents/{alice_id}/status", {"status": "busy"})
    assert status == 400
    status, body = await sam.post("/api/supervisor/agents/999/status", {"status": "away"})
    assert status == 404
    await alice_ws.close()
    for client in (alice, sam):
        await client.close()


async def test_setting_an_agent_offline_puts_their_chats_back_in_the_queue(hub: Hub) -> None:
    alice_id = await hub.add_agent("alice", status="available")
    await hub.add_agent("sam", role="supervisor")
    alice, sam = await hub.login("alice"), await hub.login("sam")
    conversation_id = await chat_taken_by(hub, alice, "Jane Doe")
    board = await sam.get("/api/supervisor/agents")
    (held,) = [a for a in board if a["id"] == alice_id][0]["conversations"]
    assert held == {"id": conversation_id, "channel": "chat", "customer": "Jane Doe"}
    assert [a for a in board if a["id"] == alice_id][0]["load"] == {"chat": 1}

    alice_ws = await open_socket(alice)
    status, body = await sam.post(
        f"/api/supervisor/agents/{alice_id}/status", {"status": "offline"}
    )
    assert (status, body) == (200, {"status": "offline", "requeued": 1})
    assert (await next_event(alice_ws, "agent.state"))["status"] == "offline"

    async with hub.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert (conversation.status, conversation.agent_id) == ("queued", None)
    stats = await sam.get("/api/supervisor/stats")
    assert [(line["channel"], line["waiting"]) for line in stats["lines"]] == [("chat", 1)]
    assert await alice.get("/api/conversations") == []
    await alice_ws.close()
    for client in (alice, sam):
        await client.close()


async def test_a_supervisor_reassigns_a_chat_to_another_agent(hub: Hub) -> None:
    alice_id = await hub.add_agent("alice", status="available")
    bob_id = await hub.add_agent("bob", status="offline")
    await hub.add_agent("sam", role="supervisor")
    alice, bob, sam = await hub.login("alice"), await hub.login("bob"), await hub.login("sam")
    conversation_id = await chat_taken_by(hub, alice, "Jane Doe")
    alice_ws = await open_socket(alice)
    path = f"/api/supervisor/conversations/{conversation_id}/reassign"

    status, body = await sam.post(path, {"agent_id": bob_id})
    assert (status, body["error"]) == (409, "Bob is offline.")
    status, body = await sam.post(path, {"agent_id": bob_id, "queue": True})
    assert status == 400
    status, body = await sam.post("/api/supervisor/conversations/999/reassign", {"queue": True})
    assert status == 404

    await bob.post("/api/me/status", {"status": "available"})
    status, body = await sam.post(path, {"agent_id": bob_id})
    assert (status, body) == (200, {"outcome": "offered"})
    moved = await next_event(alice_ws, "conversation.reassigned")
    assert (moved["conversation_id"], moved["agent_id"]) == (conversation_id, alice_id)
    assert await alice.get("/api/conversations") == []
    (offer,) = await bob.get("/api/offers")
    assert offer["conversation_id"] == conversation_id
    status, _ = await bob.post(f"/api/offers/{offer['offer_id']}/accept")
    assert status == 200

    # Once more, back to the queue it came from; alice declined it by handing it on.
    status, body = await sam.post(path, {"queue": True})
    assert (status, body) == (200, {"outcome": "queued"})
    async with hub.sessions() as session:
        status_now = await session.scalar(
            select(Conversation.status).where(Conversation.id == conversation_id)
        )
    assert status_now in ("queued", "offered")
    status, body = await sam.post(path, {"queue": True})
    assert status == 409
    await alice_ws.close()
    for client in (alice, bob, sam):
        await client.close()


async def test_supervisor_sockets_hear_every_queue_event_and_agents_only_their_own(
    hub: Hub,
) -> None:
    alice_id = await hub.add_agent("alice", status="available")
    await hub.add_agent("bob", status="away")
    await hub.add_agent("sam", role="supervisor")
    alice, bob, sam = await hub.login("alice"), await hub.login("bob"), await hub.login("sam")
    sam_ws, alice_ws, bob_ws = (
        await open_socket(sam),
        await open_socket(alice),
        await open_socket(bob),
    )

    conversation_id = await chat_taken_by(hub, alice, "Jane Doe")
    seen = {e["type"] for e in await drain(sam_ws)}
    assert {"contact.queued", "message.received", "offer.created", "conversation.assigned"} <= seen
    alice_seen = [e["type"] for e in await drain(alice_ws)]
    assert "contact.queued" not in alice_seen
    assert alice_seen.count("offer.created") == 1 and "conversation.assigned" in alice_seen
    assert await drain(bob_ws) == []

    await bob.post("/api/me/status", {"status": "available"})
    state = await next_event(sam_ws, "agent.state")
    assert state["status"] == "available" and state["agent_id"] != alice_id
    status, _ = await alice.post(f"/api/conversations/{conversation_id}/close", {})
    assert status == 200
    assert (await next_event(sam_ws, "conversation.closed"))["conversation_id"] == conversation_id

    # A supervisor named in an event gets it once, not twice.
    status, _ = await sam.post("/api/me/status", {"status": "away"})
    assert [e["type"] for e in await drain(sam_ws)].count("agent.state") == 1
    for ws in (sam_ws, alice_ws, bob_ws):
        await ws.close()
    for client in (alice, bob, sam):
        await client.close()
