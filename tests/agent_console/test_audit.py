"""The audit log: every sign-in, refusal and admin or supervisor action is written down
with who, what, when and from where; admins read it a page at a time or as CSV, nobody
else reads it, and no route changes it."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import aiohttp
from sqlalchemy import select

from hub.models import AuditEntry, CustomerLink
from tests.agent_console.crm_records import add_customer
from tests.agent_console.test_schedules_api import OFFICE
from tests.agent_console.test_wallboard_api import chat_taken_by
from tests.support import AgentClient, Hub


async def lines(admin: AgentClient, **query: str) -> list[dict[str, Any]]:
    page = await admin.get("/api/admin/audit?" + "&".join(f"{k}={v}" for k, v in query.items()))
    return list(page["entries"])


def actions(entries: list[dict[str, Any]]) -> list[str]:
    return [e["action"] for e in reversed(entries)]  # oldest first


async def test_sign_ins_and_wrong_passwords_are_recorded_with_the_address(hub: Hub) -> None:
    alice_id = await hub.add_agent("alice")
    await hub.add_agent("ada", role="admin")
    async with aiohttp.ClientSession(base_url=hub.url + "/") as stranger:
        for username in ("alice", "nobody"):
            form = {"username": username, "password": "not the password"}
            async with stranger.post("console/login", data=form) as response:
                assert response.status == 401
    alice = await hub.login("alice")
    ada = await hub.login("ada")
    try:
        entries = await lines(ada, action="login")
    finally:
        await alice.close()
    await ada.close()
    seen = [(e["action"], e["actor"], e["actor_id"], e["change"]) for e in reversed(entries)]
    assert seen == [
        ("login.failed", "alice", alice_id, {"why": "wrong password"}),
        ("login.failed", "nobody", None, {"why": "unknown username"}),
        ("login.succeeded", "alice", alice_id, {}),
        ("login.succeeded", "ada", entries[0]["actor_id"], {}),
    ]
    assert {e["address"] for e in entries} == {"127.0.0.1"}


async def test_admin_changes_are_recorded_with_what_changed(hub: Hub) -> None:
    ada_id = await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        status, carol = await ada.post(
            "/api/admin/agents",
            {"username": "carol", "password": "a long enough secret", "skills": {"billing": 5}},
        )
        assert status == 201
        agent = f"api/admin/agents/{carol['id']}"
        for change in (
            {"role": "supervisor", "skills": {"billing": 7}, "team": "Payments"},
            {"password": "another long secret"},
            {"active": False},
        ):
            async with ada.http.patch(agent, json=change) as response:
                assert response.status == 200, await response.text()
        status, queue = await ada.post("/api/admin/queues", {"channel": "chat", "address": "w"})
        assert status == 201
        async with ada.http.patch(f"api/admin/queues/{queue['id']}", json={"name": "Web"}):
            pass
        limit = {"name": "billing", "channel": None, "max_waiting": 10}
        assert (await ada.post("/api/admin/queue-limits", limit))[0] == 200
        status, canned = await ada.post(
            "/api/canned-responses", {"shortcut": "hi", "title": "Hi", "body": "Hello!"}
        )
        assert status == 201
        status, _ = await ada.post("/api/admin/schedules", OFFICE)
        assert status == 201
        entries = await lines(ada)
    finally:
        await ada.close()
    assert actions(entries) == [
        "login.succeeded",
        "agent.created",
        "agent.role_changed",
        "agent.skills_changed",
        "agent.updated",
        "agent.password_reset",
        "agent.deactivated",
        "queue.created",
        "queue.updated",
        "queue_limit.set",
        "canned.created",
        "schedule.created",
    ]
    by_action = {e["action"]: e for e in entries}
    assert all(e["actor_id"] == ada_id and e["address"] == "127.0.0.1" for e in entries)
    assert by_action["agent.role_changed"]["change"] == {"before": "agent", "after": "supervisor"}
    assert by_action["agent.skills_changed"]["change"] == {
        "before": {"billing": 5},
        "after": {"billing": 7},
    }
    assert by_action["agent.updated"]["change"] == {"team": {"before": "", "after": "Payments"}}
    assert by_action["agent.created"]["target"] == f"agent {carol['id']} (carol)"
    assert "password" not in json.dumps(by_action["agent.created"]["change"])
    assert by_action["queue.updated"]["change"] == {"name": {"before": "w", "after": "Web"}}
    assert by_action["queue_limit.set"]["change"]["max_waiting"] == 10


async def test_supervisor_actions_merges_and_exports_are_recorded(hub: Hub) -> None:
    alice_id = await hub.add_agent("alice", status="available")
    await hub.add_agent("sam", role="supervisor")
    await hub.add_agent("ada", role="admin")
    alice, sam, ada = await hub.login("alice"), await hub.login("sam"), await hub.login("ada")
    try:
        conversation_id = await chat_taken_by(hub, alice, "Jane Doe")
        path = f"/api/supervisor/conversations/{conversation_id}/reassign"
        assert (await sam.post(path, {"queue": True}))[0] == 200
        status_path = f"/api/supervisor/agents/{alice_id}/status"
        assert (await sam.post(status_path, {"status": "away"}))[0] == 200
        keep = await add_customer(hub, "Greta Garbo", email="greta@example.com")
        gone = await add_customer(hub, "Greta Garbo", email="g.garbo@example.org")
        async with hub.sessions() as session, session.begin():
            link = CustomerLink(customer_id=gone, other_id=keep, probability=0.9)
            session.add(link)
        status, merged = await sam.post(f"/api/customer-links/{link.id}/merge")
        assert status == 200, merged
        assert (await sam.post(f"/api/merges/{merged['merge_id']}/undo"))[0] == 200
        async with ada.http.get("api/admin/audit.csv", params={"actor": "sam"}) as response:
            assert response.status == 200
            assert response.headers["Content-Disposition"].startswith("attachment")
            rows = list(csv.DictReader(io.StringIO(await response.text())))
        entries = await lines(ada, actor="sam")
    finally:
        for client in (alice, sam, ada):
            await client.close()
    assert actions(entries) == [
        "login.succeeded",
        "conversation.reassigned",
        "agent.status_set",
        "customer.merged",
        "customer.merge_undone",
    ]
    reassigned = entries[-2]
    assert reassigned["target"] == f"conversation {conversation_id}"
    assert reassigned["change"]["from_agent_id"] == alice_id
    assert entries[1]["change"] == {"survivor_id": keep, "merged_id": gone}
    assert [r["action"] for r in rows] == actions(entries)
    assert json.loads(rows[3]["change"]) == {"survivor_id": keep, "merged_id": gone}
    async with hub.sessions() as session:
        exported = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "audit.exported")
        )
    assert exported is not None and exported.actor == "ada"
    assert exported.change == {"actor": "sam"}


async def test_only_admins_read_the_log_and_nobody_changes_it(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("sam", role="supervisor")
    await hub.add_agent("alice")
    ada, sam, alice = await hub.login("ada"), await hub.login("sam"), await hub.login("alice")
    try:
        for client in (sam, alice):
            for path in ("api/admin/audit", "api/admin/audit.csv"):
                async with client.http.get(path) as response:
                    assert response.status == 403
                    assert (await response.json())["error"] == "The audit log is for admins."
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(hub.url + "/api/admin/audit") as response:
                assert response.status == 401
        first = (await lines(ada))[0]
        for method in ("PATCH", "PUT", "DELETE", "POST"):
            async with ada.http.request(method, "api/admin/audit", json={}) as response:
                assert response.status == 405
            path = f"api/admin/audit/{first['id']}"
            async with ada.http.request(method, path, json={}) as response:
                assert response.status in (404, 405)
        assert (await lines(ada))[-1] == (await lines(ada, limit="500"))[-1]
    finally:
        for client in (ada, sam, alice):
            await client.close()


async def test_the_log_pages_backwards_and_filters_by_day(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    for _ in range(4):  # each sign-in writes a line
        await (await hub.login("ada")).close()
    ada = await hub.login("ada")
    try:
        first = await ada.get("/api/admin/audit?limit=3")
        second = await ada.get(f"/api/admin/audit?limit=3&cursor={first['next_cursor']}")
        assert len(first["entries"]) == 3 and len(second["entries"]) == 2
        assert second["next_cursor"] is None
        ids = [e["id"] for e in first["entries"] + second["entries"]]
        assert ids == sorted(ids, reverse=True)
        today = first["entries"][0]["at"][:10]
        assert len(await lines(ada, since=today, until=today)) == 5
        assert await lines(ada, until="2001-01-01") == []
        async with ada.http.get("api/admin/audit", params={"since": "yesterday"}) as response:
            assert response.status == 400
            assert "since" in (await response.json())["error"]
    finally:
        await ada.close()
