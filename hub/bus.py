"""The event bus: small JSON events fanned out to every hub process.

One interface, two backends: in process (one hub) and Redis pub/sub (many).
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from hub.models import utcnow

Event = dict[str, Any]
log = logging.getLogger(__name__)


def make_event(type_: str, **fields: Any) -> Event:
    """An event: its type, when it happened, and the ids a reader needs."""
    return {"type": type_, "ts": utcnow().isoformat(), **fields}


class Subscription(ABC):
    """A stream of every event published after it was opened."""

    @abstractmethod
    async def get(self) -> Event:
        """Wait for the next event."""

    @abstractmethod
    async def close(self) -> None:
        """Stop receiving events."""

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.get()


class EventBus(ABC):
    """Publish events; every open subscription, in any hub process, receives them."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Send an event to every subscriber."""

    @abstractmethod
    async def subscribe(self) -> Subscription:
        """Open a subscription; it is live when this returns."""


class MemoryBus(EventBus):
    def __init__(self, buffer: int = 10_000) -> None:
        self._subscribers: set[_MemorySubscription] = set()
        self._buffer = buffer

    async def publish(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(event)

    async def subscribe(self) -> Subscription:
        subscription = _MemorySubscription(self, self._buffer)
        self._subscribers.add(subscription)
        return subscription

    def _drop(self, subscription: _MemorySubscription) -> None:
        self._subscribers.discard(subscription)


class _MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, buffer: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event] = asyncio.Queue(buffer)

    def offer(self, event: Event) -> None:
        if self._queue.full():
            # A reader that fell this far behind loses its oldest events, not the hub.
            self._queue.get_nowait()
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        return await self._queue.get()

    async def close(self) -> None:
        self._bus._drop(self)


class RedisBus(EventBus):
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._channel = f"{prefix}events"

    async def publish(self, event: Event) -> None:
        await self._redis.publish(self._channel, json.dumps(event))

    async def subscribe(self) -> Subscription:
        subscription = _RedisSubscription(self._redis, self._channel)
        await subscription.open()
        return subscription


class _RedisSubscription(Subscription):
    """Pub/sub on its own connection; reconnects if Redis restarts."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self._redis = redis
        self._channel = channel
        self._pubsub: PubSub | None = None

    async def open(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=False)
        await self._pubsub.subscribe(self._channel)
        while True:  # wait for the server's confirmation so no publish is missed
            message = await self._pubsub.get_message(timeout=5.0)
            if message is not None and message["type"] == "subscribe":
                return

    async def get(self) -> Event:
        while True:
            try:
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=None)
            except (RedisConnectionError, OSError):
                log.warning("event bus lost Redis; resubscribing")
                await self._reopen()
                continue
            if message is None or message["type"] != "message":
                continue
            event: Event = json.loads(message["data"])
            return event

    async def _reopen(self) -> None:
        await self.close()
        while True:
            try:
                await self.open()
                return
            except (RedisConnectionError, OSError):
                await asyncio.sleep(0.5)

    async def close(self) -> None:
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except (RedisConnectionError, OSError):
                pass
