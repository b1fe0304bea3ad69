"""What clients send that the hub will not take gets a clear 4xx naming the problem, never
a 500: deep JSON, ids beyond the database's range, text PostgreSQL cannot store, windows
beyond the calendar, broken forms."""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.models import Conversation
from hub.settings import Settings
from tests.agent_console.test_wallboard_api import chat_taken_by
from tests.conftest import _sqlite_threads_done, start_hub
from tests.support import PASSWORD, AgentClient, Hub

DEEP = ("[" * 5000 + "]" * 5000).encode()


async def raw_post(agent: AgentClient, path: str, body: bytes) -> tuple[int, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    async with agent.http.post(path.lstrip("/"), data=body, headers=headers) as response:
        return response.status, await response.json()


async def test_deeply_nested_json_is_refused_on_every_json_route(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin", status="available")
    ada = await hub.login("ada")
    conversation = await chat_taken_by(hub, ada, "Greta Customer")
    try:
        for path in (
            "/api/me/status",
            f"/api/conversations/{conversation}/reply",
            f"/api/conversations/{conversation}/transfer",
            f"/api/conversations/{conversation}/seen",
            "/api/admin/agents",
            "/api/knowledge/articles",
            "/api/canned-responses",
        ):
            for body in (DEEP, b'{"text": ' + DEEP + b"}"):
                status, answer = await raw_post(ada, path, body)
                assert status == 400, (path, status, answer)
                assert "nested" in answer["error"]
    finally:
        await ada.close()


async def test_ids_beyond_the_database_range_name_nothing(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin", status="available")
    ada = await hub.login("ada")
    conversation = await chat_taken_by(hub, ada, "Greta Customer")
    huge = 2**40
    try:
        for path in (
            f"/api/conversations/{huge}",
            f"/api/customers/{huge}/timeline",
            f"/api/customers/{huge}/possible",
            f"/api/knowledge/articles/{huge}",
        ):
            async with ada.http.get(path.lstrip("/")) as response:
                assert response.status == 404, path
        status, _ = await ada.post(f"/api/offers/{huge}/accept")
        assert status == 404
        status, answer = await ada.post(
            f"/api/conversations/{conversation}/transfer", {"agent_id": huge}
        )
        assert (status, answer["field"]) == (400, "agent_id")
        status, answer = await ada.post(
            "/api/supervisor/conversations/1/reassign", {"agent_id": -huge}
        )
        assert (status, answer["field"]) == (400, "agent_id")
        async with ada.http.get(f"api/supervisor/routing?conversation_id={huge}") as response:
            assert response.status == 400
    finally:
        await ada.close()


async def test_text_the_database_cannot_store_is_refused_naming_the_field(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin", status="available")
    ada = await hub.login("ada")
    conversation = await chat_taken_by(hub, ada, "Greta Customer")
    try:
        for text in ("nul \x00 inside", "lone \ud800 surrogate"):
            body = ('{"text": "' + text.encode("unicode_escape").decode() + '"}').encode()
            body = body.replace(b"\\x00", b"\\u0000")
            status, answer = await raw_post(ada, f"/api/conversations/{conversation}/reply", body)
            assert (status, answer["field"]) == (400, "text"), answer
            status, answer = await raw_post(
                ada, "/api/knowledge/articles", b'{"title": "ok", "body": "\\u0000"}'
            )
            assert (status, answer["field"]) == (400, "body")
        async with ada.http.get("api/knowledge/search", params={"q": "a\x00b"}) as response:
            assert response.status == 400
        status, answer = await raw_post(ada, "/api/me/status", b'{"status": NaN}')
        assert status == 400
        async with hub.sessions() as session:
            stored = await session.get(Conversation, conversation)
            assert stored is not None and stored.status == "assigned"
    finally:
        await ada.close()


async def test_statistics_and_report_windows_beyond_the_calendar_are_refused(hub: Hub) -> None:
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    try:
        for window in ("inf", "nan", "1e12", "-inf"):
            async with sam.http.get("api/supervisor/stats", params={"window": window}) as response:
                assert response.status == 400, window
                assert (await response.json())["field"] == "window"
        async with sam.http.get("api/supervisor/stats", params={"window": "7200"}) as response:
            assert response.status == 200
        async with sam.http.get("api/reports/voc", params={"since": "3000000d"}) as response:
            assert response.status == 400
            assert "3000000d" in (await response.json())["error"]
    finally:
        await sam.close()


async def test_a_broken_multipart_login_is_a_bad_request(hub: Hub) -> None:
    await hub.add_agent("alice")
    broken = (
        b'--XYZ\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice\r\n'
        b'--XYZ\r\nContent-Disposition: form-data; name="password"\r\n'
    )
    async with aiohttp.ClientSession() as http:
        for content_type, body in (
            ("multipart/form-data; boundary=XYZ", broken),
            ("multipart/form-data", b"no boundary at all"),
            ("application/x-www-form-urlencoded", b"username=alice%00&password=x"),
        ):
            async with http.post(
                hub.url + "/console/login",
                data=body,
                headers={"Content-Type": content_type},
                allow_redirects=False,
            ) as response:
                assert response.status == 400, (content_type, body, response.status)
        # A proper login still works.
        async with http.post(
            hub.url + "/console/login",
            data={"username": "alice", "password": PASSWORD},
            allow_redirects=False,
        ) as response:
            assert response.status == 303


async def test_a_transfer_to_a_skill_that_is_not_a_name_is_refused(hub: Hub) -> None:
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    conversation = await chat_taken_by(hub, alice, "Greta Customer")
    try:
        for skill in (7, ["billing"], {"name": "billing"}, True):
            status, answer = await alice.post(
                f"/api/conversations/{conversation}/transfer", {"skill": skill}
            )
            assert status == 400, (skill, answer)
    finally:
        await alice.close()


@pytest.fixture
async def guarded_hub(settings_for: Settings) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(
        settings_for, metrics_token="scrape-me", public_url="https://hub.example.test"
    )
    async with start_hub(settings, clean=True) as running:
        yield running


async def test_metrics_need_the_token_when_one_is_set(guarded_hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(guarded_hub.url + "/metrics") as response:
            assert response.status == 403
        headers = {"Authorization": "Bearer wrong"}
        async with http.get(guarded_hub.url + "/metrics", headers=headers) as response:
            assert response.status == 403
        headers = {"Authorization": "Bearer scrape-me"}
        async with http.get(guarded_hub.url + "/metrics", headers=headers) as response:
            assert response.status == 200
            assert "switchboard_queue_waiting" in await response.text()


async def test_metrics_without_a_token_answer_this_host_only(settings_for: Settings) -> None:
    outside = _outward_address()
    app = create_app(settings_for)
    server = TestServer(app, host="0.0.0.0", shutdown_timeout=5)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{server.port}/metrics") as response:
                assert response.status == 200
            async with http.get(f"http://{outside}:{server.port}/metrics") as response:
                assert response.status == 403
    finally:
        await server.close()
        await _sqlite_threads_done()


def _outward_address() -> str:
    """This machine's address on its network (what another host would reach)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("203.0.113.1", 9))  # only picks a route: a UDP connect sends nothing
        address = str(probe.getsockname()[0])
    assert not address.startswith("127."), "the test needs an address other than loopback"
    return address


async def test_the_session_cookie_is_secure_when_the_hub_is_reached_over_https(
    guarded_hub: Hub,
) -> None:
    await guarded_hub.add_agent("alice")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            guarded_hub.url + "/console/login",
            data={"username": "alice", "password": PASSWORD},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
            (cookie,) = response.headers.getall("Set-Cookie")
    assert re.search(r";\s*Secure(;|$)", cookie, re.IGNORECASE)
