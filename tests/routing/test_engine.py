"""The router's loop: it routes on every tick and stops when the hub shuts down."""

from __future__ import annotations

import asyncio

import pytest

from agent_console.keys import OFFERS
from hub.keys import CHANNELS, QUEUE
from routing.engine import Router
from tests.support import Hub


async def test_the_router_stops_when_cancelled_even_as_it_is_woken(hub: Hub) -> None:
    # Shutdown cancels the loop; a wake-up (an event from the bus) can land in the same
    # instant. Swallowing that cancel would leave the hub waiting forever to stop.
    router = Router(hub.sessions, hub.app[QUEUE], hub.app[OFFERS], hub.app[CHANNELS], tick=0.05)
    for _ in range(3):
        running = asyncio.create_task(router.run())
        await asyncio.sleep(0.2)
        router.wake()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(running, 2)
