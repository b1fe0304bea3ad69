"""Supervisors see live queue figures and why routing chose whom; missed offers set agents away."""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest

from hub.models import Agent
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import ChatCustomer, Hub, eventually


async def test_supervisor_sees_answered_waiting_and_staffing(hub: Hub) -> None:
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
    await second.say("anyone there?")

    async def two_contacts_seen() -> dict | None:
        stats = await sam.get("/api/supervisor/stats?target=20")
        return stats if stats["lines"] and stats["answered"] == 1 else None

    stats = await eventually(two_contacts_seen)
    assert stats["lines"] == [
        {
            "queue": "general",
            "channel": "chat",
            "waiting": 1,
            "longest_wait": stats["lines"][0]["longest_wait"],
        }
    ]
    assert stats["service_level"] == 1.0 and stats["abandoned"] == 0
    assert stats["average_speed_of_answer"] >= 0
    assert stats["agents_by_state"] == {"available": 1, "offline": 1}
    assert stats["occupancy"] == pytest.approx(1.0)  # her one chat fills her chat capacity
    assert stats["agents_needed"] >= 1 and "probability_of_waiting" in stats["erlang"]

    decisions = await sam.get("/api/supervisor/routing")
    assert decisions[0]["chosen_agent_id"] is not None
    assert decisions[0]["requirements"]["channel"] == "chat"
    assert "longest idle" in decisions[0]["reason"]

    for client in (first, second):
        await client.close()
    for agent in (alice, sam):
        await agent.close()


async def test_agents_cannot_read_supervisor_views(hub: Hub) -> None:
    await hub.add_agent("alice")
    alice = await hub.login("alice")
    async with alice.http.get("api/supervisor/stats") as response:
        assert response.status == 403
    async with alice.http.get("api/supervisor/routing") as response:
        assert response.status == 403
    await alice.close()
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(hub.url + "/api/supervisor/stats") as response:
            assert response.status == 401


async def test_missed_offers_in_a_row_set_the_agent_away(settings_for: Settings) -> None:
    settings = dataclasses.replace(settings_for, offer_timeout=0.3)
    async with start_hub(settings, clean=True) as hub:
        agent_id = await hub.add_agent("alice", status="available", capacities={"chat": 3})
        customers = [await ChatCustomer.connect(hub, name=f"C{i}") for i in range(3)]
        for customer in customers:
            await customer.say("hello?")

        async def away() -> bool:
            async with hub.sessions() as session:
                agent = await session.get(Agent, agent_id)
                assert agent is not None
                return agent.status == "away" and agent.missed_offers >= 3

        assert await eventually(away)
        for customer in customers:
            await customer.close()
