"""Public chat cannot be flooded: per visitor and per client address, with a clear error
frame saying when to try again; on Redis the counts hold across hub processes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator

import pytest
import websockets
from sqlalchemy import func, select

from hub.models import Conversation, Message
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import ChatCustomer, Hub


async def count(hub: Hub, model: type[Message] | type[Conversation]) -> int:
    async with hub.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def flood(customer: ChatCustomer, how_many: int) -> list[dict[str, object]]:
    """Send as fast as the socket takes them; every answer, in order."""
    for n in range(how_many):
        await customer.ws.send(
            json.dumps({"type": "message", "id": uuid.uuid4().hex, "text": f"spam {n}"})
        )
    answers = []
    while len(answers) < how_many:
        frame = json.loads(await asyncio.wait_for(customer.ws.recv(), 10))
        if frame["type"] in ("ack", "error"):
            answers.append(frame)
    return answers


@pytest.fixture
def limited(settings_for: Settings) -> Settings:
    return dataclasses.replace(
        settings_for, chat_visitor_messages=5, chat_address_messages=8, chat_address_visitors=3
    )


@pytest.fixture
async def hub(limited: Settings) -> AsyncIterator[Hub]:
    async with start_hub(limited, clean=True) as running:
        yield running


async def test_one_visitor_cannot_flood_the_chat(hub: Hub) -> None:
    customer = await ChatCustomer.connect(hub)
    answers = await flood(customer, 12)
    acked = [a for a in answers if a["type"] == "ack"]
    refused = [a for a in answers if a["type"] == "error"]
    assert len(acked) == 5
    assert {a["code"] for a in refused} == {"rate_limited"}
    assert all(0 < int(str(a["retry_after"])) <= 60 for a in refused)
    assert all("try again in" in str(a["detail"]) and a.get("id") for a in refused)
    assert await count(hub, Message) == 5
    await customer.close()


async def test_one_address_cannot_open_chat_after_chat(hub: Hub) -> None:
    visitors = [await ChatCustomer.connect(hub) for _ in range(3)]
    async with websockets.connect(hub.ws_url + "/chat/ws") as fourth:
        await fourth.send(json.dumps({"type": "hello"}))
        refused = json.loads(await fourth.recv())
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
        assert refused["retry_after"] > 0
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await fourth.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # A visitor who already has a token comes back; the three wrote 3 + 3 + 2 messages,
    # then the address's limit (8 a minute) holds for all of them together.
    again = await ChatCustomer.connect(hub, token=visitors[0].token)
    answers = [a for v in visitors for a in await flood(v, 3)]
    assert [a["type"] for a in answers].count("ack") == 8
    assert await count(hub, Conversation) == 3
    for visitor in [*visitors, again]:
        await visitor.close()


@pytest.mark.parametrize("backend", ["redis"])
async def test_the_limits_hold_across_hub_processes(limited: Settings) -> None:
    async with start_hub(limited, clean=True) as one, start_hub(limited) as two:
        customer = await ChatCustomer.connect(one)
        first = await flood(customer, 3)
        same_visitor = await ChatCustomer.connect(two, token=customer.token)
        second = await flood(same_visitor, 4)
        assert [a["type"] for a in first + second].count("ack") == 5
        assert await count(one, Message) == 5
        await customer.close()
        await same_visitor.close()
