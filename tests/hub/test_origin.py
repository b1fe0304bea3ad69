"""A page on another site, even another port of the same host, cannot act with an
agent's cookie: state-changing requests and both websockets check the Origin."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest
import websockets
from aiohttp import WSServerHandshakeError

from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import AgentClient, Hub

EVIL = "https://evil.example"


async def article(admin: AgentClient) -> int:
    status, created = await admin.post(
        "/api/knowledge/articles", {"title": "Card declined", "body": "Check the daily limit."}
    )
    assert status == 201, created
    return int(created["id"])


async def archive(admin: AgentClient, article_id: int, origin: str | None) -> int:
    headers = {"Origin": origin} if origin else {}
    path = f"api/knowledge/articles/{article_id}/archive"
    async with admin.http.post(path, headers=headers) as response:
        return response.status


async def test_a_request_without_a_body_from_another_site_is_refused(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        article_id = await article(ada)
        other_port = hub.url.rsplit(":", 1)[0] + ":1"  # the same host, another port
        assert await archive(ada, article_id, EVIL) == 403
        assert await archive(ada, article_id, other_port) == 403
        assert await archive(ada, article_id, "null") == 403
        async with ada.http.post(
            f"api/knowledge/articles/{article_id}/archive",
            headers={"Referer": EVIL + "/page.html"},
        ) as response:
            assert response.status == 403
        still = await ada.get(f"/api/knowledge/articles/{article_id}")
        assert still["state"] == "published"
        # The console's own page, and a client naming no page at all, go on.
        assert await archive(ada, article_id, hub.url) == 200
    finally:
        await ada.close()


async def test_offers_and_merges_from_another_site_are_refused(hub: Hub) -> None:
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    try:
        for path in (
            "api/offers/1/accept",
            "api/offers/1/reject",
            "api/customer-links/1/merge",
            "api/customer-links/1/dismiss",
            "api/merges/1/undo",
            "console/logout",
        ):
            async with alice.http.post(
                path, headers={"Origin": EVIL}, allow_redirects=False
            ) as response:
                assert response.status == 403, path
    finally:
        await alice.close()


async def test_the_console_socket_refuses_another_sites_page(hub: Hub) -> None:
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    try:
        with pytest.raises(WSServerHandshakeError) as refused:
            await sam.http.ws_connect("console/ws", headers={"Origin": EVIL})
        assert refused.value.status == 403
        async with sam.http.ws_connect("console/ws", headers={"Origin": hub.url}) as ws:
            hello = await ws.receive_json(timeout=10)
            assert hello["type"] == "hello"
    finally:
        await sam.close()


@pytest.fixture
async def shop_hub(settings_for: Settings) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(settings_for, chat_origins="https://shop.example")
    async with start_hub(settings, clean=True) as running:
        yield running


async def test_the_chat_socket_takes_the_hub_and_the_sites_it_is_embedded_on(
    shop_hub: Hub,
) -> None:
    url = shop_hub.ws_url + "/chat/ws"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(url, origin=websockets.Origin(EVIL))
    assert refused.value.response.status_code == 403
    for origin in ("https://shop.example", shop_hub.url):
        async with websockets.connect(url, origin=websockets.Origin(origin)) as ws:
            await ws.send(json.dumps({"type": "hello"}))
            assert json.loads(await ws.recv())["type"] == "welcome"
