"""Away reasons: an agent says why they step away (lunch, training...), supervisors see
it on the wallboard with the time in that state, and nothing else changes routing."""

from __future__ import annotations

import dataclasses

from hub.settings import Settings
from tests.agent_console.test_wallboard_api import next_event, open_socket
from tests.conftest import start_hub
from tests.support import AgentClient, Hub


async def board_row(supervisor: AgentClient, name: str) -> dict[str, object]:
    return {a["name"]: a for a in await supervisor.get("/api/supervisor/agents")}[name]


async def test_an_agent_away_for_lunch_is_shown_so_live_with_time_in_state(hub: Hub) -> None:
    await hub.add_agent("alice")
    await hub.add_agent("sam", role="supervisor")
    alice, sam = await hub.login("alice"), await hub.login("sam")
    me = await alice.get("/api/me")
    assert me["away_reasons"] == ["Break", "Lunch", "Training", "Meeting", "After-call work"]
    watching = await open_socket(sam)

    status, _ = await alice.post("/api/me/status", {"status": "away", "reason": "Lunch"})

    assert status == 200
    event = await next_event(watching, "agent.state", agent_id=me["id"])
    assert (event["status"], event["reason"]) == ("away", "Lunch")
    row = await board_row(sam, "Alice")
    assert (row["status"], row["away_reason"]) == ("away", "Lunch")
    lunch_since = row["status_since"]
    assert (await alice.get("/api/me"))["away_reason"] == "Lunch"

    # Another reason is another state: its clock starts again.
    await alice.post("/api/me/status", {"status": "away", "reason": "Training"})
    await next_event(watching, "agent.state", agent_id=me["id"], reason="Training")
    row = await board_row(sam, "Alice")
    assert row["away_reason"] == "Training" and str(row["status_since"]) > str(lunch_since)

    # Back at work, the reason is gone; away without a reason has none.
    await alice.post("/api/me/status", {"status": "available"})
    assert (await board_row(sam, "Alice"))["away_reason"] is None
    await alice.post("/api/me/status", {"status": "away"})
    assert (await board_row(sam, "Alice"))["away_reason"] is None
    await watching.close()
    for client in (alice, sam):
        await client.close()


async def test_a_reason_the_hub_does_not_list_or_without_being_away_is_refused(
    hub: Hub,
) -> None:
    await hub.add_agent("alice")
    alice = await hub.login("alice")

    status, body = await alice.post("/api/me/status", {"status": "away", "reason": "Nap"})
    assert status == 400 and "Nap" in body["error"] and "Lunch" in body["error"]
    status, body = await alice.post("/api/me/status", {"status": "available", "reason": "Lunch"})
    assert status == 400 and body["error"].startswith("reason")
    status, body = await alice.post("/api/me/status", {"status": "asleep"})
    assert status == 400 and "status" in body["error"]
    assert (await alice.get("/api/me"))["status"] == "offline"
    await alice.close()


async def test_a_supervisor_setting_an_agent_away_clears_the_agents_own_reason(
    hub: Hub,
) -> None:
    await hub.add_agent("alice")
    await hub.add_agent("sam", role="supervisor")
    alice, sam = await hub.login("alice"), await hub.login("sam")
    await alice.post("/api/me/status", {"status": "away", "reason": "Lunch"})
    agent_id = (await alice.get("/api/me"))["id"]

    await sam.post(f"/api/supervisor/agents/{agent_id}/status", {"status": "available"})
    await sam.post(f"/api/supervisor/agents/{agent_id}/status", {"status": "away"})

    assert (await board_row(sam, "Alice"))["away_reason"] is None
    for client in (alice, sam):
        await client.close()


async def test_the_reasons_are_the_hubs_own(settings_for: Settings) -> None:
    settings = dataclasses.replace(settings_for, away_reasons="Coaching, Back office")
    async with start_hub(settings, clean=True) as hub:
        await hub.add_agent("alice")
        alice = await hub.login("alice")
        assert (await alice.get("/api/me"))["away_reasons"] == ["Coaching", "Back office"]
        status, _ = await alice.post("/api/me/status", {"status": "away", "reason": "Coaching"})
        assert status == 200
        status, _ = await alice.post("/api/me/status", {"status": "away", "reason": "Lunch"})
        assert status == 400
        await alice.close()
