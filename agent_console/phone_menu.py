"""The phone menu on the admin page: `GET /api/admin/phone-menu` reads it (null when the
hub has none: callers then wait in the general queue), `PUT` replaces it with a
`hub.phone_menu.PhoneMenu` as JSON, refused with a 400 naming the fault unless every
step is reached and every option leads somewhere. Calls read it afresh, so the next
call hears the change. Admins write; supervisors read.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.responses import json_body
from hub.keys import SESSIONS
from hub.models import Agent, utcnow
from hub.models import PhoneMenu as StoredMenu
from hub.phone_menu import MAIN_MENU, PhoneMenu

__all__ = ["setup"]

READERS = ("admin", "supervisor")
PATH = "/api/admin/phone-menu"


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, read_menu)
    app.router.add_put(PATH, replace_menu)


@requires(READERS)
async def read_menu(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        stored = await session.scalar(select(StoredMenu.menu).where(StoredMenu.name == MAIN_MENU))
    menu = None if stored is None else PhoneMenu.model_validate(stored).model_dump(mode="json")
    return web.json_response({"menu": menu})


@requires(ADMINS)
async def replace_menu(request: web.Request, agent: Agent) -> web.Response:
    menu = PhoneMenu.model_validate(await json_body(request)).model_dump(mode="json")
    async with request.app[SESSIONS]() as session, session.begin():
        stored = await session.scalar(select(StoredMenu).where(StoredMenu.name == MAIN_MENU))
        if stored is None:
            session.add(StoredMenu(name=MAIN_MENU, menu=menu))
        else:
            stored.menu, stored.updated_at = menu, utcnow()
        record(session, request, agent, "phone_menu.replaced", "phone menu")
    return web.json_response({"menu": menu})
