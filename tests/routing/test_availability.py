"""Whether anyone could answer a web chat now is routing's answer: the same skill, language
and capacity rules as its offers, for the agents whose console is open."""

from __future__ import annotations

import time

from hub.keys import COULD_TAKE, PRESENCE, QUEUE
from hub.models import Inbox
from hub.queue import WaitingContact
from tests.support import Hub


async def add_inbox(hub: Hub, address: str, **fields: object) -> None:
    async with hub.sessions() as session, session.begin():
        session.add(Inbox(channel="chat", address=address, name=address, **fields))


async def test_only_a_present_available_agent_who_suits_the_inbox_could_take_a_chat(
    hub: Hub,
) -> None:
    could_take = hub.app[COULD_TAKE]
    await add_inbox(hub, "web")
    await add_inbox(hub, "billing", skill="billing", skill_level=5)
    await add_inbox(hub, "french", language="fr")
    alice = await hub.add_agent("alice", skills={"billing": 3}, status="available")
    assert not await could_take("chat", "web")  # her console is not open

    await hub.app[PRESENCE].seen([alice], at=time.time())
    assert await could_take("chat", "web")
    assert not await could_take("chat", "billing")  # billing level 3 < 5
    assert not await could_take("chat", "french")  # she speaks English only

    bob = await hub.add_agent("bob", skills={"billing": 7}, status="available")
    await hub.app[PRESENCE].seen([bob], at=time.time())
    assert await could_take("chat", "billing")


async def test_an_agent_on_a_call_could_take_no_chat(hub: Hub) -> None:
    could_take = hub.app[COULD_TAKE]
    await add_inbox(hub, "web")
    alice = await hub.add_agent("alice", status="available")
    await hub.app[PRESENCE].seen([alice], at=time.time())
    assert await could_take("chat", "web")

    call = WaitingContact(
        conversation_id=1, channel="voice", required_skill=None, priority=0, enqueued_at=time.time()
    )
    await hub.app[QUEUE].push(call)
    assert await hub.app[QUEUE].reserve(1, alice, "voice", 1)
    assert not await could_take("chat", "web")
