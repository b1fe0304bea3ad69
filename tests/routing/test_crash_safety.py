"""Stored means served: a routing pass that fails half-way gives back what it took.

The failure is a real one: the database refuses new offers (a trigger) after the first
few, as a database going away in the middle of a pass would.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text

from hub.contacts import InboundContact
from hub.keys import INTAKE, QUEUE
from hub.models import Conversation, Offer
from tests.support import Hub, eventually

REFUSE_POSTGRES = (
    "CREATE OR REPLACE FUNCTION refuse_offers() RETURNS trigger AS $$ BEGIN"
    " IF (SELECT count(*) FROM offers) >= 2 THEN RAISE EXCEPTION 'offers refused'; END IF;"
    " RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse_offers BEFORE INSERT ON offers"
    " FOR EACH ROW EXECUTE FUNCTION refuse_offers()",
)
ALLOW_POSTGRES = (
    "DROP TRIGGER IF EXISTS refuse_offers ON offers",
    "DROP FUNCTION IF EXISTS refuse_offers()",
)
REFUSE_SQLITE = (
    "CREATE TRIGGER refuse_offers BEFORE INSERT ON offers"
    " WHEN (SELECT count(*) FROM offers) >= 2 BEGIN SELECT RAISE(ABORT, 'offers refused'); END",
)
ALLOW_SQLITE = ("DROP TRIGGER IF EXISTS refuse_offers",)


async def execute(hub: Hub, statements: tuple[str, ...]) -> None:
    async with hub.sessions() as session, session.begin():
        for statement in statements:
            await session.execute(text(statement))


@pytest.fixture
async def refusing(hub: Hub, backend: str) -> AsyncIterator[tuple[Hub, tuple[str, ...]]]:
    """The hub, with a database that refuses every offer after the first two; and the
    statements that make it accept them again."""
    refuse, allow = (
        (REFUSE_SQLITE, ALLOW_SQLITE) if backend == "memory" else (REFUSE_POSTGRES, ALLOW_POSTGRES)
    )
    await execute(hub, refuse)
    try:
        yield hub, allow
    finally:
        await execute(hub, allow)


async def arrive(hub: Hub, count: int) -> None:
    for index in range(count):
        await hub.app[INTAKE].accept(
            InboundContact(
                channel="chat",
                inbox="website",
                external_id=uuid.uuid4().hex,
                sender=f"visitor-{index}",
                text="hello",
            )
        )


async def live_and_stored(hub: Hub, agents: list[int]) -> tuple[int, int, int, int]:
    """(waiting live, queued in the database, load live, pending offers in the database)."""
    async with hub.sessions() as session:
        queued = await session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.status == "queued")
        )
        pending = await session.scalar(
            select(func.count()).select_from(Offer).where(Offer.status == "pending")
        )
    loads = await hub.app[QUEUE].loads(agents)
    load = sum(sum(channels.values()) for channels in loads.values())
    return await hub.app[QUEUE].size(), int(queued or 0), load, int(pending or 0)


async def test_a_pass_failing_half_way_gives_back_its_batch_and_the_capacity(
    refusing: tuple[Hub, tuple[str, ...]],
) -> None:
    hub, allow = refusing
    await arrive(hub, 30)
    agents = [
        await hub.add_agent(name, status="available", capacities={"chat": 20})
        for name in ("alice", "bob")
    ]

    async def consistent_with_two_offers() -> bool:
        return await live_and_stored(hub, agents) == (28, 28, 2, 2)

    # Passes keep failing on the third offer; each must put back what it reserved.
    await eventually(consistent_with_two_offers)

    await execute(hub, allow)

    async def all_offered() -> bool:
        return await live_and_stored(hub, agents) == (0, 0, 30, 30)

    await eventually(all_offered)
