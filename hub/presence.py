"""Which agents have a live console connection, across every hub process.

One interface, two backends: in memory (one hub process) and a Redis sorted set
(many). Each hub process marks the agents whose console sockets it holds as seen
every few seconds; an agent not seen for longer than the grace period has gone.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from redis.asyncio import Redis


class PresenceBoard(ABC):
    """When each connected agent was last seen."""

    @abstractmethod
    async def seen(self, agent_ids: list[int], at: float | None = None) -> None:
        """Mark agents as connected now (or at `at`, epoch seconds)."""

    @abstractmethod
    async def gone(self, older_than: float) -> list[int]:
        """Agents last seen before `older_than` (epoch seconds), oldest first."""

    @abstractmethod
    async def forget(self, agent_id: int) -> bool:
        """Drop an agent from the board; True for the one caller that removed them."""

    @abstractmethod
    async def present(self, since: float) -> set[int]:
        """Agents last seen at or after `since` (epoch seconds)."""


class MemoryPresence(PresenceBoard):
    def __init__(self) -> None:
        self._seen: dict[int, float] = {}

    async def seen(self, agent_ids: list[int], at: float | None = None) -> None:
        now = time.time() if at is None else at
        for agent_id in agent_ids:
            self._seen[agent_id] = now

    async def gone(self, older_than: float) -> list[int]:
        stale = [(t, a) for a, t in self._seen.items() if t < older_than]
        return [agent_id for _t, agent_id in sorted(stale)]

    async def forget(self, agent_id: int) -> bool:
        return self._seen.pop(agent_id, None) is not None

    async def present(self, since: float) -> set[int]:
        return {agent_id for agent_id, t in self._seen.items() if t >= since}


class RedisPresence(PresenceBoard):
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = f"{prefix}presence"

    async def seen(self, agent_ids: list[int], at: float | None = None) -> None:
        if agent_ids:
            now = time.time() if at is None else at
            await self._redis.zadd(self._key, {str(a): now for a in agent_ids})

    async def gone(self, older_than: float) -> list[int]:
        members = await self._redis.zrangebyscore(self._key, "-inf", f"({older_than}")
        return [int(m) for m in members]

    async def forget(self, agent_id: int) -> bool:
        return bool(await self._redis.zrem(self._key, str(agent_id)))

    async def present(self, since: float) -> set[int]:
        return {int(m) for m in await self._redis.zrangebyscore(self._key, since, "+inf")}
