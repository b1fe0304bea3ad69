"""The live queue and agents' load are made to agree with the database, whatever happened."""

from __future__ import annotations

import dataclasses
import time
import uuid

from hub.contacts import InboundContact
from hub.keys import INTAKE, QUEUE
from hub.queue import WaitingContact
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import Hub, eventually


def quick(settings: Settings) -> Settings:
    return dataclasses.replace(settings, reconcile_interval=0.2)


async def arrives(hub: Hub) -> int:
    accepted = await hub.app[INTAKE].accept(
        InboundContact(
            channel="chat",
            inbox="website",
            external_id=uuid.uuid4().hex,
            sender=f"visitor-{uuid.uuid4().hex[:6]}",
            text="hello",
        )
    )
    return accepted.conversation_id


def stray(conversation_id: int) -> WaitingContact:
    """A live entry the database knows nothing about."""
    return WaitingContact(conversation_id, "chat", None, 0, time.time())


async def test_a_contact_stored_but_missing_from_the_live_queue_goes_back_in_line(
    settings_for: Settings,
) -> None:
    async with start_hub(quick(settings_for), clean=True) as hub:
        queue = hub.app[QUEUE]
        await eventually(queue.intact)
        conversation_id = await arrives(hub)
        # As when the hub died, or Redis failed, between the commit and the push.
        assert await queue.remove(conversation_id)
        await eventually(lambda: queue.contains(conversation_id))


async def test_a_contact_not_waiting_in_the_database_leaves_the_live_queue(
    settings_for: Settings,
) -> None:
    async with start_hub(quick(settings_for), clean=True) as hub:
        queue = hub.app[QUEUE]
        await eventually(queue.intact)
        kept = await arrives(hub)
        await queue.push(stray(999_999))

        async def gone() -> bool:
            return not await queue.contains(999_999)

        await eventually(gone)
        assert await queue.contains(kept)


async def test_an_agents_load_is_what_the_database_gives_them(settings_for: Settings) -> None:
    async with start_hub(quick(settings_for), clean=True) as hub:
        queue = hub.app[QUEUE]
        await eventually(queue.intact)
        alice = await hub.add_agent("alice", status="offline")
        # Capacity held for a contact the database never offered her (a pass that died).
        await queue.push(stray(424_242))
        assert await queue.reserve(424_242, alice, "chat", 3)
        assert await queue.load(alice) == {"chat": 1}

        async def freed() -> bool:
            return await queue.load(alice) == {}

        await eventually(freed)
