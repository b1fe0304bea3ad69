"""The rating card: a chat visitor still there when the agent closes the chat is asked for
1-5 and a comment over the widget's socket (a real `websockets` client here)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from hub.keys import SURVEYS
from hub.models import Survey, TimelineEvent
from hub.settings import Settings
from tests.channels.test_sms import accept_next_offer
from tests.conftest import start_hub
from tests.support import AgentClient, ChatCustomer, Hub


@pytest.fixture
async def hub(settings_for: Settings) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(settings_for, smtp_port=0, survey_channels="chat")
    async with start_hub(settings, clean=True) as running:
        yield running


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


async def rate(visitor: ChatCustomer, **frame: Any) -> dict[str, Any]:
    await visitor.ws.send(json.dumps({"type": "rating", **frame}))
    return await visitor.expect("rated")


async def test_a_visitor_rates_the_closed_chat_once_from_the_card(
    hub: Hub, alice: AgentClient
) -> None:
    visitor = await ChatCustomer.connect(hub, name="Sam")
    stranger = await ChatCustomer.connect(hub, name="Kim")
    try:
        await visitor.say("Can I change my delivery address?")
        conversation_id = await accept_next_offer(alice)
        status, _ = await alice.post(f"/api/conversations/{conversation_id}/close")
        assert status == 200

        card = await visitor.expect("survey")
        assert card["conversation_id"] == conversation_id
        assert "1 (poor) to 5 (great)" in card["question"]

        refused = await rate(visitor, conversation_id=conversation_id, rating=6)
        assert refused["code"] == "invalid_rating"
        refused = await rate(visitor, conversation_id=conversation_id, rating="5")
        assert refused["code"] == "invalid_rating"
        # Someone else's chat cannot be rated, whatever they send.
        refused = await rate(stranger, conversation_id=conversation_id, rating=1)
        assert refused["code"] == "no_survey"

        comment = "<img src=x onerror=alert(1)> thanks!"
        rated = await rate(visitor, conversation_id=conversation_id, rating=5, comment=comment)
        assert rated == {"type": "rated", "conversation_id": conversation_id, "rating": 5}
        again = await rate(visitor, conversation_id=conversation_id, rating=1)
        assert again["code"] == "rated_already"
    finally:
        await visitor.close()
        await stranger.close()

    async with hub.sessions() as session:
        [survey] = await session.scalars(select(Survey))
        [answered] = await session.scalars(
            select(TimelineEvent).where(TimelineEvent.kind == "survey.answered")
        )
    assert (survey.channel, survey.rating, survey.comment) == ("chat", 5, comment)
    assert answered.data == {"rating": 5, "comment": comment, "channel": "chat"}
    assert await hub.app[SURVEYS].ask(conversation_id) is None  # once per conversation
