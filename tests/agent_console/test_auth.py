"""Who may open what: every API route asks for a session, and a page an agent's role may
not open says so on a page in the console's style."""

from __future__ import annotations

import re

import aiohttp
from aiohttp import web

from hub.auth import COOKIE_NAME
from tests.support import AgentClient, Hub

# A route's path parameters, with a value that fits each pattern.
PARAMETER = re.compile(r"\{(\w+)(?::[^{}]*)?\}")
# Routes under /api/ that answer strangers before any agent signs in: none, today.
# What an integrator reads before holding a token: the API's document and reference page.
PUBLIC_API: frozenset[str] = frozenset({"/api/v1/openapi.json", "/api/v1/docs"})


def api_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, a concrete path) for every /api/ route the hub serves."""
    found = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/") and route.method != "HEAD" and path not in PUBLIC_API:
            found.append((route.method, PARAMETER.sub("1", path)))
    return found


async def test_every_api_route_asks_a_stranger_to_log_in_first(hub: Hub) -> None:
    """The console's routes ask for a session; the public /api/v1 ones for a token."""
    routes = api_routes(hub.app)
    assert len(routes) > 40  # the whole console API, not a handful
    assert any(path.startswith("/api/v1/") for _method, path in routes)
    async with aiohttp.ClientSession(base_url=hub.url) as stranger:
        for method, path in routes:
            async with stranger.request(method, path, json={}) as response:
                assert response.status == 401, (method, path)
                wanted = (
                    "Send a valid API token: Authorization: Bearer <token>."
                    if path.startswith("/api/v1/")
                    else "Log in first."
                )
                assert await response.json() == {"error": wanted}, (method, path)


async def test_an_agent_opening_an_admin_page_gets_a_readable_403_page(hub: Hub) -> None:
    await hub.add_agent("alice")
    alice = await hub.login("alice")
    try:
        await see_the_admin_page_refused(alice)
    finally:
        await alice.close()


async def see_the_admin_page_refused(alice: AgentClient) -> None:
    async with alice.http.get("console/admin") as response:
        assert response.status == 403
        assert response.content_type == "text/html"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        page = await response.text()
    assert "<title>Switchboard · Admins only</title>" in page
    assert "The settings page is for admins." in page
    assert '<a class="back" href="/console">Back to the console</a>' in page
    stylesheet = re.search(r'rel="stylesheet" href="/(console/static/console\.css[^"]+)"', page)
    assert stylesheet is not None
    async with alice.http.get(stylesheet.group(1)) as css:
        assert css.status == 200 and ".forbidden" in await css.text()
    # The API behind it still answers in JSON.
    async with alice.http.get("api/admin/agents") as response:
        assert response.status == 403
        assert await response.json() == {"error": "This needs the role admin or supervisor."}


async def test_a_stranger_opening_a_page_is_sent_to_sign_in(hub: Hub) -> None:
    async with aiohttp.ClientSession(base_url=hub.url) as stranger:
        for path in ("/console", "/console/admin", "/console/wallboard"):
            async with stranger.get(path, allow_redirects=False) as response:
                assert response.status == 303, path
                assert response.headers["Location"] == "/console/login"
                assert COOKIE_NAME not in response.cookies
