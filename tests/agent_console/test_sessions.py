"""Sessions end on the server: signing out, or a password reset, makes the old cookie
worthless wherever it was copied, and closes the consoles it opened, on every hub."""

from __future__ import annotations

import aiohttp
import pytest

from hub.auth import COOKIE_NAME
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import PASSWORD, AgentClient, Hub


def cookie_of(agent: AgentClient) -> str:
    (value,) = [c.value for c in agent.http.cookie_jar if c.key == COOKIE_NAME]
    return value


async def me_with(hub: Hub, cookie: str) -> int:
    """The status of /api/me for a copy of a cookie, as an attacker holding it would ask."""
    async with (
        aiohttp.ClientSession(headers={"Cookie": f"{COOKIE_NAME}={cookie}"}) as http,
        http.get(hub.url + "/api/me") as response,
    ):
        return response.status


async def sign_out(agent: AgentClient) -> None:
    async with agent.http.post("console/logout", allow_redirects=False) as response:
        assert response.status == 303


async def closed_signed_out(console: aiohttp.ClientWebSocketResponse) -> bool:
    frame = await console.receive(timeout=10)
    while frame.type == aiohttp.WSMsgType.TEXT:  # events already on their way may come first
        frame = await console.receive(timeout=10)
    return frame.type == aiohttp.WSMsgType.CLOSE and frame.data == 4401


async def test_signing_out_ends_that_session_and_no_other(hub: Hub) -> None:
    await hub.add_agent("alice")
    desk, laptop = await hub.login("alice"), await hub.login("alice")
    try:
        copied = cookie_of(desk)
        assert await me_with(hub, copied) == 200
        await sign_out(desk)
        assert await me_with(hub, copied) == 401  # the copy is worth nothing now
        assert (await laptop.get("api/me"))["username"] == "alice"  # her other session holds
        again = await hub.login("alice")
        assert (await again.get("api/me"))["username"] == "alice"
        await again.close()
    finally:
        await desk.close()
        await laptop.close()


@pytest.mark.parametrize("backend", ["redis"])
async def test_signing_out_closes_that_sessions_consoles_on_every_hub(
    settings_for: Settings,
) -> None:
    async with start_hub(settings_for, clean=True) as one, start_hub(settings_for) as two:
        await one.add_agent("alice")
        desk, laptop = await one.login("alice"), await one.login("alice")
        try:
            async with (
                desk.http.ws_connect(two.url + "/console/ws") as desk_console,
                laptop.http.ws_connect(two.url + "/console/ws") as laptop_console,
            ):
                assert (await desk_console.receive_json(timeout=10))["type"] == "hello"
                assert (await laptop_console.receive_json(timeout=10))["type"] == "hello"
                await sign_out(desk)  # on hub one; the consoles are on hub two
                assert await closed_signed_out(desk_console)
                await laptop_console.send_str("ping")  # her other console is still live
                frame = await laptop_console.receive_json(timeout=10)
                while frame["type"] != "pong":
                    frame = await laptop_console.receive_json(timeout=10)
        finally:
            await desk.close()
            await laptop.close()


async def test_a_password_reset_signs_the_agent_out_everywhere(hub: Hub) -> None:
    alice_id = await hub.add_agent("alice")
    await hub.add_agent("ada", role="admin")
    alice, ada = await hub.login("alice"), await hub.login("ada")
    try:
        copied = cookie_of(alice)
        async with alice.http.ws_connect("console/ws") as console:
            assert (await console.receive_json(timeout=10))["type"] == "hello"
            new_password = "a-new-password-for-alice"
            async with ada.http.patch(
                f"api/admin/agents/{alice_id}", json={"password": new_password}
            ) as response:
                assert response.status == 200
            assert await closed_signed_out(console)
        assert await me_with(hub, copied) == 401
        assert (await ada.get("api/me"))["username"] == "ada"  # the admin's own session holds
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                hub.url + "/console/login",
                data={"username": "alice", "password": PASSWORD},
                allow_redirects=False,
            ) as old_password,
        ):
            assert old_password.status == 401
        fresh = await hub.login("alice", new_password)
        assert (await fresh.get("api/me"))["username"] == "alice"
        await fresh.close()
    finally:
        await alice.close()
        await ada.close()
