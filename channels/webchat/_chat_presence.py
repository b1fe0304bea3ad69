"""Telling chat visitors when an agent comes online for their widget's inbox, or all go.

Each hub process watches the chat sockets it holds: every presence round it asks, per
inbox, whether an agent could take a chat there now (routing answers, through
`hub.keys.COULD_TAKE`) and tells each socket whose last word differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from channels.webchat import _visitors
from hub.keys import COULD_TAKE, SETTINGS
from hub.loops import keep_running
from hub.sockets import Peer

# Each open chat socket here: its widget's inbox, and whether it was last told that an
# agent is online there.
WATCHED = web.AppKey("chat_watched", dict[Peer, tuple[str, bool]])
log = logging.getLogger(__name__)


def setup(app: web.Application) -> None:
    app[WATCHED] = {}
    app.cleanup_ctx.append(_rounds)


def watch(app: web.Application, peer: Peer, inbox: str, online: bool) -> None:
    """Follow a socket that was just told whether anyone is `online` for `inbox`."""
    app[WATCHED][peer] = (inbox, online)


def forget(app: web.Application, peer: Peer) -> None:
    app[WATCHED].pop(peer, None)


async def _rounds(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_tell(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _tell(app: web.Application) -> None:
    watched = app[WATCHED]

    async def one_round() -> None:
        now = {inbox: False for inbox, _told in watched.values()}
        for inbox in now:
            now[inbox] = await app[COULD_TAKE](_visitors.CHANNEL, inbox)
        for peer, (inbox, told) in list(watched.items()):
            if inbox in now and now[inbox] != told and peer in watched:
                watched[peer] = (inbox, now[inbox])
                peer.send({"type": "presence", "online": now[inbox]})

    interval = app[SETTINGS].presence_interval
    await asyncio.sleep(interval)
    await keep_running("telling chat visitors whether agents are online", one_round, interval)
