"""Guessing passwords: past a few wrong ones per account, or many from one address, the
login answers 429 with Retry-After until the lockout ends, on every hub process alike."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import pytest

from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import PASSWORD, Hub


async def log_in(hub: Hub, username: str, password: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            hub.url + "/console/login",
            data={"username": username, "password": password},
            allow_redirects=False,
        ) as response,
    ):
        return response.status, response.headers.get("Retry-After", ""), await response.text()


@pytest.fixture
def guarded(settings_for: Settings) -> Settings:
    return dataclasses.replace(
        settings_for, login_failures_per_account=3, login_failures_per_address=12, login_lockout=60
    )


@pytest.fixture
async def hub(guarded: Settings) -> AsyncIterator[Hub]:
    async with start_hub(guarded, clean=True) as running:
        yield running


async def test_wrong_passwords_lock_the_account_for_a_while(hub: Hub) -> None:
    await hub.add_agent("alice")
    for _ in range(3):
        status, _, _ = await log_in(hub, "alice", "not her password")
        assert status == 401
    status, retry_after, page = await log_in(hub, "alice", PASSWORD)
    assert status == 429 and 1 <= int(retry_after) <= 60
    assert "Too many wrong passwords" in page
    # Unknown usernames are counted the same way: nothing tells them apart.
    for _ in range(3):
        assert (await log_in(hub, "nobody", "guess"))[0] == 401
    assert (await log_in(hub, "nobody", "guess"))[0] == 429

    # A successful login forgets the account's failures.
    await hub.add_agent("bob")
    for _ in range(2):
        assert (await log_in(hub, "bob", "typo"))[0] == 401
    assert (await log_in(hub, "bob", PASSWORD))[0] == 303
    for _ in range(2):
        assert (await log_in(hub, "bob", "typo"))[0] == 401
    assert (await log_in(hub, "bob", PASSWORD))[0] == 303


async def test_one_address_cannot_try_many_accounts(hub: Hub) -> None:
    names = [f"agent{n}" for n in range(7)]
    for name in names:
        await hub.add_agent(name)
    for name in names[:6]:
        for _ in range(2):
            assert (await log_in(hub, name, "wrong"))[0] == 401
    status, retry_after, _ = await log_in(hub, names[6], PASSWORD)
    assert status == 429 and int(retry_after) >= 1


@pytest.mark.parametrize("backend", ["redis"])
async def test_the_count_is_shared_by_hub_processes(guarded: Settings) -> None:
    async with start_hub(guarded, clean=True) as one, start_hub(guarded) as two:
        await one.add_agent("alice")
        for hub in (one, two, one):
            assert (await log_in(hub, "alice", "wrong"))[0] == 401
        assert (await log_in(two, "alice", PASSWORD))[0] == 429


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_deactivated_agents_open_console_closes_on_every_hub(guarded: Settings) -> None:
    async with start_hub(guarded, clean=True) as one, start_hub(guarded) as two:
        alice_id = await one.add_agent("alice")
        await one.add_agent("ada", role="admin")
        alice, ada = await two.login("alice"), await one.login("ada")
        try:
            async with alice.http.ws_connect("console/ws") as console:
                assert (await console.receive_json(timeout=10))["type"] == "hello"
                async with ada.http.patch(
                    f"api/admin/agents/{alice_id}", json={"active": False}
                ) as response:
                    assert response.status == 200
                frame = await console.receive(timeout=10)
                while frame.type == aiohttp.WSMsgType.TEXT:  # told why first, then closed
                    assert frame.json()["type"] == "agent.state"
                    frame = await console.receive(timeout=10)
                assert frame.type == aiohttp.WSMsgType.CLOSE and frame.data == 4401
            async with alice.http.get("api/me") as response:
                assert response.status == 401
        finally:
            await alice.close()
            await ada.close()
