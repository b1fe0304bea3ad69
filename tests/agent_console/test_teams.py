"""Teams: a supervisor with a team sees and steers that team only; admins see everyone."""

from __future__ import annotations

import json

from sqlalchemy import func, select, update

from hub.keys import INTAKE
from hub.models import Agent, Conversation, Customer, CustomerLink, Message
from tests.agent_console.test_wallboard_api import chat_taken_by
from tests.insights.corpus import store
from tests.support import ChatCustomer, Hub


async def test_a_team_supervisor_sees_only_their_team_on_the_wallboard(hub: Hub) -> None:
    await hub.add_agent("nora", status="available", team="north")
    await hub.add_agent("sven", status="available", team="south")
    await hub.add_agent("nick", role="supervisor", team="north")
    await hub.add_agent("sally", role="supervisor")  # no team: the whole floor
    await hub.add_agent("ada", role="admin", team="north")  # admins see everyone
    nick, sally, ada = await hub.login("nick"), await hub.login("sally"), await hub.login("ada")
    try:
        seen = {
            name: {a["name"] for a in await client.get("/api/supervisor/agents")}
            for name, client in (("nick", nick), ("sally", sally), ("ada", ada))
        }
    finally:
        for client in (nick, sally, ada):
            await client.close()
    assert seen["nick"] == {"Nora", "Nick", "Ada"}
    assert {"Nora", "Sven", "Nick", "Sally", "Ada"} <= seen["sally"]
    assert seen["ada"] == seen["sally"]


async def test_a_team_supervisor_cannot_steer_or_read_another_teams_work(hub: Hub) -> None:
    nora_id = await hub.add_agent("nora", status="available", team="north")
    sven_id = await hub.add_agent("sven", status="offline", team="south")
    await hub.add_agent("nick", role="supervisor", team="north")
    await hub.add_agent("sue", role="supervisor", team="south")
    nora, nick, sue = await hub.login("nora"), await hub.login("nick"), await hub.login("sue")
    try:
        conversation = await chat_taken_by(hub, nora, "Greta Customer")
        customer = (await nick.get(f"/api/conversations/{conversation}"))["customer"]["id"]

        # The north supervisor reads and steers north's work.
        assert await nick.get(f"/api/customers/{customer}/timeline")
        status, _ = await nick.post(f"/api/supervisor/agents/{nora_id}/status", {"status": "away"})
        assert status == 200

        # The south supervisor gets nothing about it, as if it did not exist.
        async with sue.http.get(f"api/conversations/{conversation}") as response:
            assert response.status == 404
        async with sue.http.get(f"api/customers/{customer}/timeline") as response:
            assert response.status == 404
        status, _ = await sue.post(
            f"/api/supervisor/agents/{nora_id}/status", {"status": "offline"}
        )
        assert status == 404
        status, _ = await sue.post(
            f"/api/supervisor/conversations/{conversation}/reassign", {"agent_id": sven_id}
        )
        assert status == 404
        decisions = await sue.get(f"/api/supervisor/routing?conversation_id={conversation}")
        assert decisions == []
        assert await nick.get(f"/api/supervisor/routing?conversation_id={conversation}")

        # Nor can north hand the conversation to south's agent.
        status, _ = await nick.post(
            f"/api/supervisor/conversations/{conversation}/reassign", {"agent_id": sven_id}
        )
        assert status == 404
    finally:
        for client in (nora, nick, sue):
            await client.close()


async def test_the_voc_report_keeps_to_the_team_and_to_active_supervisors(hub: Hub) -> None:
    red_agent = await hub.add_agent("rita", team="red")
    blue_agent = await hub.add_agent("bill", team="blue")
    await hub.add_agent("ruth", role="supervisor", team="red")
    await hub.add_agent("vic", role="supervisor")
    red_texts = [f"My parcel number {n} never arrived at the depot" for n in range(6)]
    blue_texts = [f"Blue secret: my card ending {n}0 was charged twice" for n in range(6)]
    await store(hub.app[INTAKE], red_texts + blue_texts)
    async with hub.sessions() as session, session.begin():
        ids = list(await session.scalars(select(Conversation.id).order_by(Conversation.id)))
        for conversation_id in ids:
            text = await session.scalar(
                select(Message.text).where(Message.conversation_id == conversation_id).limit(1)
            )
            holder = blue_agent if "Blue secret" in (text or "") else red_agent
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(agent_id=holder, status="assigned")
            )
    ruth, vic = await hub.login("ruth"), await hub.login("vic")
    try:
        red_report = await ruth.get("/api/reports/voc?topics=2")
        whole_report = await vic.get("/api/reports/voc?topics=2")
        assert red_report["contacts"] == 6
        assert "Blue secret" not in json.dumps(red_report)
        assert whole_report["contacts"] == 12

        # Deactivated, the supervisor's cookie no longer downloads quotes.
        async with hub.sessions() as session, session.begin():
            await session.execute(update(Agent).where(Agent.username == "vic").values(active=False))
        async with vic.http.get("api/reports/voc?format=csv&table=quotes") as response:
            assert response.status == 401
    finally:
        await ruth.close()
        await vic.close()


async def test_possible_matches_do_not_show_another_teams_customer(hub: Hub) -> None:
    await hub.add_agent("nora", status="available", team="north")
    await hub.add_agent("nick", role="supervisor", team="north")
    await hub.add_agent("sue", role="supervisor", team="south")
    nora, nick, sue = await hub.login("nora"), await hub.login("nick"), await hub.login("sue")
    try:
        conversation = await chat_taken_by(hub, nora, "Greta Customer")
        north_customer = (await nick.get(f"/api/conversations/{conversation}"))["customer"]["id"]
        stranger = await ChatCustomer.connect(hub, name="Gretta Customer")
        await stranger.say("Hello again, it is me")  # waiting: no team holds it yet
        await stranger.close()
        async with hub.sessions() as session, session.begin():
            stranger_id = await session.scalar(select(func.max(Customer.id)))
            assert stranger_id is not None and stranger_id != north_customer
            session.add(
                CustomerLink(customer_id=stranger_id, other_id=north_customer, probability=0.8)
            )

        # South's supervisor learns nothing of north's customer, from either side.
        async with sue.http.get(f"api/customers/{north_customer}/possible") as response:
            assert response.status == 404
        assert await sue.get(f"/api/customers/{stranger_id}/possible") == []
        record = await sue.get(f"/api/customers/{stranger_id}")
        assert record["possible_duplicates"] == []
        # North's supervisor sees the pair (the stranger waits for nobody's team).
        found = await nick.get(f"/api/customers/{north_customer}/possible")
        assert [match["customer"]["id"] for match in found] == [stranger_id]
        record = await nick.get(f"/api/customers/{north_customer}")
        assert [p["customer_id"] for p in record["possible_duplicates"]] == [stranger_id]
    finally:
        for client in (nora, nick, sue):
            await client.close()
