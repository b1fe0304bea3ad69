"""Two hub processes on one PostgreSQL and one Redis share a queue without stepping on toes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from itertools import cycle

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, union_all

from agent_console.keys import OFFERS
from hub.contacts import InboundContact
from hub.intake import Accepted
from hub.keys import CONVERSATIONS, INTAKE, QUEUE
from hub.models import Agent, Conversation, Offer
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import Hub, eventually

# Both hubs share the PostgreSQL database and the Redis prefix: only the redis backend races.
pytestmark = pytest.mark.parametrize("backend", ["redis"])
CAPACITY = 3


def chat(n: int) -> InboundContact:
    return InboundContact(
        channel="chat",
        inbox="website",
        external_id=uuid.uuid4().hex,
        sender=f"visitor-{n}",
        text=f"Question number {n}",
    )


async def arrive(hubs: list[Hub], count: int) -> list[Accepted]:
    """`count` customers write at once, spread over the hubs' intakes."""
    return await asyncio.gather(
        *(hub.app[INTAKE].accept(chat(n)) for n, hub in zip(range(count), cycle(hubs)))
    )


async def add_agents(hub: Hub, names: list[str], chat_capacity: int) -> list[int]:
    """Available agents, added at once; they never log in, so no password hash to compute."""
    async with hub.sessions() as session, session.begin():
        agents = [
            Agent(
                username=name,
                password_hash="!",
                status="available",
                capacities={"chat": chat_capacity},
            )
            for name in names
        ]
        session.add_all(agents)
        await session.flush()
        return [agent.id for agent in agents]


async def take_and_close(hub: Hub, agent_id: int) -> None:
    """An agent accepts every offer they hold and wraps each conversation up."""
    for offer in await hub.app[OFFERS].pending_for(agent_id):
        assert await hub.app[OFFERS].accept(offer.offer_id, agent_id) == offer.conversation_id
        await hub.app[CONVERSATIONS].close(agent_id, offer.conversation_id, "resolved")


async def pending_per_agent(hub: Hub) -> dict[int, int]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(Offer.agent_id, func.count())
            .where(Offer.status == "pending")
            .group_by(Offer.agent_id)
        )
        return {agent_id: n for agent_id, n in rows.all()}


async def held_per_agent(hub: Hub) -> dict[int, int]:
    """What each agent holds by the database: pending offers plus assigned conversations."""
    # One statement, so one snapshot: an offer being accepted is counted once, not twice.
    held = union_all(
        select(Offer.agent_id.label("agent_id")).where(Offer.status == "pending"),
        select(Conversation.agent_id).where(Conversation.status == "assigned"),
    ).subquery()
    async with hub.sessions() as session:
        rows = await session.execute(
            select(held.c.agent_id, func.count()).group_by(held.c.agent_id)
        )
        return {agent_id: n for agent_id, n in rows.all()}


async def live_offers_per_conversation(hub: Hub) -> dict[int, int]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(Offer.conversation_id, func.count())
            .where(Offer.status.in_(("pending", "accepted")))
            .group_by(Offer.conversation_id)
        )
        return {conversation_id: n for conversation_id, n in rows.all()}


@dataclass
class Watch:
    """Samples the database all through a test: the most any agent or conversation ever held."""

    hub: Hub
    most_held: int = 0
    most_offers: int = 0
    samples: int = 0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def __enter__(self) -> Watch:
        self._task = asyncio.create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def _sample(self) -> None:
        while True:
            held = await held_per_agent(self.hub)
            offers = await live_offers_per_conversation(self.hub)
            self.most_held = max([self.most_held, *held.values()])
            self.most_offers = max([self.most_offers, *offers.values()])
            self.samples += 1
            await asyncio.sleep(0.01)


async def quiet(read: Callable[[], Awaitable[object]], settle: float = 0.6) -> object:
    """Wait until `read` gives the same answer for `settle` seconds; that answer."""
    last, since = await read(), time.monotonic()
    deadline = since + 30
    while time.monotonic() - since < settle:
        assert time.monotonic() < deadline, "routing never settled"
        await asyncio.sleep(0.05)
        now = await read()
        if now != last:
            last, since = now, time.monotonic()
    return last


async def total_pending(hub: Hub) -> int:
    return sum((await pending_per_agent(hub)).values())


async def test_two_hubs_racing_never_double_offer_nor_overfill_an_agent(
    settings_for: Settings,
) -> None:
    settings = replace(settings_for, routing_tick=0.02)
    async with start_hub(settings, clean=True) as one, start_hub(settings) as two:
        hubs = [one, two]
        agents = await add_agents(one, [f"agent{n}" for n in range(10)], CAPACITY)
        with Watch(one) as watch:
            contacts = await arrive(hubs, 40)
            assert await quiet(lambda: total_pending(one)) == 10 * CAPACITY

            # Every agent is full; the ten who did not fit wait in line.
            assert await pending_per_agent(one) == {a: CAPACITY for a in agents}
            for agent in agents:
                assert await two.app[QUEUE].load(agent) == {"chat": CAPACITY}
            assert await one.app[QUEUE].size() == 10

            # Everyone takes what they were offered and wraps up; the rest get their turn.
            await asyncio.gather(
                *(take_and_close(hub, agent) for agent, hub in zip(agents, cycle(hubs)))
            )
            assert await quiet(lambda: total_pending(one)) == 10
            assert await one.app[QUEUE].size() == 0

        assert watch.samples > 10
        assert watch.most_held <= CAPACITY
        assert watch.most_offers == 1
        offered = await live_offers_per_conversation(one)
        assert sorted(offered) == sorted(c.conversation_id for c in contacts)
        for agent in agents:
            assert sum((await two.app[QUEUE].load(agent)).values()) == (
                await held_per_agent(one)
            ).get(agent, 0)
        made = [hub.app[OFFERS]._metrics.value("switchboard_offers_total") for hub in hubs]
        assert sum(made) == 40


async def test_when_redis_loses_our_keys_the_queue_is_rebuilt_and_routing_goes_on(
    settings_for: Settings,
) -> None:
    settings = replace(settings_for, routing_tick=0.02)
    async with start_hub(settings, clean=True) as one, start_hub(settings) as two:
        busy = await add_agents(one, ["busy0", "busy1"], 1)
        contacts = await arrive([one, two], 5)
        assert await quiet(lambda: total_pending(one)) == 2
        assert await one.app[QUEUE].size() == 3

        with Watch(one) as watch:
            await forget_our_keys(settings)
            assert not await one.app[QUEUE].intact() or await one.app[QUEUE].size() == 3

            # Rebuilt from the database: the three still waiting, the busy agents still full.
            await eventually(lambda: size_is(one, 3))
            await asyncio.sleep(0.3)
            assert await one.app[QUEUE].size() == 3
            for agent in busy:
                assert await two.app[QUEUE].load(agent) == {"chat": 1}

            fresh = await add_agents(two, ["fresh0", "fresh1", "fresh2"], 1)
            assert await quiet(lambda: total_pending(one)) == 5
            assert await one.app[QUEUE].size() == 0

        assert watch.most_held <= 1 and watch.most_offers == 1
        assert set(await pending_per_agent(one)) == {*busy, *fresh}
        offered = await live_offers_per_conversation(one)
        assert sorted(offered) == sorted(c.conversation_id for c in contacts)


async def size_is(hub: Hub, size: int) -> bool:
    return await hub.app[QUEUE].size() == size


async def forget_our_keys(settings: Settings) -> None:
    """What a Redis restart without persistence does, to this test's keys only."""
    assert settings.redis_url
    redis = Redis.from_url(settings.redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=settings.redis_prefix + "*")]
        assert keys
        await redis.delete(*keys)
    finally:
        await redis.aclose()
