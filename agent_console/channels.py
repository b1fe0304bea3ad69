"""GET /api/channels: what each channel this hub runs is like, for the console's pages
(the admin page's capacity fields and channel choices, the reply box's channel names).

The hub declares the channels (`hub.channel_traits`); the pages keep no list of their own.
"""

from __future__ import annotations

from aiohttp import web

from agent_console.auth import requires
from hub.keys import CHANNELS
from hub.models import Agent


def setup(app: web.Application) -> None:
    app.router.add_get("/api/channels", list_channels)


@requires()
async def list_channels(request: web.Request, agent: Agent) -> web.Response:
    """Every registered channel, in the hub's order: name, label, default capacity and
    the rest of its traits."""
    return web.json_response(request.app[CHANNELS].public())
