"""API tokens on the settings page: admins create them (shown once), list them with
when each was last used, and revoke them; both go on the audit log. Integrations use
them on /api/v1."""

from __future__ import annotations

from aiohttp import web

from agent_console.audit import record_done
from agent_console.auth import ADMINS, requires
from agent_console.responses import error, json_body
from hub.api_models.tokens import TokenCreated, TokenIn, TokenOut
from hub.keys import API_TOKENS
from hub.models import Agent, ApiToken

ONE = "/api/admin/tokens/{token_id:\\d+}"


def setup(app: web.Application) -> None:
    app.router.add_get("/api/admin/tokens", list_tokens)
    app.router.add_post("/api/admin/tokens", create_token)
    app.router.add_delete(ONE, revoke_token)


def token_out(row: ApiToken) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=row.scopes,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@requires(ADMINS)
async def list_tokens(request: web.Request, admin: Agent) -> web.Response:
    rows = await request.app[API_TOKENS].listed()
    return web.json_response([token_out(row).model_dump(mode="json") for row in rows])


@requires(ADMINS)
async def create_token(request: web.Request, admin: Agent) -> web.Response:
    given = TokenIn.model_validate(await json_body(request))
    issued = await request.app[API_TOKENS].issue(given.name, list(given.scopes), admin.id)
    target = f"token {issued.row.id} ({issued.row.name})"
    await record_done(request, admin, "token.created", target, {"scopes": issued.row.scopes})
    body = TokenCreated(**token_out(issued.row).model_dump(), token=issued.token)
    return web.json_response(text=body.model_dump_json(), status=201)


@requires(ADMINS)
async def revoke_token(request: web.Request, admin: Agent) -> web.Response:
    row = await request.app[API_TOKENS].revoke(int(request.match_info["token_id"]))
    if row is None:
        raise error(404, "No such token.")
    await record_done(request, admin, "token.revoked", f"token {row.id} ({row.name})")
    return web.json_response(text=token_out(row).model_dump_json())
