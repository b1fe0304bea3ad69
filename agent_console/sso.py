"""Single sign-on for agents: "Sign in with <provider>" sends the browser to the
OpenID Connect provider, and its return signs the matching agent in (hub.oidc).

An agent is the one whose username equals the provider's username claim (by default
the email address, compared without regard to case). Agents are not created here: an
admin adds them, with the skills, team and capacities the provider knows nothing about.
The role, though, is the provider's to say: it is read from the role claim at every
sign-in, and someone whose groups no longer map to a role is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from agent_console.auth import audit_login, login_form, signed_in_response
from hub import audit
from hub.keys import SESSIONS, SETTINGS
from hub.models import Agent
from hub.oidc import CALLBACK_PATH, PENDING_SECONDS, Identity, OidcClient, OidcConfig, SignInRefused

__all__ = ["setup"]

START_PATH = "/console/login/sso"
PENDING_COOKIE = "switchboard_sso"
OIDC = web.AppKey("oidc", OidcClient)


def setup(app: web.Application) -> None:
    config = OidcConfig.from_settings(app[SETTINGS])
    if config is None:
        return

    async def client(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            app[OIDC] = OidcClient(config, http, app[SETTINGS].secret_key)
            yield

    app.cleanup_ctx.append(client)
    app.router.add_get(START_PATH, start)
    app.router.add_get(CALLBACK_PATH, callback)


def redirect_uri(request: web.Request) -> str:
    """Where the provider sends the browser back: as configured, else this hub's
    callback at the address the browser reached it by."""
    configured = request.app[OIDC].config.redirect_uri
    return configured or str(request.url.origin()) + CALLBACK_PATH


async def start(request: web.Request) -> web.Response:
    try:
        url, pending = await request.app[OIDC].start(redirect_uri(request))
    except SignInRefused as refused:
        return await _refuse(request, refused)
    response = web.HTTPSeeOther(url)
    # Lax: the provider's redirect back is a top-level GET, which carries it.
    response.set_cookie(
        PENDING_COOKIE,
        pending,
        httponly=True,
        samesite="Lax",
        secure=request.app[SETTINGS].secure_cookies,
        max_age=PENDING_SECONDS,
        path=START_PATH,
    )
    raise response


async def callback(request: web.Request) -> web.Response:
    client = request.app[OIDC]
    try:
        identity = await client.finish(request.query, request.cookies.get(PENDING_COOKIE))
        agent = await _sign_in(request, identity)
    except SignInRefused as refused:
        return await _refuse(request, refused)
    response = await signed_in_response(request, agent)
    response.del_cookie(PENDING_COOKIE, path=START_PATH)
    raise response


async def _sign_in(request: web.Request, identity: Identity) -> Agent:
    """The active agent the identity names, given the role its claim maps to; the
    sign-in and any change of role are audited together."""
    async with request.app[SESSIONS]() as session, session.begin():
        agent = await session.scalar(
            select(Agent).where(func.lower(Agent.username) == identity.username.lower())
        )
        if agent is None or not agent.active:
            raise SignInRefused(
                "unknown agent" if agent is None else "deactivated",
                "There is no Switchboard agent for your account; ask an admin to add you.",
                identity.username,
            )
        change: dict[str, object] = {"via": "sso", "subject": identity.subject}
        if agent.role != identity.role:
            change["role"] = [agent.role, identity.role]
            agent.role = identity.role
        audit.append(
            session,
            "login.succeeded",
            actor=agent,
            address=request.remote or "",
            change=change,
        )
        return agent


async def _refuse(request: web.Request, refused: SignInRefused) -> web.Response:
    change: dict[str, object] = {"via": "sso", "why": refused.why}
    await audit_login(request, "login.failed", None, refused.username, change)
    response = login_form(request, 403, refused.message)
    response.del_cookie(PENDING_COOKIE, path=START_PATH)
    return response
