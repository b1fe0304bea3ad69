"""The console's pages and their static files: `/` and `/console`."""

from __future__ import annotations

from aiohttp import web

from agent_console.auth import ANYONE, page_for
from agent_console.responses import PHONE_PAGE_HEADERS, STATIC, STATIC_ROUTE, page
from hub.auth import REPORTS_PATH
from hub.models import Agent


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/", home)
    r.add_get("/console", console_page)
    r.add_static("/console/static", STATIC, append_version=True, name=STATIC_ROUTE)


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/console")


@page_for(ANYONE)
async def console_page(request: web.Request, agent: Agent) -> web.Response:
    if agent.role == "analyst":  # they read reports, and have no console to work in
        raise web.HTTPSeeOther(REPORTS_PATH)
    return page(request, "console.html", headers=PHONE_PAGE_HEADERS)
