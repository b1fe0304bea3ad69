"""Which agents have a live console connection, across every hub process.

One interface, two backends: in memory (one hub process) and a Redis sorted set
(many). Each hub process marks the agents whose console sockets it holds as seen
every few seconds; an agent not seen for longer than the grace period has gone.
The board also keeps when each agent's state (available, away, offline) last changed,
so time in state survives a hub restart and reads the same on every process.
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

    @abstractmethod
    async def state_changed(self, agent_id: int, at: float) -> None:
        """Record that the agent's state changed at `at` (epoch seconds); an earlier time
        never replaces a later one, so repeated or late reports are harmless."""

    @abstractmethod
    async def state_since(self, agent_ids: list[int]) -> dict[int, float]:
        """When each of these agents' state last changed, for those with a record."""


class MemoryPresence(PresenceBoard):
    def __init__(self) -> None:
        self._seen: dict[int, float] = {}
        self._changed: dict[int, float] = {}

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

    async def state_changed(self, agent_id: int, at: float) -> None:
        self._changed[agent_id] = max(at, self._changed.get(agent_id, at))

    async def state_since(self, agent_ids: list[int]) -> dict[int, float]:
        return {a: self._changed[a] for a in agent_ids if a in self._changed}


class RedisPresence(PresenceBoard):
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = f"{prefix}presence"
        self._changed_key = f"{prefix}state_since"

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

    async def state_changed(self, agent_id: int, at: float) -> None:
        # GT: only a later time replaces the one stored (every hub process reports each change).
        await self._redis.zadd(self._changed_key, {str(agent_id): at}, gt=True)

    async def state_since(self, agent_ids: list[int]) -> dict[int, float]:
        if not agent_ids:
            return {}
        scores = await self._redis.zmscore(self._changed_key, [str(a) for a in agent_ids])
        return {a: float(s) for a, s in zip(agent_ids, scores, strict=True) if s is not None}
