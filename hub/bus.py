"""The event bus: small JSON events fanned out to every hub process.

One interface, two backends: in process (one hub) and Redis pub/sub (many). A backend
carries JSON objects (`send`); the hub publishes entries of the catalogue in `hub.events`.
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
from redis.exceptions import TimeoutError as RedisTimeoutError

from hub.events import BusMessage
from hub.loops import stop_if_cancelled
from hub.models import utcnow

Event = dict[str, Any]  # a message as the bus carries it: {"type", "ts", **fields}
log = logging.getLogger(__name__)
LISTEN_WAIT = 1.0  # seconds a subscription waits for a message before asking again


def make_event(type_: str, **fields: Any) -> Event:
    """A raw event, for exercising a backend; the hub publishes `hub.events` entries."""
    return {"type": type_, "ts": utcnow().isoformat(), **fields}


class SubscriptionClosed(Exception):
    """The subscription was closed; no more events will come."""


class Subscription(ABC):
    """A stream of every event published after it was opened."""

    @abstractmethod
    async def get(self) -> Event:
        """Wait for the next event; SubscriptionClosed once closed, even while waiting."""

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
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None


class EventBus(ABC):
    """Publish events; every open subscription, in any hub process, receives them."""

    async def publish(self, message: BusMessage) -> None:
        """Send a catalogue message to every subscriber."""
        await self.send(message.wire())

    @abstractmethod
    async def send(self, event: Event) -> None:
        """Send an event in its wire form to every subscriber."""

    @abstractmethod
    async def subscribe(self) -> Subscription:
        """Open a subscription; it is live when this returns."""


class MemoryBus(EventBus):
    def __init__(self, buffer: int = 10_000) -> None:
        self._subscribers: set[_MemorySubscription] = set()
        self._buffer = buffer

    async def send(self, event: Event) -> None:
        # Through JSON, as on Redis: a bad event fails here too, and readers get their own copy.
        text = json.dumps(event)
        for subscriber in list(self._subscribers):
            subscriber.offer(json.loads(text))

    async def subscribe(self) -> Subscription:
        subscription = _MemorySubscription(self, self._buffer)
        self._subscribers.add(subscription)
        return subscription

    def _drop(self, subscription: _MemorySubscription) -> None:
        self._subscribers.discard(subscription)


class _MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, buffer: int) -> None:
        self._bus = bus
        # None marks the end, so a reader waiting in get() wakes when closed.
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(buffer)
        self._closed = False

    def offer(self, event: Event | None) -> None:
        if self._queue.full():
            # A reader that fell this far behind loses its oldest events, not the hub.
            self._queue.get_nowait()
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        event = None if self._closed else await self._queue.get()
        if event is None:
            raise SubscriptionClosed
        return event

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus._drop(self)
            self.offer(None)


class RedisBus(EventBus):
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._channel = f"{prefix}events"

    async def send(self, event: Event) -> None:
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
        self._closed = False

    async def open(self) -> None:
        self._pubsub = pubsub = self._redis.pubsub(ignore_subscribe_messages=False)
        await pubsub.subscribe(self._channel)
        while True:  # wait for the server's confirmation so no publish is missed
            message = await pubsub.get_message(timeout=5.0)
            if message is not None and message["type"] == "subscribe":
                return
            stop_if_cancelled()

    async def get(self) -> Event:
        while True:
            if self._closed or self._pubsub is None:
                raise SubscriptionClosed
            try:
                # A bounded wait, so the client's socket timeout (meant for a frozen Redis)
                # never fires on a merely quiet channel.
                message = await self._pubsub.get_message(timeout=LISTEN_WAIT)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                if self._closed:  # close() hung up under us; do not resubscribe
                    raise SubscriptionClosed from None
                stop_if_cancelled()
                log.warning("event bus lost Redis; resubscribing")
                await self._reopen()
                continue
            if message is None or message["type"] != "message":
                stop_if_cancelled()
                continue
            event: Event = json.loads(message["data"])
            return event

    async def _reopen(self) -> None:
        await self._hang_up()
        while not self._closed:
            try:
                await self.open()
                return
            except (RedisConnectionError, RedisTimeoutError, OSError):
                stop_if_cancelled()
                await asyncio.sleep(0.5)

    async def close(self) -> None:
        self._closed = True
        await self._hang_up()

    async def _hang_up(self) -> None:
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except (RedisConnectionError, OSError):
                pass
