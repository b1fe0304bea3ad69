"""The bus contract: every EventBus backend behaves the same, in one suite."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from hub.bus import EventBus, MemoryBus, RedisBus, Subscription, SubscriptionClosed, make_event
from hub.events import AgentState
from tests.conftest import REDIS


@dataclass
class RedisPlace:
    """A Redis client whose connections carry a name of their own, and a key prefix."""

    redis: Redis
    prefix: str
    client_name: str


@pytest.fixture
async def redis_place() -> AsyncIterator[RedisPlace]:
    tag = uuid.uuid4().hex[:10]
    name = f"sbtest-{tag}"
    place = RedisPlace(Redis.from_url(REDIS, client_name=name), f"sbtest:{tag}:", name)
    yield place
    keys = [k async for k in place.redis.scan_iter(match=place.prefix + "*")]
    if keys:
        await place.redis.delete(*keys)
    await place.redis.aclose()


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest, redis_place: RedisPlace) -> EventBus:
    if request.param == "memory":
        return MemoryBus()
    return RedisBus(redis_place.redis, redis_place.prefix)


async def next_event(subscription: Subscription, timeout: float = 5.0) -> dict[str, object]:
    return await asyncio.wait_for(subscription.get(), timeout)


async def test_every_subscriber_gets_every_event_in_order(bus: EventBus) -> None:
    subscriptions = [await bus.subscribe() for _ in range(3)]
    for n in range(25):
        await bus.send(make_event("contact.queued", conversation_id=n))
    for subscription in subscriptions:
        received = [await next_event(subscription) for _ in range(25)]
        assert [e["conversation_id"] for e in received] == list(range(25))
        await subscription.close()


async def test_a_subscription_sees_only_what_is_published_after_it_opens(bus: EventBus) -> None:
    early = await bus.subscribe()
    await bus.send(make_event("offer.created", offer_id=1))
    late = await bus.subscribe()
    await bus.send(make_event("offer.created", offer_id=2))
    assert [(await next_event(early))["offer_id"] for _ in range(2)] == [1, 2]
    assert (await next_event(late))["offer_id"] == 2
    await early.close()
    await late.close()


async def test_events_arrive_as_json_would_carry_them(bus: EventBus) -> None:
    event = make_event(
        "message.received",
        conversation_id=7,
        agent_id=None,
        text='Grüße ✓ "quoted"\n',
        ids=(1, 2),
        detail={"score": 0.5, "ok": True},
    )
    async with await bus.subscribe() as first, await bus.subscribe() as second:
        await bus.send(event)
        received = await next_event(first)
        assert received == json.loads(json.dumps(event))
        assert received["ids"] == [1, 2]
        received["text"] = "changed by one reader"
        assert (await next_event(second))["text"] == event["text"]


async def test_an_event_that_is_not_json_is_refused_at_publish(bus: EventBus) -> None:
    async with await bus.subscribe():
        with pytest.raises(TypeError):
            await bus.send(make_event("bad", when=object()))


async def test_close_stops_delivery(bus: EventBus) -> None:
    stays = await bus.subscribe()
    leaves = await bus.subscribe()
    await bus.send(make_event("first"))
    await leaves.close()
    await bus.send(make_event("second"))
    assert [(await next_event(stays))["type"] for _ in range(2)] == ["first", "second"]
    with pytest.raises(SubscriptionClosed):
        await next_event(leaves)
    await stays.close()


async def test_close_wakes_a_waiting_reader_and_ends_iteration(bus: EventBus) -> None:
    subscription = await bus.subscribe()
    received: list[dict[str, object]] = []
    first = asyncio.Event()

    async def read_all() -> None:
        async for event in subscription:
            received.append(event)
            first.set()

    reader = asyncio.create_task(read_all())
    await bus.send(make_event("before"))
    await asyncio.wait_for(first.wait(), 5)
    await subscription.close()
    await asyncio.wait_for(reader, 5)
    await bus.send(make_event("after"))
    await asyncio.sleep(0.2)
    assert [e["type"] for e in received] == ["before"]
    with pytest.raises(SubscriptionClosed):
        await subscription.get()


async def test_a_redis_subscription_survives_losing_its_connection(
    redis_place: RedisPlace,
) -> None:
    bus = RedisBus(redis_place.redis, redis_place.prefix)
    async with await bus.subscribe() as subscription:
        await bus.send(make_event("before"))
        assert (await next_event(subscription))["type"] == "before"

        killed = await kill_our_pubsub_connections(redis_place)
        assert len(killed) == 1

        # Until it has resubscribed, events are lost (pub/sub keeps none); keep probing.
        waiting = asyncio.create_task(subscription.get())
        deadline = time.monotonic() + 10
        while not waiting.done():
            assert time.monotonic() < deadline, "the subscription never came back"
            await bus.send(make_event("probe"))
            await asyncio.sleep(0.05)
        assert waiting.result()["type"] == "probe"

        await bus.send(make_event("after"))
        while (event := await next_event(subscription))["type"] == "probe":
            pass
        assert event["type"] == "after"
        reconnected = await our_pubsub_connections(redis_place)
        assert len(reconnected) == 1 and reconnected[0] not in killed


async def our_pubsub_connections(place: RedisPlace) -> list[str]:
    """Ids of the pub/sub connections this test opened: they carry its client name."""
    clients = await place.redis.client_list(_type="pubsub")
    return [c["id"] for c in clients if c.get("name") == place.client_name]


async def kill_our_pubsub_connections(place: RedisPlace) -> list[str]:
    """Kill only our own subscriber connections (other people share this Redis)."""
    ids = await our_pubsub_connections(place)
    for client_id in ids:
        await place.redis.client_kill_filter(_id=client_id)
    return ids


async def test_a_catalogue_message_arrives_in_its_wire_form(bus: EventBus) -> None:
    message = AgentState(agent_id=3, status="away", why="missed offers")
    async with await bus.subscribe() as subscription:
        await bus.publish(message)
        assert await next_event(subscription) == message.wire()
