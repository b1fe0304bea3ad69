"""The web chat channel as a visitor's browser meets it: the widget script and /chat/ws."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import websockets
from sqlalchemy import select

from channels.webchat import VisitorTokens
from hub.app import create_app
from hub.keys import SETTINGS
from hub.models import Conversation, Customer, CustomerAddress, Inbox, Message
from hub.settings import Settings
from tests.channels.email_side import (
    JANE,
    SUPPORT,
    capturing_relay,
    email_hub,
    logged_in_agent,
    mail,
    send,
)
from tests.conftest import start_hub
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
    assert await customer.expect("typing") == {"type": "typing", "from": "agent", "on": True}
    status, _ = await alice.post(f"/api/conversations/{conversation_id}/typing", {"on": False})
    assert status == 200
    assert await customer.expect("typing") == {"type": "typing", "from": "agent", "on": False}
    await customer.close()


async def test_visitor_typing_reaches_the_agent_console(hub: Hub, alice: AgentClient) -> None:
    customer = await ChatCustomer.connect(hub)
    await customer.say("One more question")
    conversation_id = await accept_next_offer(alice)

    async with alice.http.ws_connect("console/ws") as console:
        assert (await console.receive_json(timeout=10))["type"] == "hello"
        await customer.ws.send(json.dumps({"type": "typing"}))
        event = await next_event(console, "customer.typing")
        assert event["conversation_id"] == conversation_id and event["on"] is True
        # Stopping is never held back by the typing throttle.
        await customer.ws.send(json.dumps({"type": "typing", "on": False}))
        event = await next_event(console, "customer.typing")
        assert event["conversation_id"] == conversation_id and event["on"] is False
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


# --- pre-chat details, read receipts, nobody online -------------------------------------


async def chat(hub: Hub, token: str | None = None) -> tuple[ChatCustomer, dict[str, Any]]:
    """A visitor's socket after hello, and the hub's welcome."""
    ws = await open_socket(hub)
    await ws.send(json.dumps({"type": "hello", **({"token": token} if token else {})}))
    welcome = await next_frame(ws)
    assert welcome["type"] == "welcome", welcome
    return ChatCustomer(ws, welcome["token"], welcome["messages"]), welcome


def chat_settings(settings: Settings, **changes: Any) -> Settings:
    """Presence refreshed often, so an agent's console counts as online at once."""
    return dataclasses.replace(settings, presence_interval=0.1, **changes)


async def give_details(customer: ChatCustomer, **details: str) -> dict[str, Any]:
    await customer.ws.send(json.dumps({"type": "details", **details}))
    return await customer.expect("details")


async def addresses_of(hub: Hub, customer_id: int) -> set[tuple[str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(CustomerAddress.channel, CustomerAddress.address).where(
                CustomerAddress.customer_id == customer_id
            )
        )
        return {(channel, address) for channel, address in rows}


async def conversation_of(hub: Hub, message_id: int) -> Conversation:
    async with hub.sessions() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        return conversation


def test_an_unknown_prechat_field_stops_the_hub_from_starting(settings_for: Settings) -> None:
    with pytest.raises(ValueError, match="SWITCHBOARD_CHAT_PRECHAT"):
        create_app(dataclasses.replace(settings_for, chat_prechat="name,phone"))


async def test_with_prechat_on_the_first_message_waits_for_a_name_and_valid_email(
    settings_for: Settings,
) -> None:
    async with start_hub(chat_settings(settings_for, chat_prechat="name,email"), True) as hub:
        customer, welcome = await chat(hub)
        assert welcome["prechat"] == ["name", "email"] and welcome["details"] is None
        refused = await customer.say("Hello?", client_id="early-1")
        assert refused["code"] == "details_required" and refused["id"] == "early-1"
        for wrong in ("jane@", "jane doe@example.com", "jane@localhost", "<b>@x.com"):
            error = await give_details(customer, name="Jane", email=wrong)
            assert error["code"] == "invalid_email", wrong
        error = await give_details(customer, name="", email="jane@example.com")
        assert error["code"] == "name_required"
        assert await stored_messages(hub) == []

        given = await give_details(customer, name="Jane <b>Doe</b>", email=" Jane@Example.COM ")
        assert given["details"] == {"name": "Jane <b>Doe</b>", "email": "jane@example.com"}
        ack = await customer.say("Hello?", client_id="early-1")
        assert ack["type"] == "ack"
        conversation = await conversation_of(hub, ack["message_id"])
        assert await addresses_of(hub, conversation.customer_id) == {
            ("chat", customer.token.partition(".")[0]),
            ("email", "jane@example.com"),
        }
        async with hub.sessions() as session:
            record = await session.get(Customer, conversation.customer_id)
            assert record is not None and record.name == "Jane <b>Doe</b>"
        await customer.close()

        again, welcome = await chat(hub, customer.token)
        assert welcome["prechat"] == ["name", "email"]
        assert welcome["details"] == given["details"]
        assert (await again.say("Still me"))["type"] == "ack"
        await again.close()


async def test_a_known_email_puts_the_chat_on_that_customers_record_and_shows_nothing_of_it(
    settings_for: Settings,
) -> None:
    async with start_hub(chat_settings(settings_for, chat_prechat="email"), True) as hub:
        await hub.add_agent("alice", skills={"support": 5}, status="available")
        alice = await hub.login("alice")
        jane = await ChatCustomer.connect(hub)
        await give_details(jane, email="jane@example.com")
        first = await jane.say("My card was declined")
        conversation_id = await accept_next_offer(alice)

        # Someone else types Jane's address: the same record, none of Jane's chat.
        other = await ChatCustomer.connect(hub)
        await give_details(other, email="JANE@example.com")
        assert other.transcript == []
        second = await other.say("Hello from another browser")
        assert (await conversation_of(hub, second["message_id"])).customer_id == (
            await conversation_of(hub, first["message_id"])
        ).customer_id

        status, _ = await alice.post(
            f"/api/conversations/{conversation_id}/reply", {"text": "Only for Jane"}
        )
        assert status == 200
        assert (await jane.expect("message"))["text"] == "Only for Jane"
        await other.close()
        reopened = await ChatCustomer.connect(hub, token=other.token)
        assert [m["text"] for m in reopened.transcript] == ["Hello from another browser"]
        await reopened.close()
        await jane.close()
        await alice.close()


async def test_read_receipts_go_both_ways_and_survive_a_reload(
    settings_for: Settings,
) -> None:
    async with start_hub(chat_settings(settings_for), True) as hub:
        await hub.add_agent("alice", skills={"support": 5}, status="available")
        alice = await hub.login("alice")
        customer = await ChatCustomer.connect(hub)
        first = await customer.say("Is my transfer through?")
        second = await customer.say("It was 200 pounds")
        conversation_id = await accept_next_offer(alice)
        path = f"/api/conversations/{conversation_id}"

        status, body = await alice.post(path + "/seen", {"message_id": first["message_id"]})
        assert status == 200 and body["read_up_to"] == first["message_id"]
        assert await customer.expect("read") == {"type": "read", "message_id": first["message_id"]}
        status, body = await alice.post(path + "/seen", {"message_id": first["message_id"]})
        assert status == 200 and body["read_up_to"] is None  # nothing new: no event
        status, body = await alice.post(path + "/seen", {"message_id": 2**63})
        assert status == 400 and body["error"]

        async with alice.http.ws_connect("console/ws") as console:
            assert (await console.receive_json(timeout=10))["type"] == "hello"
            status, sent = await alice.post(path + "/reply", {"text": "Yes, it arrived."})
            assert status == 200
            reply = await customer.expect("message")
            assert reply["message_id"] == sent["message_id"]
            await customer.ws.send(json.dumps({"type": "seen", "message_id": reply["message_id"]}))
            event = await next_event(console, "message.status")
            assert event["conversation_id"] == conversation_id
            assert event["message_id"] == sent["message_id"]
            assert event["delivery_status"] == "read"
        detail = await alice.get(path)
        assert [(m["text"], m["delivery_status"]) for m in detail["messages"]] == [
            ("Is my transfer through?", "read"),
            ("It was 200 pounds", "received"),
            ("Yes, it arrived.", "read"),
        ]
        await customer.close()

        again = await ChatCustomer.connect(hub, token=customer.token)
        assert [(m["message_id"], m["read"]) for m in again.transcript] == [
            (first["message_id"], True),
            (second["message_id"], False),
            (sent["message_id"], True),
        ]
        await again.close()
        await alice.close()


async def test_a_visitor_cannot_mark_someone_elses_messages_read(
    hub: Hub, alice: AgentClient
) -> None:
    jane = await ChatCustomer.connect(hub)
    await jane.say("Hello")
    conversation_id = await accept_next_offer(alice)
    status, sent = await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Hi"})
    assert status == 200
    stranger = await ChatCustomer.connect(hub)
    await stranger.ws.send(json.dumps({"type": "seen", "message_id": sent["message_id"]}))
    for wrong in ("1", 2**63, True):  # 2**63: past what a database id column holds
        await stranger.ws.send(json.dumps({"type": "seen", "message_id": wrong}))
        assert (await stranger.expect("ack"))["code"] == "invalid_seen"
    detail = await alice.get(f"/api/conversations/{conversation_id}")
    assert detail["messages"][-1]["delivery_status"] == "sent"
    await stranger.close()
    await jane.close()


async def test_with_nobody_online_the_chat_goes_on_by_email(settings_for: Settings) -> None:
    async with capturing_relay() as relay, email_hub(chat_settings(settings_for), relay) as hub:
        # Alice is available but has no console open: nobody is online.
        async with logged_in_agent(hub, "alice") as alice:
            customer, welcome = await chat(hub)
            assert welcome["online"] is False and welcome["offline_email"] is True
            ack = await customer.say("Can I change my address online?")
            assert ack["by_email"] is False
            error = await give_details(customer, email="not an email")
            assert error["code"] == "invalid_email"
            given = await give_details(customer, email="Jane@Customer.test")
            assert given["by_email"] is True

            conversation_id = await accept_next_offer(alice)
            detail = await alice.get(f"/api/conversations/{conversation_id}")
            assert ("email", JANE) in {
                (a["channel"], a["address"]) for a in detail["customer"]["addresses"]
            }
            status, sent = await alice.post(
                f"/api/conversations/{conversation_id}/reply", {"text": "Yes, in the app."}
            )
            assert status == 200 and sent["delivery_status"] == "sent"
            envelope, reply = await relay.next()
            assert envelope.rcpt_tos == [JANE]
            assert reply["From"].addresses[0].addr_spec == SUPPORT
            assert "Can I change my address online?" in reply["Subject"]
            assert reply.get_content().strip() == "Yes, in the app."
            async with hub.sessions() as session:
                stored_reply = await session.get(Message, sent["message_id"])
                assert stored_reply is not None and stored_reply.channel == "email"

            # Jane answers the email: it joins the same conversation, in front of Alice.
            answer = mail(
                str(reply["Subject"]), "Found it, thanks!", In_Reply_To=reply["Message-ID"]
            )
            answer.replace_header("To", str(reply["Reply-To"]))
            assert "Stored" in await send(hub, answer)
            detail = await alice.get(f"/api/conversations/{conversation_id}")
            assert [m["text"] for m in detail["messages"]] == [
                "Can I change my address online?",
                "Yes, in the app.",
                "Found it, thanks!",
            ]
            await customer.close()


async def test_an_agent_with_the_console_open_is_online_and_replies_stay_in_the_chat(
    settings_for: Settings,
) -> None:
    async with capturing_relay() as relay, email_hub(chat_settings(settings_for), relay) as hub:
        async with logged_in_agent(hub, "alice") as alice:
            async with alice.http.ws_connect("console/ws") as console:
                assert (await console.receive_json(timeout=10))["type"] == "hello"

                async def online_welcome() -> ChatCustomer | None:
                    visitor, welcome = await chat(hub)
                    if welcome["online"]:
                        return visitor
                    await visitor.close()
                    return None

                customer = await eventually(online_welcome)
                await give_details(customer, email=JANE)
                ack = await customer.say("Quick question")
                assert ack["by_email"] is False  # someone is online: it stays a chat
                conversation_id = await accept_next_offer(alice)
                status, sent = await alice.post(
                    f"/api/conversations/{conversation_id}/reply", {"text": "Go ahead"}
                )
                assert status == 200
                assert (await customer.expect("message"))["message_id"] == sent["message_id"]
                assert relay.received.empty()
                await customer.close()


async def next_event(console: Any, kind: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        event = await console.receive_json(timeout=max(0.1, deadline - time.monotonic()))
        if event["type"] == kind:
            return dict(event)


async def test_the_widget_hears_when_agents_come_online_and_go_away(
    settings_for: Settings,
) -> None:
    async with start_hub(chat_settings(settings_for), True) as hub:
        await hub.add_agent("alice", skills={"support": 5}, status="available")
        alice = await hub.login("alice")
        customer, welcome = await chat(hub)
        assert welcome["online"] is False
        async with alice.http.ws_connect("console/ws") as console:
            assert (await console.receive_json(timeout=10))["type"] == "hello"
            assert await customer.expect("presence") == {"type": "presence", "online": True}
            status, _ = await alice.post("/api/me/status", {"status": "away"})
            assert status == 200
            assert await customer.expect("presence") == {"type": "presence", "online": False}
            status, _ = await alice.post("/api/me/status", {"status": "available"})
            assert await customer.expect("presence") == {"type": "presence", "online": True}
        # The console closed: once presence notices, nobody is online.
        assert await customer.expect("presence") == {"type": "presence", "online": False}
        await customer.close()
        await alice.close()


async def test_the_prechat_email_is_used_when_nobody_is_online(settings_for: Settings) -> None:
    settings = chat_settings(settings_for, chat_prechat="email")
    async with capturing_relay() as relay, email_hub(settings, relay) as hub:
        async with logged_in_agent(hub, "alice") as alice:
            customer, _welcome = await chat(hub)
            given = await give_details(customer, email=JANE)
            assert given["by_email"] is False  # nothing to answer yet
            ack = await customer.say("Please call me back")
            assert ack["by_email"] is True
            conversation_id = await accept_next_offer(alice)
            status, _ = await alice.post(
                f"/api/conversations/{conversation_id}/reply", {"text": "We will, tomorrow."}
            )
            assert status == 200
            envelope, _mail = await relay.next()
            assert envelope.rcpt_tos == [JANE]
            await customer.close()


@pytest.mark.parametrize("backend", ["redis"])  # several hub processes share Redis
async def test_read_receipts_cross_between_hub_processes(settings_for: Settings) -> None:
    async with start_hub(settings_for, clean=True) as chat_side:
        async with start_hub(settings_for) as console_side:
            await console_side.add_agent("alice", skills={"support": 5}, status="available")
            alice = await console_side.login("alice")
            customer = await ChatCustomer.connect(chat_side)
            asked = await customer.say("Anyone there?")
            conversation_id = await accept_next_offer(alice)
            path = f"/api/conversations/{conversation_id}"
            async with alice.http.ws_connect("console/ws") as console:
                assert (await console.receive_json(timeout=10))["type"] == "hello"
                status, _ = await alice.post(path + "/seen", {"message_id": asked["message_id"]})
                assert status == 200
                assert (await customer.expect("read"))["message_id"] == asked["message_id"]

                status, sent = await alice.post(path + "/reply", {"text": "Yes, hello!"})
                assert status == 200
                reply = await customer.expect("message")
                await customer.ws.send(
                    json.dumps({"type": "seen", "message_id": reply["message_id"]})
                )
                event = await next_event(console, "message.status")
                assert event["message_id"] == sent["message_id"]
                assert event["delivery_status"] == "read"
            await customer.close()
            await alice.close()


async def test_an_agent_answering_a_chat_gone_to_email_in_the_chat_reaches_that_visitor(
    settings_for: Settings,
) -> None:
    async with capturing_relay() as relay, email_hub(chat_settings(settings_for), relay) as hub:
        async with logged_in_agent(hub, "alice") as alice:
            jane, _welcome = await chat(hub)
            await give_details(jane, email=JANE)
            assert (await jane.say("Is the branch open on Sunday?"))["by_email"] is True
            conversation_id = await accept_next_offer(alice)
            # A newer visitor with the same email: the customer's newest chat address.
            other, _welcome = await chat(hub)
            await give_details(other, email=JANE)

            status, sent = await alice.post(
                f"/api/conversations/{conversation_id}/reply",
                {"text": "No, from Monday.", "channel": "chat"},
            )
            assert status == 200, sent
            # One delivery per reply, addressed to one visitor: Jane's, not the newer one.
            assert (await jane.expect("message"))["text"] == "No, from Monday."
            assert relay.received.empty()
            await jane.close()
            await other.close()
