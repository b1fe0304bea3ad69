"""The web chat channel as a visitor's browser meets it: the widget script and /chat/ws."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import websockets
from sqlalchemy import select

from channels.webchat import VisitorTokens
from hub.keys import SETTINGS
from hub.models import Conversation, Inbox, Message
from tests.support import AgentClient, ChatCustomer, Hub, eventually


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    """An available support agent, logged in to the console API."""
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


async def accept_next_offer(agent: AgentClient) -> int:
    offers = await eventually(lambda: agent.get("/api/offers"))
    status, body = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200, body
    return int(body["conversation_id"])


async def stored_messages(hub: Hub) -> list[Message]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


async def open_socket(hub: Hub) -> Any:
    """A bare chat socket, before any hello."""
    return await websockets.connect(hub.ws_url + "/chat/ws")


async def next_frame(ws: Any, timeout: float = 10.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


async def close_code(ws: Any) -> int:
    """Wait (bounded) for the hub to close the socket; the close code it sent."""
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    return int(ws.close_code)


async def test_the_widget_script_and_demo_page_are_served(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(hub.url + "/chat/widget.js") as response:
            assert response.status == 200
            assert response.content_type in ("text/javascript", "application/javascript")
            assert "/chat/ws" in await response.text()
        async with http.get(hub.url + "/chat/demo") as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            assert '<script src="/chat/widget.js"' in await response.text()


async def test_a_returning_visitor_resumes_the_same_conversation(hub: Hub) -> None:
    first_visit = await ChatCustomer.connect(hub, name="Jane Doe")
    assert first_visit.transcript == []
    first = await first_visit.say("My card was declined", client_id="m-1")
    await first_visit.close()

    again = await ChatCustomer.connect(hub, token=first_visit.token)
    assert again.token == first_visit.token
    assert [(m["from"], m["text"], m["id"]) for m in again.transcript] == [
        ("customer", "My card was declined", "m-1")
    ]
    second = await again.say("It happened twice today")
    await again.close()

    async with hub.sessions() as session:
        conversations = list(await session.scalars(select(Conversation)))
        assert len(conversations) == 1
        threaded = await session.scalars(
            select(Message.conversation_id).where(
                Message.id.in_([first["message_id"], second["message_id"]])
            )
        )
        assert set(threaded) == {conversations[0].id}


async def test_a_frame_over_the_size_limit_closes_the_socket_and_stores_nothing(hub: Hub) -> None:
    customer = await ChatCustomer.connect(hub)
    padding = "x" * hub.app[SETTINGS].chat_max_frame
    frame = {"type": "message", "id": "big-1", "text": "short", "padding": padding}
    await customer.ws.send(json.dumps(frame))

    assert await close_code(customer.ws) == 1009
    assert await stored_messages(hub) == []


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "invalid_json"),
        ("[" * 5000, "invalid_json"),  # nested past Python's recursion limit
        ("[1, 2]", "invalid_frame"),
        ('{"type": 7}', "invalid_frame"),
        ('{"type": "wave"}', "unknown_type"),
        ('{"type": "message", "text": "no id"}', "missing_id"),
        ('{"type": "message", "id": "e-1", "text": "   "}', "empty_message"),
    ],
)
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_usable(
    hub: Hub, frame: str, code: str
) -> None:
    customer = await ChatCustomer.connect(hub)
    await customer.ws.send(frame)
    error = await customer.expect("error")
    assert error["type"] == "error" and error["code"] == code and error["detail"]

    ack = await customer.say("Still there?")
    assert ack["type"] == "ack"
    assert [m.text for m in await stored_messages(hub)] == ["Still there?"]
    await customer.close()


@pytest.mark.parametrize(
    "token",
    [
        "v_" + "0" * 32 + ".forgedsignature",
        VisitorTokens("another hub's secret").issue()[1],
        "not-a-token",
        "v_abc.sïgnature",  # non-ASCII: hmac.compare_digest refuses it outright
        42,
    ],
)
async def test_an_unknown_or_forged_session_token_is_refused(hub: Hub, token: Any) -> None:
    ws = await open_socket(hub)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    error = await next_frame(ws)
    assert error["type"] == "error" and error["code"] == "unknown_session"
    assert await close_code(ws) == 4001


async def test_a_message_before_hello_is_refused_until_the_visitor_says_hello(hub: Hub) -> None:
    ws = await open_socket(hub)
    await ws.send(json.dumps({"type": "message", "id": "early", "text": "Hi?"}))
    error = await next_frame(ws)
    assert error["code"] == "hello_first"

    await ws.send(json.dumps({"type": "hello"}))
    welcome = await next_frame(ws)
    assert welcome["type"] == "welcome" and welcome["token"] and welcome["messages"] == []
    assert await stored_messages(hub) == []
    await ws.close()


async def test_a_replayed_message_id_is_acknowledged_as_duplicate_and_stored_once(
    hub: Hub,
) -> None:
    customer = await ChatCustomer.connect(hub)
    first = await customer.say("Where is my refund?", client_id="r-1")
    replay = await customer.say("Where is my refund?", client_id="r-1")
    assert not first["duplicate"] and replay["duplicate"]
    assert replay["message_id"] == first["message_id"]
    await customer.close()

    # The widget resends unacknowledged messages after a reconnect: still one row.
    again = await ChatCustomer.connect(hub, token=customer.token)
    resent = await again.say("Where is my refund?", client_id="r-1")
    assert resent["duplicate"] and resent["message_id"] == first["message_id"]
    assert len(await stored_messages(hub)) == 1
    await again.close()


async def test_a_message_over_the_text_limit_is_refused_and_not_stored(hub: Hub) -> None:
    limit = hub.app[SETTINGS].chat_max_text
    customer = await ChatCustomer.connect(hub)
    error = await customer.say("x" * (limit + 1), client_id="long-1")
    assert error["code"] == "too_long" and error["id"] == "long-1"
    assert await stored_messages(hub) == []

    ack = await customer.say("y" * limit)
    assert ack["type"] == "ack"
    assert [len(m.text) for m in await stored_messages(hub)] == [limit]
    await customer.close()


@pytest.mark.parametrize(
    "text", ["\ud800", "\udfff", "left \udc00 alone", "\ude00\ud83d", "nul \x00 byte"]
)
async def test_text_that_is_not_valid_unicode_is_refused_not_stored(hub: Hub, text: str) -> None:
    # json.dumps writes these as escapes ("\\ud800"): valid JSON, yet not text that
    # PostgreSQL (or any UTF-8 store) can keep.
    customer = await ChatCustomer.connect(hub)
    await customer.ws.send(json.dumps({"type": "message", "id": "u-1", "text": text}))
    error = await customer.expect("ack")
    assert error["type"] == "error" and error["code"] == "invalid_text"
    assert error["id"] == "u-1"

    # A proper surrogate pair is just an emoji, and the socket is still usable.
    await customer.ws.send(r'{"type": "message", "id": "u-2", "text": "thanks \ud83d\ude00"}')
    ack = await customer.expect("ack")
    assert ack["type"] == "ack" and ack["id"] == "u-2"
    assert [m.text for m in await stored_messages(hub)] == ["thanks \N{GRINNING FACE}"]
    await customer.close()


async def test_a_name_that_is_not_valid_unicode_is_refused_at_hello(hub: Hub) -> None:
    ws = await open_socket(hub)
    await ws.send(json.dumps({"type": "hello", "name": "J\udc80ne"}))
    assert (await next_frame(ws))["code"] == "invalid_text"
    await ws.send(json.dumps({"type": "hello", "name": "Jane"}))
    assert (await next_frame(ws))["type"] == "welcome"
    await ws.close()


async def test_invalid_utf8_in_a_text_frame_closes_the_socket(hub: Hub) -> None:
    customer = await ChatCustomer.connect(hub)
    await customer.ws.send(b'{"type": "message", "id": "b-1", "text": "\xff\xfe"}', text=True)
    assert await close_code(customer.ws) == 1007
    assert await stored_messages(hub) == []


async def test_agent_typing_reaches_the_visitor(hub: Hub, alice: AgentClient) -> None:
    customer = await ChatCustomer.connect(hub)
    await customer.say("Can I raise my card limit?")
    conversation_id = await accept_next_offer(alice)

    status, _ = await alice.post(f"/api/conversations/{conversation_id}/typing")
    assert status == 200
    assert await customer.expect("typing") == {"type": "typing", "from": "agent"}
    await customer.close()


async def test_visitor_typing_reaches_the_agent_console(hub: Hub, alice: AgentClient) -> None:
    customer = await ChatCustomer.connect(hub)
    await customer.say("One more question")
    conversation_id = await accept_next_offer(alice)

    async with alice.http.ws_connect("console/ws") as console:
        assert (await console.receive_json(timeout=10))["type"] == "hello"
        await customer.ws.send(json.dumps({"type": "typing"}))
        deadline = time.monotonic() + 10
        while True:
            event = await console.receive_json(timeout=max(0.1, deadline - time.monotonic()))
            if event["type"] == "customer.typing":
                break
        assert event["conversation_id"] == conversation_id
    await customer.close()


async def test_a_widget_cannot_invent_inboxes(hub: Hub) -> None:
    async with hub.sessions() as session, session.begin():
        session.add(Inbox(channel="chat", address="mortgages", name="Mortgages", skill="mortgage"))
    customer = await ChatCustomer.connect(hub)
    for inbox in ("mortgages", "made-up-by-a-visitor"):
        await customer.ws.send(
            json.dumps({"type": "message", "id": inbox, "text": "hi", "inbox": inbox})
        )
        assert (await customer.expect("ack"))["type"] == "ack"
    async with hub.sessions() as session:
        addresses = set(await session.scalars(select(Inbox.address).where(Inbox.channel == "chat")))
    assert addresses == {"mortgages", "web"}
    await customer.close()
