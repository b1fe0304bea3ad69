"""Canned responses over HTTP: admins write them, agents read them filled for their conversation."""

from __future__ import annotations

import aiohttp

from agent_console.canned import fill
from tests.agent_console.test_console_api import assigned_chat
from tests.support import ChatCustomer, Hub, eventually

GREETING = {
    "shortcut": "hello",
    "title": "Greeting",
    "body": (
        "Hi {customer.first_name}, this is {agent.first_name} ({agent.name})."
        " Ref #{conversation.id}."
    ),
}


def test_unknown_and_empty_placeholders_stay_visible() -> None:
    values = {"customer.name": "", "customer.first_name": "", "agent.name": "Alice Martin"}
    text = fill("Dear {customer.name}, {agent.name} here. {order.number} {agent.name}", values)
    assert text == "Dear {customer.name}, Alice Martin here. {order.number} Alice Martin"
    # Values are inserted once, as text: a value that looks like a placeholder is not re-read.
    assert fill("{customer.name}", {"customer.name": "{agent.name}"}) == "{agent.name}"


async def test_admins_write_canned_responses_and_others_get_403(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("sam", role="supervisor")
    await hub.add_agent("alice")
    ada, sam, alice = await hub.login("ada"), await hub.login("sam"), await hub.login("alice")

    status, created = await ada.post("/api/canned-responses", GREETING)
    assert status == 201, created
    assert created["shortcut"] == "hello" and created["body"] == GREETING["body"]

    for outsider in (sam, alice):
        status, body = await outsider.post("/api/canned-responses", {**GREETING, "shortcut": "x"})
        assert status == 403 and "admin" in body["error"]
        async with outsider.http.patch(
            f"api/canned-responses/{created['id']}", json={"title": "Mine now"}
        ) as response:
            assert response.status == 403
        async with outsider.http.delete(
            f"api/canned-responses/{created['id']}", json={}
        ) as response:
            assert response.status == 403
    assert [c["title"] for c in await alice.get("/api/canned-responses")] == ["Greeting"]

    status, body = await ada.post("/api/canned-responses", {**GREETING, "title": "Again"})
    assert status == 409 and "/hello" in body["error"]
    status, body = await ada.post("/api/canned-responses", {**GREETING, "shortcut": "Two words"})
    assert status == 400 and "shortcut" in body["error"]
    status, body = await ada.post("/api/canned-responses", {"shortcut": "x", "title": "T"})
    assert status == 400 and "body" in body["error"]

    async with ada.http.patch(
        f"api/canned-responses/{created['id']}", json={"title": "Hello", "shortcut": "/hi"}
    ) as response:
        assert response.status == 200
        assert (await response.json())["shortcut"] == "hi"
    # Without JSON a write is refused, so a cross-site form cannot delete anything.
    async with ada.http.delete(f"api/canned-responses/{created['id']}") as response:
        assert response.status == 415
    async with ada.http.delete(f"api/canned-responses/{created['id']}", json={}) as response:
        assert response.status == 200
    assert await alice.get("/api/canned-responses") == []
    for client in (ada, sam, alice):
        await client.close()


async def test_agents_get_canned_text_filled_for_their_conversation(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("alice", status="available")
    await hub.add_agent("bob")
    ada, alice, bob = await hub.login("ada"), await hub.login("alice"), await hub.login("bob")
    await ada.post("/api/canned-responses", GREETING)
    await ada.post(
        "/api/canned-responses",
        {"shortcut": "order", "title": "Order", "body": "Your order {order.number} is on its way."},
    )
    ids = await assigned_chat(hub, alice)  # a chat from "Jane Doe", taken by Alice

    filled = await alice.get(f"/api/canned-responses?conversation_id={ids['conversation']}")
    by_shortcut = {c["shortcut"]: c for c in filled}
    assert by_shortcut["hello"]["text"] == (
        f"Hi Jane, this is Alice (Alice). Ref #{ids['conversation']}."
    )
    assert by_shortcut["order"]["text"] == "Your order {order.number} is on its way."

    # Another agent cannot use the list to read someone else's conversation.
    async with bob.http.get(
        f"api/canned-responses?conversation_id={ids['conversation']}"
    ) as response:
        assert response.status == 404
    for client in (ada, alice, bob):
        await client.close()


async def test_a_nameless_customer_keeps_the_name_placeholder(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("alice", status="available")
    ada, alice = await hub.login("ada"), await hub.login("alice")
    await ada.post("/api/canned-responses", GREETING)
    customer = await ChatCustomer.connect(hub)
    await customer.say("hello?")
    offers = await eventually(lambda: alice.get("/api/offers"))
    conversation_id = offers[0]["conversation_id"]
    # An offered conversation can be previewed with canned text already.
    (greeting,) = await alice.get(f"/api/canned-responses?conversation_id={conversation_id}")
    assert greeting["text"].startswith("Hi {customer.first_name}, this is Alice")
    await customer.close()
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(hub.url + "/api/canned-responses") as response:
            assert response.status == 401
    for client in (ada, alice):
        await client.close()
