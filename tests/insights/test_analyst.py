"""The analyst role: product teams read the voice-of-customer report, as a page or as
data, and nothing else the hub holds — no conversations, customers, queues or live events."""

from __future__ import annotations

import aiohttp
import pytest

from tests.insights.test_report import HOSTILE, stored_corpus
from tests.support import Hub


async def test_an_analyst_signs_in_and_lands_on_the_report_page(hub: Hub) -> None:
    await stored_corpus(hub)
    await hub.add_agent("pat", role="analyst")
    pat = await hub.login("pat")
    try:
        async with pat.http.get("console") as response:
            assert response.status == 200
            assert response.url.path == "/console/reports"  # sent on from the console
            page = await response.text()
            csp = response.headers["Content-Security-Policy"]
        assert page.startswith("<!doctype html>") and page.count("<svg") >= 3
        assert "37 contacts · topics:" in page
        assert HOSTILE not in page and "<script>alert" not in page
        assert "script-src" not in csp and "default-src 'none'" in csp  # no script runs

        data = await pat.get("/api/reports/voc?since=30d&topics=3")
        assert data["contacts"] == 37
    finally:
        await pat.close()


@pytest.mark.parametrize(
    "path",
    [
        "/api/me",
        "/api/conversations",
        "/api/customers?q=jane",
        "/api/supervisor/agents",
        "/api/admin/agents",
        "/api/channels",
    ],
)
async def test_an_analyst_reads_nothing_but_reports(hub: Hub, path: str) -> None:
    await hub.add_agent("pat", role="analyst")
    pat = await hub.login("pat")
    try:
        async with pat.http.get(path.lstrip("/")) as response:
            assert response.status == 403, path
        async with pat.http.get("console/customers") as response:
            assert response.status == 403  # the page says it is not for them
        async with pat.http.post("api/me/status", json={"status": "available"}) as response:
            assert response.status == 403  # never offered work
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await pat.http.ws_connect("console/ws")
        assert refused.value.status == 403
    finally:
        await pat.close()


async def test_the_report_page_sends_strangers_to_sign_in_and_tells_agents_no(
    hub: Hub,
) -> None:
    await hub.add_agent("ann", role="agent")
    async with aiohttp.ClientSession() as stranger:
        async with stranger.get(hub.url + "/console/reports", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/console/login"
    ann = await hub.login("ann")
    try:
        async with ann.http.get("console/reports") as response:
            assert response.status == 403
            assert "analysts" in (await response.json())["error"]
    finally:
        await ann.close()


async def test_analysts_are_not_on_the_wallboard(hub: Hub) -> None:
    await hub.add_agent("pat", role="analyst")
    await hub.add_agent("alice")
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    try:
        names = {agent["name"] for agent in await sam.get("/api/supervisor/agents")}
    finally:
        await sam.close()
    assert "Alice" in names and "Pat" not in names
