"""Who is asking: sign-in and sign-out, the session cookie, and the role each route needs.

Every console route that needs a signed-in agent says so with one decorator, and this
module is the only place that reads the session:

    @requires()                                  # any signed-in agent
    async def me(request: web.Request, agent: Agent) -> web.Response: ...

    @requires(ADMINS)                            # 403 "This needs the role admin."
    @requires(SUPERVISORS, refusal="Supervisors only.")
    @page_for(ADMINS, "Admins only", "The settings page is for admins.")

Why a decorator and not an aiohttp middleware: the role a route needs then sits on the
handler that relies on it, readable at a glance, and the handler receives the `Agent` as
an argument, so it cannot act for someone it did not authenticate (mypy holds that: an
undecorated `(request, agent)` handler does not fit the router). A middleware would need
a second table from routes to roles kept in step with the routes, and the refusals differ
per resource (their JSON bodies are part of the API). What a middleware would give, one
pass over every request, the decorator gives too: it wraps every agent route, so checks
still to come on sessions or cross-site requests go into `current_agent` and `requires`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from sqlalchemy import select

from agent_console.responses import error, forbidden_page, page
from hub import audit
from hub.auth import COOKIE_NAME, LOGIN_PATH, check_password
from hub.events import SessionsEnded
from hub.inputs import read_form
from hub.keys import AGENT_SESSIONS, BUS, RATE_LIMITS, SESSIONS, SETTINGS
from hub.login_guard import LoginGuard
from hub.models import Agent
from hub.sessions import SignedIn

__all__ = [
    "ADMINS",
    "ANYONE",
    "CONSOLE",
    "SUPERVISORS",
    "audit_login",
    "current_agent",
    "login_form",
    "page_for",
    "requires",
    "setup",
    "signed_in_response",
    "signed_in_session",
]

ADMINS = ("admin",)
SUPERVISORS = ("supervisor", "admin")
# Everyone who works in the console: an analyst reads reports and nothing else
# (insights.web), so a route open to "any signed-in agent" is still closed to them.
CONSOLE = ("agent", "supervisor", "admin")
ANYONE = (*CONSOLE, "analyst")
LOGIN = LOGIN_PATH
R = TypeVar("R", bound=web.StreamResponse)
AgentHandler = Callable[[web.Request, Agent], Awaitable[R]]
Handler = Callable[[web.Request], Awaitable[R]]


def setup(app: web.Application) -> None:
    app.router.add_get(LOGIN, login_page)
    app.router.add_post(LOGIN, login)
    app.router.add_post("/console/logout", logout)


async def current_agent(request: web.Request) -> Agent | None:
    """The signed-in agent, if the session cookie's session still holds (not signed out,
    not ended by a password reset) and the agent is still active."""
    signed_in = await signed_in_session(request)
    return signed_in.agent if signed_in is not None else None


async def signed_in_session(request: web.Request) -> SignedIn | None:
    """The agent and session the request's cookie names, if that session holds."""
    return await request.app[AGENT_SESSIONS].signed_in(request.cookies.get(COOKIE_NAME))


def requires(
    roles: tuple[str, ...] | None = None, refusal: str | None = None
) -> Callable[[AgentHandler[R]], Handler[R]]:
    """An API route for signed-in agents (of `roles`; if not given, of the console's
    roles): 401 for strangers, 403 with `refusal` (or the roles needed) for others, as
    JSON."""
    allowed = CONSOLE if roles is None else roles

    def decorate(handler: AgentHandler[R]) -> Handler[R]:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> R:
            agent = await current_agent(request)
            if agent is None:
                raise error(401, "Log in first.")
            if agent.role not in allowed:
                raise error(403, refusal or f"This needs the role {' or '.join(allowed)}.")
            return await handler(request, agent)

        return guarded

    return decorate


def page_for(
    roles: tuple[str, ...] | None, title: str = "", reason: str = ""
) -> Callable[[AgentHandler[R]], Handler[R | web.Response]]:
    """A page for signed-in agents (of `roles`; if not given, of the console's roles):
    strangers go to the sign-in, others get a 403 page saying `reason`, with the way back
    to the console."""
    allowed = CONSOLE if roles is None else roles

    def decorate(handler: AgentHandler[R]) -> Handler[R | web.Response]:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> R | web.Response:
            agent = await current_agent(request)
            if agent is None:
                raise web.HTTPSeeOther(LOGIN)
            if agent.role not in allowed:
                return forbidden_page(request, title, reason)
            return await handler(request, agent)

        return guarded

    return decorate


async def login_page(request: web.Request) -> web.Response:
    return login_form(request)


def login_form(
    request: web.Request, status: int = 200, error: str = "", username: str = ""
) -> web.Response:
    """The sign-in page: the password form unless passwords are turned off, and the
    single sign-on button when a provider is configured."""
    settings = request.app[SETTINGS]
    return page(
        request,
        "login.html",
        status=status,
        error=error,
        username=username[:64],
        sso_hidden="" if settings.oidc_issuer else "hidden",
        sso_name=settings.oidc_name,
        password_hidden="" if settings.password_login else "hidden",
    )


async def login(request: web.Request) -> web.Response:
    form = await read_form(request)
    username = form.get("username", "").strip()
    password = form.get("password", "")
    if not request.app[SETTINGS].password_login:
        await audit_login(request, "login.failed", None, username, {"why": "passwords are off"})
        return login_form(request, 403, "Passwords are turned off here: use single sign-on.")
    guard = login_guard(request.app)
    address = request.remote or ""
    wait = await guard.wait(address, username)
    if wait:
        seconds = math.ceil(wait)
        refused = login_form(
            request, 429, f"Too many wrong passwords: try again in {seconds} s.", username
        )
        refused.headers["Retry-After"] = str(seconds)
        await audit_login(request, "login.refused", None, username, {"retry_after": seconds})
        return refused
    async with request.app[SESSIONS]() as session:
        agent = await session.scalar(select(Agent).where(Agent.username == username))
    # Checked whoever it is (a throwaway hash for nobody), so the time tells nothing.
    known = agent.password_hash if agent is not None and agent.active else None
    verified = await check_password(known, password)
    if agent is None or not verified:
        await guard.failed(address, username)
        why = "unknown username" if agent is None else "wrong password"
        if agent is not None and not agent.active:
            why = "deactivated"
        await audit_login(request, "login.failed", agent, username, {"why": why})
        return login_form(request, 401, "Wrong username or password.", username)
    await guard.succeeded(username)
    await audit_login(request, "login.succeeded", agent, username, {})
    raise await signed_in_response(request, agent)


async def signed_in_response(request: web.Request, agent: Agent) -> web.HTTPSeeOther:
    """To the console, with the cookie of a new session for `agent`."""
    response = web.HTTPSeeOther("/console")
    settings = request.app[SETTINGS]
    response.set_cookie(
        COOKIE_NAME,
        await request.app[AGENT_SESSIONS].start(agent.id),
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        max_age=settings.session_max_age,
        path="/",
    )
    return response


async def audit_login(
    request: web.Request, action: str, agent: Agent | None, username: str, change: dict[str, object]
) -> None:
    """One line for a sign-in or a refused one, with the client's address."""
    async with request.app[SESSIONS]() as session, session.begin():
        audit.append(
            session,
            action,
            actor=agent,
            actor_name=username[:64],
            address=request.remote or "",
            change=change,
        )


def login_guard(app: web.Application) -> LoginGuard:
    settings = app[SETTINGS]
    return LoginGuard(
        app[RATE_LIMITS],
        settings.login_failures_per_account,
        settings.login_failures_per_address,
        settings.login_lockout,
    )


async def logout(request: web.Request) -> web.Response:
    """Ends this session on the server (the cookie stops working wherever it was
    copied) and closes the consoles it opened, on whichever hub process holds them."""
    agent_id = await request.app[AGENT_SESSIONS].end(request.cookies.get(COOKIE_NAME))
    if agent_id is not None:
        await request.app[BUS].publish(SessionsEnded(agent_id=agent_id))
    response = web.HTTPSeeOther(LOGIN)
    response.del_cookie(COOKIE_NAME, path="/")
    raise response
