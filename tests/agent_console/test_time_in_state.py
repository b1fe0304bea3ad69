"""Time in state: kept on the presence board, so every hub process and a restarted hub
agree on when an agent became available, away or offline."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from hub.presence import MemoryPresence, PresenceBoard, RedisPresence
from hub.settings import Settings
from tests.agent_console.test_wallboard_api import next_event, open_socket
from tests.conftest import REDIS, start_hub
from tests.support import AgentClient, eventually


@pytest.fixture
async def board(backend: str) -> AsyncIterator[PresenceBoard]:
    if backend == "memory":
        yield MemoryPresence()
        return
    redis = Redis.from_url(REDIS)
    prefix = f"sbtest:{uuid.uuid4().hex[:10]}:"
    yield RedisPresence(redis, prefix)
    keys = [k async for k in redis.scan_iter(match=prefix + "*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_the_board_keeps_the_latest_state_change(board: PresenceBoard) -> None:
    assert await board.state_since([1, 2]) == {}
    assert await board.state_since([]) == {}
    await board.state_changed(1, 1_700_000_000.25)
    await board.state_changed(1, 1_700_000_000.25)  # every hub process reports each change
    await board.state_changed(2, 1_700_000_100.5)
    assert await board.state_since([1, 2, 3]) == {1: 1_700_000_000.25, 2: 1_700_000_100.5}
    await board.state_changed(1, 1_699_999_999.0)  # a late report of an older change
    await board.state_changed(2, 1_700_000_200.125)
    assert await board.state_since([2, 1]) == {1: 1_700_000_000.25, 2: 1_700_000_200.125}


async def status_since(client: AgentClient, name: str) -> str:
    board = {a["name"]: a for a in await client.get("/api/supervisor/agents")}
    return str(board[name]["status_since"])


@pytest.mark.parametrize("backend", ["redis"])
async def test_time_in_state_is_shared_by_hub_processes_and_survives_a_restart(
    settings_for: Settings,
) -> None:
    async with start_hub(settings_for, clean=True) as first, start_hub(settings_for) as second:
        await first.add_agent("alice")
        await first.add_agent("sam", role="supervisor")
        alice, sam_first = await first.login("alice"), await first.login("sam")
        sam_second = await second.login("sam")
        ws = await open_socket(alice)
        status, _ = await alice.post("/api/me/status", {"status": "available"})
        assert status == 200
        changed = (await next_event(ws, "agent.state", status="available"))["ts"]

        async def on(client: AgentClient) -> str | None:
            since = await status_since(client, "Alice")
            return since if since == changed else None

        # The process that saw the change and the other one say the same.
        assert await eventually(lambda: on(sam_first)) == changed
        assert await eventually(lambda: on(sam_second)) == changed
        await ws.close()
        for client in (alice, sam_first, sam_second):
            await client.close()

    # A hub started afterwards never saw the change, and still knows when it was.
    async with start_hub(settings_for) as restarted:
        sam = await restarted.login("sam")
        assert await status_since(sam, "Alice") == changed
        await sam.close()
