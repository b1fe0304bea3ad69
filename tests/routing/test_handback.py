"""An agent whose console goes away: after a grace period their work goes back to the queue."""

from __future__ import annotations

import asyncio
import dataclasses

from hub.models import Agent, Conversation
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import AgentClient, ChatCustomer, Hub, eventually


def quick(settings: Settings) -> Settings:
    return dataclasses.replace(settings, presence_grace=0.6, presence_interval=0.1)


async def assigned_chat(hub: Hub, agent: AgentClient) -> int:
    customer = await ChatCustomer.connect(hub, name="Pat")
    await customer.say("my card is stuck in the machine")
    offers = await eventually(lambda: agent.get("/api/offers"))
    status, body = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200
    await customer.close()
    return int(body["conversation_id"])


async def status_of(hub: Hub, agent_id: int) -> str:
    async with hub.sessions() as session:
        agent = await session.get(Agent, agent_id)
        assert agent is not None
        return agent.status


async def test_work_returns_to_the_queue_when_the_console_stays_gone(
    settings_for: Settings,
) -> None:
    async with start_hub(quick(settings_for), clean=True) as hub:
        alice_id = await hub.add_agent("alice", status="available")
        alice = await hub.login("alice")
        console = await alice.http.ws_connect("console/ws")
        await asyncio.sleep(0.3)  # seen at least once
        conversation_id = await assigned_chat(hub, alice)
        bob_id = await hub.add_agent("bob", status="available")
        bob = await hub.login("bob")

        await console.close()
        offers = await eventually(lambda: bob.get("/api/offers"))
        assert offers[0]["conversation_id"] == conversation_id
        assert await status_of(hub, alice_id) == "offline"
        timeline = await bob.get(f"/api/conversations/{conversation_id}")
        assert timeline["status"] == "offered"
        async with hub.sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None and conversation.agent_id is None
        assert bob_id != alice_id
        await alice.close()
        await bob.close()


async def test_a_flapping_connection_keeps_its_work(settings_for: Settings) -> None:
    async with start_hub(quick(settings_for), clean=True) as hub:
        alice_id = await hub.add_agent("alice", status="available")
        alice = await hub.login("alice")
        console = await alice.http.ws_connect("console/ws")
        await asyncio.sleep(0.3)
        conversation_id = await assigned_chat(hub, alice)

        await console.close()
        await asyncio.sleep(0.2)  # shorter than the grace period
        console = await alice.http.ws_connect("console/ws")
        await asyncio.sleep(1.0)
        assert await status_of(hub, alice_id) == "available"
        mine = await alice.get("/api/conversations")
        assert [c["id"] for c in mine] == [conversation_id]
        await console.close()
        await alice.close()
