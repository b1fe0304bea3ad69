"""Counting what one client does per time window, so no one of them can flood the hub.

One interface, a memory and a Redis implementation: on Redis the count is shared by
every hub process, so a client cannot spread its flood over them. Windows are fixed
(they start at a key's first hit), which is what a limit a person can read needs.
"""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis

__all__ = ["MemoryRateLimits", "RateLimits", "RedisRateLimits"]


class RateLimits(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> float:
        """Count one event for `key`: 0 while at most `limit` in `window` seconds, else the
        seconds until the window ends. A limit of 0 or less never refuses."""
        ...

    async def count(self, key: str) -> int:
        """Events counted for `key` in its current window."""
        ...

    async def clear(self, key: str) -> None:
        """Forget `key`'s window (e.g. after a successful login)."""
        ...


class MemoryRateLimits:
    """For a single hub process."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, limit: int, window: float) -> float:
        if limit <= 0:
            return 0.0
        now = time.monotonic()
        ends, seen = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, seen = now + window, 0
            if len(self._windows) > 100_000:  # keep memory bounded: drop ended windows
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        self._windows[key] = (ends, seen + 1)
        return 0.0 if seen + 1 <= limit else ends - now

    async def count(self, key: str) -> int:
        ends, seen = self._windows.get(key, (0.0, 0))
        return seen if ends > time.monotonic() else 0

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)


# INCR, and start the window on the first hit; answers the count and the window's rest.
_HIT = """
local seen = redis.call('INCR', KEYS[1])
if seen == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local rest = redis.call('PTTL', KEYS[1])
if rest < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  rest = tonumber(ARGV[1])
end
return {seen, rest}
"""


class RedisRateLimits:
    """Shared by every hub process on the same Redis and prefix."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "rate:"
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, limit: int, window: float) -> float:
        if limit <= 0:
            return 0.0
        seen, rest = await self._hit(keys=[self._prefix + key], args=[int(window * 1000)])
        return 0.0 if int(seen) <= limit else int(rest) / 1000

    async def count(self, key: str) -> int:
        value = await self._redis.get(self._prefix + key)
        return int(value) if value is not None else 0

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)
