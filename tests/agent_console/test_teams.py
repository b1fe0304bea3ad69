"""Teams: a supervisor with a team sees and steers that team only; admins see everyone."""

from __future__ import annotations

from tests.agent_console.test_wallboard_api import chat_taken_by
from tests.support import Hub


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
