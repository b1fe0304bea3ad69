"""The queue contract: every ContactQueue backend behaves the same, in one suite."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from hub.queue import PRIORITY_STEP, ContactQueue, MemoryQueue, RedisQueue, WaitingContact
from tests.conftest import REDIS

NOW = time.time()


@pytest.fixture(params=["memory", "redis"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[ContactQueue]:
    if request.param == "memory":
        yield MemoryQueue()
        return
    prefix = f"sbtest:{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url(REDIS)
    try:
        yield RedisQueue(redis, prefix)
    finally:
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def contact(
    conversation_id: int,
    *,
    priority: int = 0,
    waited: float = 0.0,
    channel: str = "chat",
    skill: str | None = None,
    declined_by: frozenset[int] = frozenset(),
) -> WaitingContact:
    return WaitingContact(
        conversation_id=conversation_id,
        channel=channel,
        required_skill=skill,
        priority=priority,
        enqueued_at=NOW - waited,
        declined_by=declined_by,
    )


async def ids(queue: ContactQueue) -> list[int]:
    return [c.conversation_id for c in await queue.waiting()]


async def test_an_empty_queue_has_nothing_waiting_and_no_load(queue: ContactQueue) -> None:
    assert await queue.waiting() == []
    assert await queue.size() == 0
    assert await queue.load(1) == {}


async def test_higher_priority_goes_first(queue: ContactQueue) -> None:
    await queue.push(contact(1, priority=0, waited=60))
    await queue.push(contact(2, priority=2))
    await queue.push(contact(3, priority=1))
    assert await ids(queue) == [2, 3, 1]


async def test_equal_priority_is_first_in_first_out(queue: ContactQueue) -> None:
    await queue.push(contact(5, waited=1))
    await queue.push(contact(4, waited=3))
    await queue.push(contact(6, waited=2))
    assert await ids(queue) == [4, 6, 5]


async def test_equal_priority_and_arrival_go_in_conversation_order(queue: ContactQueue) -> None:
    # Email Date headers have whole seconds, so equal timestamps are common;
    # ids are creation order, compared as numbers (9 before 10) on every backend.
    for conversation_id in (10, 9, 100, 11):
        await queue.push(contact(conversation_id))
    assert await ids(queue) == [9, 10, 11, 100]


async def test_a_long_wait_ages_a_contact_past_higher_priority(queue: ContactQueue) -> None:
    await queue.push(contact(1, priority=1))
    await queue.push(contact(2, priority=0, waited=PRIORITY_STEP * 1.5))
    assert await ids(queue) == [2, 1]


async def test_waiting_returns_the_contact_as_pushed_and_honours_limit(
    queue: ContactQueue,
) -> None:
    original = replace(
        contact(7, priority=2, waited=12.5, skill="billing", declined_by=frozenset({3, 1})),
        customer_id=70,
        language="es",
        min_level=4,
    )
    await queue.push(original)
    for conversation_id in range(8, 12):
        await queue.push(contact(conversation_id))
    waiting = await queue.waiting(limit=2)
    assert len(waiting) == 2
    assert waiting[0] == original
    assert waiting[0].enqueued_at == original.enqueued_at


async def test_push_replaces_the_entry_for_the_same_conversation(queue: ContactQueue) -> None:
    await queue.push(contact(1))
    await queue.push(contact(2, waited=10))
    await queue.push(contact(1, priority=3, declined_by=frozenset({42})))
    assert await queue.size() == 2
    first = (await queue.waiting())[0]
    assert (first.conversation_id, first.priority, first.declined_by) == (1, 3, frozenset({42}))


async def test_reserve_takes_a_waiting_contact_once(queue: ContactQueue) -> None:
    await queue.push(contact(1))
    assert await queue.reserve(1, agent_id=7, channel="chat", capacity=3)
    assert not await queue.reserve(1, agent_id=7, channel="chat", capacity=3)
    assert not await queue.reserve(1, agent_id=8, channel="chat", capacity=3)
    assert await queue.waiting() == []
    assert await queue.load(7) == {"chat": 1}
    assert await queue.load(8) == {}


async def test_reserve_of_a_contact_not_waiting_takes_no_capacity(queue: ContactQueue) -> None:
    assert not await queue.reserve(99, agent_id=7, channel="chat", capacity=3)
    assert await queue.load(7) == {}


async def test_reserve_respects_capacity_per_channel(queue: ContactQueue) -> None:
    for conversation_id in (1, 2, 3):
        await queue.push(contact(conversation_id))
    await queue.push(contact(4, channel="email"))
    assert await queue.reserve(1, 7, "chat", capacity=2)
    assert await queue.reserve(2, 7, "chat", capacity=2)
    assert not await queue.reserve(3, 7, "chat", capacity=2)
    assert await queue.reserve(4, 7, "email", capacity=1)
    assert await ids(queue) == [3]
    assert await queue.load(7) == {"chat": 2, "email": 1}


async def test_concurrent_reserves_for_one_contact_give_it_to_one_agent(
    queue: ContactQueue,
) -> None:
    await queue.push(contact(1))
    taken = await asyncio.gather(*(queue.reserve(1, agent, "chat", 3) for agent in range(50)))
    assert sum(taken) == 1
    winner = taken.index(True)
    for agent in range(50):
        assert await queue.load(agent) == ({"chat": 1} if agent == winner else {})


async def test_concurrent_reserves_for_one_agent_never_exceed_capacity(
    queue: ContactQueue,
) -> None:
    for conversation_id in range(1, 41):
        await queue.push(contact(conversation_id))
    taken = await asyncio.gather(*(queue.reserve(c, 7, "chat", 3) for c in range(1, 41)))
    assert sum(taken) == 3
    assert await queue.load(7) == {"chat": 3}
    assert await queue.size() == 37


async def test_take_counts_work_that_never_waited_against_the_same_capacity(
    queue: ContactQueue,
) -> None:
    await queue.push(contact(1))
    taken = await asyncio.gather(*(queue.take(7, "email", 3) for _ in range(10)))
    assert sum(taken) == 3
    assert await queue.load(7) == {"email": 3}
    # Routing sees the same load: nothing more is reserved for a full agent.
    assert not await queue.reserve(1, 7, "email", capacity=3)
    assert await ids(queue) == [1]
    await queue.release(7, "email")
    assert await queue.reserve(1, 7, "email", capacity=3)
    assert not await queue.take(7, "email", 3)
    assert await queue.take(7, "sms", 1) and await queue.load(7) == {"email": 3, "sms": 1}


async def test_release_gives_back_capacity_and_never_goes_below_zero(
    queue: ContactQueue,
) -> None:
    await queue.push(contact(1))
    await queue.push(contact(2))
    assert await queue.reserve(1, 7, "chat", capacity=1)
    assert not await queue.reserve(2, 7, "chat", capacity=1)
    await queue.release(7, "chat")
    assert await queue.load(7) == {}
    await asyncio.gather(*(queue.release(7, "chat") for _ in range(5)))
    await queue.release(8, "voice")
    assert await queue.load(7) == {}
    assert await queue.load(8) == {}
    assert await queue.reserve(2, 7, "chat", capacity=1)
    assert await queue.load(7) == {"chat": 1}


async def test_reserve_many_decides_each_reservation_in_turn(queue: ContactQueue) -> None:
    for conversation_id in (1, 2, 3, 10):
        await queue.push(contact(conversation_id))
    outcomes = await queue.reserve_many(
        [
            (1, 7, "chat", 2),
            (1, 8, "chat", 2),
            (2, 7, "chat", 2),
            (3, 7, "chat", 2),
            (10, 8, "chat", 2),
        ]
    )
    assert outcomes == [True, False, True, False, True]
    assert await queue.loads([7, 8, 9]) == {7: {"chat": 2}, 8: {"chat": 1}, 9: {}}
    assert await ids(queue) == [3]
    assert await queue.reserve_many([]) == []


async def test_concurrent_batches_never_over_assign(queue: ContactQueue) -> None:
    for conversation_id in range(1, 31):
        await queue.push(contact(conversation_id))
    # Two hub processes planned the same thirty contacts onto the same five agents.
    plan = [(c, 1 + c % 5, "chat", 3) for c in range(1, 31)]
    first, second = await asyncio.gather(queue.reserve_many(plan), queue.reserve_many(plan))
    assert all(not (a and b) for a, b in zip(first, second))
    assert sum(first) + sum(second) == 15
    assert await queue.loads([1, 2, 3, 4, 5]) == {a: {"chat": 3} for a in range(1, 6)}
    assert await queue.size() == 15


async def test_contains_tells_whether_a_contact_still_waits(queue: ContactQueue) -> None:
    await queue.push(contact(10))
    await queue.push(contact(9))
    assert await queue.contains(10) and await queue.contains(9)
    assert not await queue.contains(1)
    assert await queue.reserve(10, 7, "chat", 3)
    assert await queue.remove(9)
    assert not await queue.contains(10) and not await queue.contains(9)


async def test_remove_takes_a_contact_out_of_line(queue: ContactQueue) -> None:
    await queue.push(contact(1))
    await queue.push(contact(2))
    assert await queue.remove(1)
    assert not await queue.remove(1)
    assert not await queue.remove(99)
    assert await ids(queue) == [2]
    assert not await queue.reserve(1, 7, "chat", 3)


async def test_reset_replaces_all_live_state(queue: ContactQueue) -> None:
    assert not await queue.intact()
    await queue.push(contact(1))
    await queue.push(contact(2))
    assert await queue.reserve(2, 7, "chat", 3)
    await queue.reset([contact(3, waited=5), contact(4)], {8: {"email": 2}, 9: {}})
    assert await queue.intact()
    assert await ids(queue) == [3, 4]
    assert await queue.load(7) == {}
    assert await queue.load(8) == {"email": 2}
    assert await queue.load(9) == {}
    assert not await queue.reserve(5, 8, "email", capacity=5)
    await queue.push(contact(5, channel="email"))
    assert not await queue.reserve(5, 8, "email", capacity=2)
    assert await queue.reserve(5, 8, "email", capacity=3)


async def test_reset_to_nothing_still_counts_as_built(queue: ContactQueue) -> None:
    await queue.reset([], {})
    assert await queue.intact()
    assert await queue.size() == 0


async def test_one_process_at_a_time_rebuilds_lost_state(queue: ContactQueue) -> None:
    assert not await queue.intact()
    first = await queue.claim_rebuild()
    assert first
    if isinstance(queue, RedisQueue):
        # A second hub process must not reset what the first is rebuilding and routing.
        assert not await queue.claim_rebuild()
    await queue.reset([], {})
    assert await queue.intact()


async def test_waiting_ids_are_every_waiting_contact(queue: ContactQueue) -> None:
    assert await queue.waiting_ids() == set()
    for conversation_id in (3, 1, 20):
        await queue.push(contact(conversation_id))
    assert await queue.reserve(1, 7, "chat", 3)
    assert await queue.waiting_ids() == {3, 20}


async def test_loads_of_several_agents_at_once(queue: ContactQueue) -> None:
    await queue.reset([], {7: {"chat": 2}, 8: {"email": 1, "chat": 0}})
    assert await queue.loads([7, 8, 9]) == {7: {"chat": 2}, 8: {"email": 1}, 9: {}}


async def test_a_load_is_corrected_only_if_nothing_changed_it_meanwhile(
    queue: ContactQueue,
) -> None:
    await queue.reset([], {7: {"chat": 3}})
    assert not await queue.correct_load(7, "chat", seen=2, value=0)
    assert await queue.load(7) == {"chat": 3}
    assert await queue.correct_load(7, "chat", seen=3, value=1)
    assert await queue.load(7) == {"chat": 1}
    assert await queue.correct_load(8, "email", seen=0, value=2)
    assert await queue.load(8) == {"email": 2}


async def test_a_lease_is_held_by_one_holder_at_a_time(queue: ContactQueue) -> None:
    assert await queue.claim_lease("reconcile", "a", 0.3)
    assert await queue.claim_lease("reconcile", "a", 0.3)  # its holder renews it
    if isinstance(queue, RedisQueue):
        assert not await queue.claim_lease("reconcile", "b", 0.3)
        assert await queue.claim_lease("other", "b", 0.3)
        await asyncio.sleep(0.4)  # the holder is gone: another takes over
        assert await queue.claim_lease("reconcile", "b", 0.3)
