"""Listening to the bus: handlers registered by event, and one follower per reader.

A reader declares its handlers once, by catalogue entry, and gets each message typed:

    chat = Listeners[web.Application]()

    @chat.on(ChatDeliver)
    def deliver(app: web.Application, message: ChatDeliver) -> None: ...

and follows the bus for as long as the app runs, from one of its `cleanup_ctx`:

    async with following(app[BUS], chat.bind(app)):
        yield
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from hub.bus import Event, EventBus, Subscription
from hub.events import BusMessage
from hub.loops import Backoff, stop_if_cancelled

__all__ = ["Listeners", "Reader", "following"]

C = TypeVar("C")
M = TypeVar("M", bound=BusMessage)
Reader = Callable[[Event], Awaitable[None]]
log = logging.getLogger(__name__)


class Listeners(Generic[C]):
    """Handlers by message name; each gets a context (its app, its bridge) and the message."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[type[BusMessage], Callable[[C, Any], Any]]]] = (
            defaultdict(list)
        )

    def on(
        self, kind: type[M]
    ) -> Callable[
        [Callable[[C, M], Awaitable[None] | None]], Callable[[C, M], Awaitable[None] | None]
    ]:
        """Register the decorated function for `kind`; several may listen to one kind."""

        def register(
            handler: Callable[[C, M], Awaitable[None] | None],
        ) -> Callable[[C, M], Awaitable[None] | None]:
            self._handlers[kind.name].append((kind, handler))
            return handler

        return register

    @property
    def names(self) -> frozenset[str]:
        """The names of the messages something here listens to."""
        return frozenset(self._handlers)

    async def dispatch(self, context: C, event: Event) -> None:
        """Hand the event, typed, to each handler registered for its name."""
        for kind, handler in self._handlers.get(str(event.get("type")), ()):
            result = handler(context, kind.from_wire(event))
            if inspect.isawaitable(result):
                await result

    def bind(self, context: C) -> Reader:
        """A reader for `following` that dispatches with this context."""

        async def read(event: Event) -> None:
            await self.dispatch(context, event)

        return read


@contextlib.asynccontextmanager
async def following(bus: EventBus, read: Reader) -> AsyncIterator[None]:
    """While inside, every event published on the bus goes to `read`, in order.

    The subscription is live before the body runs, so nothing published from then on is
    missed; leaving stops the reader and closes the subscription.
    """
    subscription = await bus.subscribe()
    task = asyncio.create_task(_read_all(subscription, read))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await subscription.close()


async def _read_all(subscription: Subscription, read: Reader) -> None:
    backoff = Backoff("event follower")
    while True:
        stop_if_cancelled()
        try:
            async for event in subscription:
                try:
                    await read(event)
                except Exception:  # one bad event must not deafen the reader to the rest
                    log.exception("reading event %s failed", event.get("type"))
            return  # the subscription closed
        except Exception:  # the bus itself failed: listen on once it answers again
            await backoff.failed()
