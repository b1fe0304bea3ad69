"""The presence contract: every PresenceBoard backend behaves the same, in one suite."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from hub.presence import MemoryPresence, PresenceBoard, RedisPresence
from tests.conftest import REDIS

T = 1_000_000.0  # a moment, in epoch seconds


@pytest.fixture(params=["memory", "redis"])
async def board(request: pytest.FixtureRequest) -> AsyncIterator[PresenceBoard]:
    if request.param == "memory":
        yield MemoryPresence()
        return
    prefix = f"sbtest:{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url(REDIS)
    try:
        yield RedisPresence(redis, prefix)
    finally:
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_an_empty_board_has_nobody(board: PresenceBoard) -> None:
    assert await board.present(0) == set()
    assert await board.gone(T) == []
    assert await board.state_since([1, 2]) == {}


async def test_agents_seen_are_present_since_then(board: PresenceBoard) -> None:
    await board.seen([1, 2], at=T)
    await board.seen([3], at=T + 10)
    assert await board.present(T) == {1, 2, 3}
    assert await board.present(T + 5) == {3}
    assert await board.present(T + 10) == {3}  # at or after


async def test_seen_again_moves_an_agent_forward(board: PresenceBoard) -> None:
    await board.seen([1], at=T)
    await board.seen([1], at=T + 20)
    assert await board.present(T + 10) == {1}
    assert await board.gone(T + 10) == []


async def test_seen_with_nobody_changes_nothing(board: PresenceBoard) -> None:
    await board.seen([], at=T)
    assert await board.present(0) == set()


async def test_gone_lists_agents_last_seen_before_the_cutoff_oldest_first(
    board: PresenceBoard,
) -> None:
    await board.seen([3], at=T + 2)
    await board.seen([1], at=T + 1)
    await board.seen([2], at=T + 30)
    assert await board.gone(T + 10) == [1, 3]
    assert await board.gone(T + 1) == []  # strictly before


async def test_forget_is_true_for_the_one_caller_that_removed_the_agent(
    board: PresenceBoard,
) -> None:
    await board.seen([1], at=T)
    assert await board.forget(1)
    assert not await board.forget(1)
    assert not await board.forget(99)
    assert await board.gone(T + 10) == []
    assert await board.present(0) == set()


async def test_state_since_keeps_the_latest_change(board: PresenceBoard) -> None:
    await board.state_changed(1, T + 5)
    await board.state_changed(1, T)  # a late report of an earlier change
    await board.state_changed(2, T + 1)
    assert await board.state_since([1, 2, 3]) == {1: T + 5, 2: T + 1}
    await board.state_changed(1, T + 9)
    assert await board.state_since([1]) == {1: T + 9}
    assert await board.state_since([]) == {}


async def test_state_is_kept_apart_from_being_seen(board: PresenceBoard) -> None:
    await board.state_changed(1, T)
    assert await board.present(0) == set()
    await board.seen([2], at=T)
    assert await board.state_since([2]) == {}
