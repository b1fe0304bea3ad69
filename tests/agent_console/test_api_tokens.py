"""API tokens: an admin creates one for an integration, sees it once, and it opens
/api/v1 for its scopes only, until revoked, within its requests per minute."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select

from hub.models import ApiToken
from hub.settings import Settings
from tests.agent_console.api_client import ApiClient, issue_token
from tests.conftest import start_hub
from tests.support import Hub


async def test_a_token_is_shown_once_and_only_its_hash_is_kept(hub: Hub) -> None:
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    status, refused = await sam.post("/api/admin/tokens", {"name": "x", "scopes": ["admin"]})
    assert status == 403, refused
    await sam.close()

    created = await issue_token(hub, ["customers:read", "conversations:read"], name="CRM")
    token = created["token"]
    assert token.startswith("sb_") and len(token) >= 40
    assert created["prefix"] == token[: len(created["prefix"])]
    assert created["scopes"] == ["customers:read", "conversations:read"]
    assert created["last_used_at"] is None and created["revoked_at"] is None

    ada = await hub.login("tokenadmin")
    listed = await ada.get("/api/admin/tokens")
    assert [t["name"] for t in listed] == ["CRM"]
    assert "token" not in listed[0] and token not in str(listed)
    status, bad = await ada.post("/api/admin/tokens", {"name": "x", "scopes": ["everything"]})
    assert (status, bad["field"]) == (400, "scopes.0"), bad
    status, bad = await ada.post("/api/admin/tokens", {"name": "", "scopes": ["admin"]})
    assert (status, bad["field"]) == (400, "name"), bad
    await ada.close()
    async with hub.sessions() as session:
        row = (await session.scalars(select(ApiToken))).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.name, row.prefix, row.token_hash, str(row.scopes))


async def test_a_token_does_what_its_scopes_say_until_it_is_revoked(hub: Hub) -> None:
    created = await issue_token(hub, ["customers:read"])
    api = ApiClient(hub, created["token"])
    try:
        assert (await api.call("GET", "/api/v1/customers"))[0] == 200
        status, body = await api.call("POST", "/api/v1/customers", {"name": "Ann"})
        assert status == 403 and "customers:write" in body["error"]
        assert (await api.call("GET", "/api/v1/conversations"))[0] == 403
        assert (await api.call("GET", "/api/v1/articles"))[0] == 200  # any token reads these

        # Neither a stranger nor an agent's console cookie gets in: only a token does.
        ada = await hub.login("tokenadmin")
        async with ada.http.get("api/v1/customers") as response:
            assert response.status == 401
        async with aiohttp.ClientSession() as stranger:
            for header in ({}, {"Authorization": "Bearer sb_madeup"}, {"Authorization": "x"}):
                async with stranger.get(hub.url + "/api/v1/customers", headers=header) as r:
                    assert r.status == 401
                    assert r.headers["WWW-Authenticate"].startswith("Bearer")

        async with ada.http.delete(f"api/admin/tokens/{created['id']}", json={}) as response:
            assert response.status == 200
            assert (await response.json())["revoked_at"] is not None
        status, body = await api.call("GET", "/api/v1/customers")
        assert status == 401, body
        listed = await ada.get("/api/admin/tokens")
        assert listed[0]["revoked_at"] is not None
        audit = await ada.get("/api/admin/audit?action=token")
        assert [(line["action"], line["actor"]) for line in audit["entries"]] == [
            ("token.revoked", "tokenadmin"),
            ("token.created", "tokenadmin"),
        ]
        await ada.close()
    finally:
        await api.close()


async def test_the_settings_page_shows_when_a_token_was_last_used(hub: Hub) -> None:
    created = await issue_token(hub, ["conversations:read"])
    ada = await hub.login("tokenadmin")
    (before,) = await ada.get("/api/admin/tokens")
    assert before["last_used_at"] is None
    api = ApiClient(hub, created["token"])
    await api.get("/api/v1/queues")
    await api.close()
    (after,) = await ada.get("/api/admin/tokens")
    assert after["last_used_at"] is not None and after["last_used_at"] >= after["created_at"]
    await ada.close()


@pytest.fixture
async def limited_hub(settings_for: Settings) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(settings_for, api_requests_per_minute=3)
    async with start_hub(settings, clean=True) as running:
        yield running


async def test_a_token_past_its_requests_per_minute_is_told_when_to_come_back(
    limited_hub: Hub,
) -> None:
    busy = ApiClient(limited_hub, (await issue_token(limited_hub, ["customers:read"]))["token"])
    calm = ApiClient(limited_hub, (await issue_token(limited_hub, ["customers:read"]))["token"])
    try:
        for _ in range(3):
            assert (await busy.call("GET", "/api/v1/customers"))[0] == 200
        status, body = await busy.call("GET", "/api/v1/customers")
        assert status == 429 and "3 requests a minute" in body["error"]
        assert 1 <= int(busy.last_headers["Retry-After"]) <= 60
        # The limit is the token's own: another integration goes on.
        assert (await calm.call("GET", "/api/v1/customers"))[0] == 200
    finally:
        await busy.close()
        await calm.close()
