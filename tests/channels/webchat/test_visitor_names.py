"""What agents see a chat customer called when the visitor gave no name."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest
import websockets

from hub.models import Customer
from hub.settings import Settings
from tests.channels.webchat.test_webchat import (
    accept_next_offer,
    chat,
    chat_settings,
    give_details,
)
from tests.conftest import start_hub
from tests.support import ChatCustomer, Hub


@pytest.fixture
def settings(settings_for: Settings) -> Settings:
    """The widget is embedded on the shop's own site, which the hub is told to accept."""
    return dataclasses.replace(settings_for, chat_origins="https://shop.example")


@pytest.fixture
async def shop_hub(settings: Settings) -> AsyncIterator[Hub]:
    async with start_hub(settings, clean=True) as running:
        yield running


async def test_a_visitor_without_a_name_is_shown_by_the_site_they_chat_from(
    shop_hub: Hub,
) -> None:
    hub = shop_hub
    await hub.add_agent("sam", skills={"support": 5}, status="available", role="supervisor")
    sam = await hub.login("sam")
    ws = await websockets.connect(hub.ws_url + "/chat/ws", origin="https://shop.example")
    await ws.send(json.dumps({"type": "hello"}))
    welcome = json.loads(await ws.recv())
    visitor = ChatCustomer(ws, welcome["token"], welcome["messages"])
    ack = await visitor.say("Where is my parcel?")
    conversation_id = await accept_next_offer(sam)

    view = await sam.get(f"/api/conversations/{conversation_id}")
    assert view["customer"]["name"] == "Visitor from shop.example"
    agents = await sam.get("/api/supervisor/agents")
    held = [c for a in agents for c in a["conversations"] if c["id"] == conversation_id]
    assert held == [
        {"id": conversation_id, "channel": "chat", "customer": "Visitor from shop.example"}
    ]
    async with hub.sessions() as session:
        customer = await session.get(Customer, view["customer"]["id"])
        assert customer is not None and customer.name == ""  # nothing made up is stored
    assert ack["type"] == "ack"
    await visitor.close()
    await sam.close()


async def test_a_visitor_who_gave_only_an_email_is_shown_by_it(settings_for: Settings) -> None:
    async with start_hub(chat_settings(settings_for, chat_prechat="email"), True) as hub:
        await hub.add_agent("alice", skills={"support": 5}, status="available")
        alice = await hub.login("alice")
        visitor, _welcome = await chat(hub)
        await give_details(visitor, email="li.wei@example.com")
        await visitor.say("Can I change my delivery address?")
        conversation_id = await accept_next_offer(alice)
        view = await alice.get(f"/api/conversations/{conversation_id}")
        assert view["customer"]["name"] == "li.wei@example.com"
        await visitor.close()
        await alice.close()
