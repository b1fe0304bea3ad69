"""The settings API: admins write, supervisors read, and routing uses every change at once."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from agent_console.keys import ROUTER
from hub.auth import verify_password
from hub.contacts import InboundContact
from hub.keys import INTAKE
from hub.models import Agent, Conversation, Inbox
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import AgentClient, ChatCustomer, Hub, eventually

NEW_AGENT = {
    "username": "carol",
    "display_name": "Carol Diaz",
    "password": "a long enough secret",
    "role": "agent",
    "team": "Payments",
    "skills": {"billing": 8, "support": 3},
    "languages": ["en", "es"],
    "capacities": {"chat": 2, "voice": 1},
}


async def patch(client: AgentClient, path: str, body: Any) -> tuple[int, Any]:
    async with client.http.patch(path.lstrip("/"), json=body) as response:
        return response.status, await response.json()


async def test_agents_and_supervisors_cannot_change_settings(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    sam_id = await hub.add_agent("sam", role="supervisor")
    await hub.add_agent("alice")
    sam, alice = await hub.login("sam"), await hub.login("alice")

    async with alice.http.get("api/admin/agents") as response:
        assert response.status == 403
    assert {a["username"] for a in await sam.get("/api/admin/agents")} == {"ada", "sam", "alice"}
    await sam.get("/api/admin/queues")
    for client in (sam, alice):
        status, body = await client.post("/api/admin/agents", NEW_AGENT)
        assert status == 403 and "admin" in body["error"]
        status, body = await patch(client, f"/api/admin/agents/{sam_id}", {"role": "admin"})
        assert status == 403
        status, _ = await client.post("/api/admin/queues", {"channel": "chat", "address": "x"})
        assert status == 403
        async with client.http.get("console/admin", allow_redirects=False) as response:
            assert response.status == 403
    async with sam.http.get("api/me") as response:
        assert (await response.json())["role"] == "supervisor"
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(hub.url + "/console/admin", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/console/login"
        async with anonymous.get(hub.url + "/api/admin/agents") as response:
            assert response.status == 401
    for client in (sam, alice):
        await client.close()


async def test_an_admin_adds_an_agent_who_can_sign_in(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    async with ada.http.get("console/admin") as response:
        assert response.status == 200
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert 'id="agent-form"' in await response.text()

    status, carol = await ada.post("/api/admin/agents", NEW_AGENT)
    assert status == 201, carol
    assert carol["skills"] == {"billing": 8, "support": 3}
    assert carol["capacities"] == {"chat": 2, "voice": 1} and carol["team"] == "Payments"
    assert "password" not in carol and "password_hash" not in carol
    async with hub.sessions() as session:
        stored = await session.scalar(select(Agent).where(Agent.username == "carol"))
    assert stored is not None and stored.password_hash.startswith("$argon2")
    assert verify_password(stored.password_hash, NEW_AGENT["password"])
    signed_in = await hub.login("carol", str(NEW_AGENT["password"]))
    assert (await signed_in.get("/api/me"))["display_name"] == "Carol Diaz"
    await signed_in.close()

    status, body = await ada.post("/api/admin/agents", NEW_AGENT)
    assert status == 409 and "carol" in body["error"]
    for bad, word in [
        ({"skills": {"billing": 11}}, "billing"),
        ({"skills": {"billing": 0}}, "billing"),
        ({"password": "short"}, "password"),
        ({"capacities": {"fax": 1}}, "capacities"),
        ({"capacities": {"chat": -1}}, "chat"),
        ({"role": "owner"}, "role"),
        ({"languages": ["english!"]}, "languages"),
        ({"username": "<b>x</b>"}, "username"),
    ]:
        status, body = await ada.post("/api/admin/agents", {**NEW_AGENT, "username": "dan", **bad})
        assert status == 400 and word in body["error"], (bad, body)
    async with ada.http.post("api/admin/agents", data="username=eve&password=x") as response:
        assert response.status == 415  # a form from another site cannot write here

    # A new password is stored hashed; the old one stops working.
    status, _ = await patch(
        ada, f"/api/admin/agents/{carol['id']}", {"password": "another secret!"}
    )
    assert status == 200
    async with hub.sessions() as session:
        stored = await session.get(Agent, carol["id"])
    assert stored is not None and verify_password(stored.password_hash, "another secret!")
    assert not verify_password(stored.password_hash, str(NEW_AGENT["password"]))
    await ada.close()


async def test_skill_and_queue_changes_route_waiting_contacts_at_once(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    alice_id = await hub.add_agent("alice", skills={"support": 5}, status="available")
    ada, alice = await hub.login("ada"), await hub.login("alice")
    async with hub.sessions() as session, session.begin():
        session.add(Inbox(channel="chat", address="web", name="Website chat"))
    (web,) = await ada.get("/api/admin/queues")
    status, queue = await patch(
        ada, f"/api/admin/queues/{web['id']}", {"skill": "billing", "skill_level": 6}
    )
    assert status == 200 and queue["skill"] == "billing" and queue["skill_level"] == 6

    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("A question about my invoice")

    async def waiting() -> Conversation | None:
        async with hub.sessions() as session:
            return await session.scalar(
                select(Conversation).where(Conversation.required_skill == "billing")
            )

    conversation = await eventually(waiting)
    assert conversation.status == "queued"
    assert await alice.get("/api/offers") == []  # alice has no billing skill yet

    status, body = await patch(
        ada, f"/api/admin/agents/{alice_id}", {"skills": {"support": 5, "billing": 7}}
    )
    assert status == 200 and body["skills"] == {"billing": 7, "support": 5}
    offers = await eventually(lambda: alice.get("/api/offers"))
    assert offers[0]["conversation_id"] == conversation.id
    await customer.close()
    for client in (ada, alice):
        await client.close()


async def test_more_capacity_takes_the_next_chat_at_once(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    alice_id = await hub.add_agent("alice", status="available", capacities={"chat": 1})
    ada, alice = await hub.login("ada"), await hub.login("alice")
    first, second = (
        await ChatCustomer.connect(hub, name="One"),
        await ChatCustomer.connect(hub, name="Two"),
    )
    await first.say("first")
    (offer,) = await eventually(lambda: alice.get("/api/offers"))
    assert (await alice.post(f"/api/offers/{offer['offer_id']}/accept"))[0] == 200
    await second.say("second")

    async def queued() -> bool:
        async with hub.sessions() as session:
            statuses = list(await session.scalars(select(Conversation.status)))
        return sorted(statuses) == ["assigned", "queued"]

    await eventually(queued)
    assert await alice.get("/api/offers") == []  # full: one chat is her capacity

    status, body = await patch(ada, f"/api/admin/agents/{alice_id}", {"capacities": {"chat": 2}})
    assert status == 200 and body["capacities"] == {"chat": 2}
    offers = await eventually(lambda: alice.get("/api/offers"))
    assert len(offers) == 1 and offers[0]["conversation_id"] != offer["conversation_id"]
    for closing in (first, second):
        await closing.close()
    for client in (ada, alice):
        await client.close()


async def test_a_deactivated_agent_is_signed_out_and_their_chat_requeued(hub: Hub) -> None:
    ada_id = await hub.add_agent("ada", role="admin")
    alice_id = await hub.add_agent("alice", status="available")
    ada, alice = await hub.login("ada"), await hub.login("alice")
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("hello")
    (offer,) = await eventually(lambda: alice.get("/api/offers"))
    assert (await alice.post(f"/api/offers/{offer['offer_id']}/accept"))[0] == 200

    status, body = await patch(ada, f"/api/admin/agents/{ada_id}", {"active": False})
    assert status == 400 and "yourself" in body["error"]
    status, body = await patch(ada, f"/api/admin/agents/{ada_id}", {"role": "agent"})
    assert status == 400
    status, body = await patch(ada, f"/api/admin/agents/{alice_id}", {"active": False})
    assert status == 200 and body["active"] is False and body["status"] == "offline"

    async with hub.sessions() as session:
        conversation = await session.get(Conversation, offer["conversation_id"])
    assert conversation is not None and conversation.status == "queued"
    assert conversation.agent_id is None
    async with alice.http.get("api/me") as response:
        assert response.status == 401  # the session she already had ends at once
    async with aiohttp.ClientSession(base_url=hub.url + "/") as fresh:
        async with fresh.post(
            "console/login",
            data={"username": "alice", "password": "correct horse battery"},
            allow_redirects=False,
        ) as response:
            assert response.status == 401

    status, body = await patch(ada, f"/api/admin/agents/{alice_id}", {"active": True})
    assert status == 200 and body["active"] is True
    back = await hub.login("alice")
    assert (await back.get("/api/me"))["username"] == "alice"
    await customer.close()
    for client in (ada, alice, back):
        await client.close()


async def test_queue_limits_set_by_an_admin_apply_to_the_next_contact(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("sam", role="supervisor")
    ada, sam = await hub.login("ada"), await hub.login("sam")
    full = {"name": "general", "channel": "chat", "max_waiting": 0}
    status, _ = await sam.post("/api/admin/queue-limits", full)
    assert status == 403
    for bad, word in [
        ({"name": "Not A Queue"}, "name"),
        ({"channel": "fax"}, "channel"),
        ({"max_waiting": -1}, "max_waiting"),
        ({"max_wait_seconds": "soon"}, "max_wait_seconds"),
        ({"overflow_queue": "general"}, "itself"),
    ]:
        status, body = await ada.post("/api/admin/queue-limits", {**full, **bad})
        assert status == 400 and word in body["error"], (bad, body)

    status, limit = await ada.post("/api/admin/queue-limits", full)
    assert status == 200
    assert limit == {**full, "max_wait_seconds": None, "overflow_queue": None}
    assert await sam.get("/api/admin/queue-limits") == [limit]

    # Nobody may wait in the general chat queue now: the next chat is turned away.
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("Anyone there?")

    async def rejected() -> bool:
        async with hub.sessions() as session:
            return await session.scalar(select(Conversation.status)) == "rejected"

    await eventually(rejected)

    # Lifted (nulls), the queue takes contacts again.
    status, _ = await ada.post("/api/admin/queue-limits", {**full, "max_waiting": None})
    assert status == 200
    other = await ChatCustomer.connect(hub, name="Omar Haddad")
    await other.say("Hello?")

    async def queued() -> bool:
        async with hub.sessions() as session:
            statuses = sorted(await session.scalars(select(Conversation.status)))
        return statuses == ["queued", "rejected"]

    await eventually(queued)
    await hub.app[ROUTER].tick()  # a whole routing pass with the limit lifted
    assert await queued()
    for chat in (customer, other):
        await chat.close()
    for client in (ada, sam):
        await client.close()


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_queue_change_reaches_the_next_contact_on_every_hub_process(
    settings_for: Settings,
) -> None:
    """Intake keeps what it read of each inbox; a change on the admin page, on any hub
    process, makes every process read it afresh."""
    async with start_hub(settings_for, clean=True) as one, start_hub(settings_for) as two:
        await one.add_agent("ada", role="admin")
        ada = await one.login("ada")

        async def contact(n: int) -> Conversation:
            accepted = await two.app[INTAKE].accept(
                InboundContact(
                    channel="chat", inbox="web", external_id=f"v{n}:1", sender=f"v{n}", text="hi"
                )
            )
            async with two.sessions() as session:
                conversation = await session.get(Conversation, accepted.conversation_id)
                assert conversation is not None
                return conversation

        assert (await contact(0)).required_skill is None  # hub two has read the inbox now
        (web,) = await ada.get("/api/admin/queues")
        status, _ = await patch(
            ada, f"/api/admin/queues/{web['id']}", {"skill": "billing", "skill_level": 6}
        )
        assert status == 200

        tries = iter(range(1, 1000))

        async def next_contact_asks_for_billing() -> bool:
            conversation = await contact(next(tries))
            return (conversation.required_skill, conversation.min_level) == ("billing", 6)

        assert await eventually(next_contact_asks_for_billing)
        await ada.close()
