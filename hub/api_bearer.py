"""Who is calling /api/v1: an API token in `Authorization: Bearer`, never a cookie.
Here in `hub` so that every package serving /api/v1 routes (agent_console's, insights'
report) checks tokens the same way.

    @scoped("customers:read")
    async def list_customers(request: web.Request, token: TokenHolder) -> web.Response: ...

Like `agent_console.auth.requires` for agents: 401 without a good token (a revoked one
included), 429 with `Retry-After` past the token's requests per minute, 403 when the
token lacks the scope the route needs. Each scope is its own: `admin` does not stand in
for the others, so a token does exactly what its list says.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from hub.api_tokens import TokenHolder
from hub.keys import API_TOKENS, RATE_LIMITS, SETTINGS

__all__ = ["ANY_TOKEN", "TokenHandler", "scoped"]

R = TypeVar("R", bound=web.StreamResponse)
TokenHandler = Callable[[web.Request, TokenHolder], Awaitable[R]]
Handler = Callable[[web.Request], Awaitable[R]]
ANY_TOKEN = ""  # a route any good token may call
WINDOW = 60.0


def scoped(scope: str) -> Callable[[TokenHandler[R]], Handler[R]]:
    def decorate(handler: TokenHandler[R]) -> Handler[R]:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> R:
            holder = await _holder(request)
            limit = request.app[SETTINGS].api_requests_per_minute
            wait = await request.app[RATE_LIMITS].hit(f"api:{holder.token_id}", limit, WINDOW)
            if wait:
                seconds = max(1, math.ceil(wait))
                raise _refusal(
                    web.HTTPTooManyRequests,
                    f"More than {limit} requests a minute with this token: wait {seconds} s.",
                    {"Retry-After": str(seconds)},
                )
            if scope and scope not in holder.scopes:
                raise _refusal(web.HTTPForbidden, f"This needs a token with the scope {scope}.")
            return await handler(request, holder)

        return guarded

    return decorate


async def _holder(request: web.Request) -> TokenHolder:
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    holder = None
    if kind.lower() == "bearer" and token.strip():
        holder = await request.app[API_TOKENS].holder(token.strip())
    if holder is None:
        raise _refusal(
            web.HTTPUnauthorized,
            "Send a valid API token: Authorization: Bearer <token>.",
            {"WWW-Authenticate": 'Bearer realm="switchboard"'},
        )
    return holder


def _refusal(
    kind: type[web.HTTPError], message: str, headers: dict[str, str] | None = None
) -> web.HTTPError:
    return kind(
        text=json.dumps({"error": message}), content_type="application/json", headers=headers
    )
