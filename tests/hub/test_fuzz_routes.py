"""Whatever a logged-in client sends to any JSON route, the hub answers it: never a 5xx.

Hypothesis writes the bodies (nested, huge numbers, NaN, NUL, lone surrogates, wrong
types) and the ids in the path (including ones beyond the database's range), against a
hub on PostgreSQL and Redis holding a real conversation, so the handlers go past their
first check.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.agent_console.test_wallboard_api import chat_taken_by
from tests.support import AgentClient, Hub

pytestmark = [pytest.mark.parametrize("backend", ["redis"]), pytest.mark.timeout(300)]

# Paths that are not JSON: pages, sockets, files, signed provider webhooks, the login form;
# and /api/v1, which takes a token, not this client's cookie: Schemathesis writes requests
# for it from its OpenAPI document (tests/agent_console/test_api_schema.py).
NOT_JSON = (
    "/console/ws", "/chat/", "/webhooks/", "/console/static", "/console/log", "/api/v1/",
)  # fmt: skip
FIELDS = (
    "text", "status", "agent_id", "skill", "channel", "title", "body", "tags", "questions",
    "state", "message_id", "on", "queue", "name", "role", "team", "skills", "capacities",
    "languages", "password", "active", "address", "min_level", "max_waiting", "max_wait",
    "overflow", "verdict", "disposition", "summary", "labels", "segment", "language",
    "display_name", "username", "shortcut", "conversation_id", "customer_id",
)  # fmt: skip
NUMBERS = st.one_of(
    st.integers(-3, 5),
    st.integers(min_value=2**31, max_value=2**70),
    st.integers(max_value=-(2**31)),
    st.floats(allow_nan=True, allow_infinity=True),
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\x00", "a\ud800b", "\udfff", "", " ", "available", "billing", "x" * 5000]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)
    ),
    max_leaves=12,
)
BODIES = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6),
    VALUES,
    st.integers(1, 300).map(lambda depth: "[" * depth + "]" * depth),  # raw, maybe too deep
)
IDS = st.one_of(st.integers(0, 4), st.integers(2**31 - 1, 2**64))


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {name} placeholders


def json_routes(app: web.Application) -> list[Route]:
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = str(info.get("formatter") or info.get("path") or "")
        if route.method in ("HEAD", "*") or not path or path.startswith(NOT_JSON):
            continue
        if path.startswith("/api/") or route.method != "GET":
            found.append(Route(route.method, path))
    return sorted(set(found), key=lambda r: (r.path, r.method))


@dataclass
class Floor:
    hub: Hub
    admin: AgentClient
    routes: list[Route]
    admins: int = 1

    async def fresh_admin(self) -> None:
        """The last body deactivated, demoted or re-passworded the admin: another one."""
        await self.admin.close()
        self.admins += 1
        await self.hub.add_agent(f"admin{self.admins}", role="admin")
        self.admin = await self.hub.login(f"admin{self.admins}")


@pytest.fixture
async def floor(hub: Hub) -> AsyncIterator[Floor]:
    await hub.add_agent("admin1", role="admin", status="available", skills={"support": 5})
    admin = await hub.login("admin1")
    await chat_taken_by(hub, admin, "Greta Customer")
    floor = Floor(hub, admin, json_routes(hub.app))
    yield floor
    await floor.admin.close()


async def answer(agent: AgentClient, route: Route, ids: list[int], body: Any) -> int:
    path = route.path
    for value in ids:
        if "{" not in path:
            break
        start, end = path.index("{"), path.index("}")
        path = path[:start] + str(value) + path[end + 1 :]
    data = body if isinstance(body, str) else json.dumps(body)
    headers = {"Content-Type": "application/json"}
    method = agent.http.request
    sent = (
        method(route.method, path.lstrip("/"), params={"q": str(body)[:50]})
        if route.method == "GET"
        else method(route.method, path.lstrip("/"), data=data.encode("utf-8", "surrogatepass"),
                    headers=headers)
    )  # fmt: skip
    async with sent as response:
        await response.read()
        return response.status


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ids=st.lists(IDS, min_size=3, max_size=3), body=BODIES)
async def test_no_json_route_answers_a_server_error(
    floor: Floor, ids: list[int], body: Any
) -> None:
    """Each drawn body and set of ids goes to every route, so none is left out."""
    assert len(floor.routes) > 40
    for route in floor.routes:
        status = await answer(floor.admin, route, ids, body)
        assert status < 500, (route, ids, body, status)
        if status in (401, 403):
            await floor.fresh_admin()
