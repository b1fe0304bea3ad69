"""Wrap-up codes: the outcomes admins define and agents close conversations with.

`GET /api/wrap-up-codes` lists them for every signed-in agent, retired ones too (marked),
so a conversation closed with a retired code still reads as its label; the wrap-up form
offers only those in use. Admins manage them on the admin page: `POST
/api/admin/wrap-up-codes` {code, label}, `PATCH /api/admin/wrap-up-codes/{id}` {label,
retired}. Closing checks the code (hub.conversations), so a retired one is refused.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.responses import error, json_body
from hub.api_models.wrap_up import WrapUpCodeChange, WrapUpCodeIn, WrapUpCodeOut
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import Agent, WrapUpCode, utcnow

__all__ = ["setup", "wrap_up_out"]

ITEM = "/api/admin/wrap-up-codes/{code_id:\\d+}"
REFUSAL = "Only admins define wrap-up codes."


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/wrap-up-codes", list_codes)
    r.add_post("/api/admin/wrap-up-codes", create_code)
    r.add_patch(ITEM, update_code)


def wrap_up_out(code: WrapUpCode) -> WrapUpCodeOut:
    return WrapUpCodeOut(
        id=code.id, code=code.code, label=code.label, retired=code.retired_at is not None
    )


@requires()
async def list_codes(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        found = await session.scalars(select(WrapUpCode).order_by(WrapUpCode.id))
        body = [wrap_up_out(c).model_dump() for c in found]
    return web.json_response(body)


@requires(ADMINS, refusal=REFUSAL)
async def create_code(request: web.Request, agent: Agent) -> web.Response:
    given = WrapUpCodeIn.model_validate(await json_body(request))
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            code = WrapUpCode(code=given.code, label=given.label)
            session.add(code)
            await session.flush()
            body = wrap_up_out(code)
            target = f"wrap-up code {code.id}"
            record(session, request, agent, "wrap_up.created", target, given.model_dump())
    except IntegrityError:
        raise BadInput("code", f"there is a wrap-up code {given.code} already.", 409) from None
    return web.json_response(body.model_dump(), status=201)


@requires(ADMINS, refusal=REFUSAL)
async def update_code(request: web.Request, agent: Agent) -> web.Response:
    change = WrapUpCodeChange.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        code = await session.get(WrapUpCode, int(request.match_info["code_id"]))
        if code is None:
            raise error(404, "No such wrap-up code.")
        before = wrap_up_out(code).model_dump(include={"label", "retired"})
        if change.label is not None:
            code.label = change.label
        if change.retired is not None and change.retired != (code.retired_at is not None):
            code.retired_at = utcnow() if change.retired else None
        body = wrap_up_out(code)
        after = body.model_dump(include={"label", "retired"})
        if after != before:
            target = f"wrap-up code {code.id} ({code.code})"
            change_seen = {"before": before, "after": after}
            record(session, request, agent, "wrap_up.updated", target, change_seen)
    return web.json_response(body.model_dump())
