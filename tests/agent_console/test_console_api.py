"""The console's doors: sign-in, the session cookie, and who may read what."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from hub.auth import COOKIE_NAME
from hub.keys import SETTINGS, SIGNER
from tests.support import PASSWORD, AgentClient, ChatCustomer, Hub, eventually


def browserless(hub: Hub, cookie: str | None = None) -> aiohttp.ClientSession:
    """A plain HTTP client with no session, or with exactly the cookie given."""
    cookies = {COOKIE_NAME: cookie} if cookie is not None else None
    return aiohttp.ClientSession(
        base_url=hub.url + "/", cookie_jar=aiohttp.CookieJar(unsafe=True), cookies=cookies
    )


@pytest.fixture
async def anonymous(hub: Hub) -> AsyncIterator[aiohttp.ClientSession]:
    async with browserless(hub) as client:
        yield client


async def sign_in(
    client: aiohttp.ClientSession, username: str, password: str
) -> aiohttp.ClientResponse:
    async with client.post(
        "console/login",
        data={"username": username, "password": password},
        allow_redirects=False,
    ) as response:
        await response.read()
        return response


async def assigned_chat(hub: Hub, agent: AgentClient) -> dict[str, int]:
    """A chat customer writes and `agent` (available) accepts: the ids an intruder would guess."""
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("My order never arrived")
    offers = await eventually(lambda: agent.get("/api/offers"))
    status, body = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200
    conversation = await agent.get(f"/api/conversations/{body['conversation_id']}")
    await customer.close()
    return {"conversation": conversation["id"], "customer": conversation["customer"]["id"]}


async def test_a_wrong_password_gets_401_and_the_form_with_an_escaped_error(
    hub: Hub, anonymous: aiohttp.ClientSession
) -> None:
    await hub.add_agent("alice")
    response = await sign_in(anonymous, '<b>alice</b>"', PASSWORD)
    assert response.status == 401
    assert response.content_type == "text/html"
    page = await response.text()
    assert '<p class="error" role="alert">Wrong username or password.</p>' in page
    assert 'value="&lt;b&gt;alice&lt;/b&gt;&quot;"' in page
    assert "<b>alice</b>" not in page and "{{" not in page
    assert COOKIE_NAME not in response.cookies

    response = await sign_in(anonymous, "alice", "not the password")
    assert response.status == 401
    assert COOKIE_NAME not in response.cookies


async def test_the_session_cookie_is_http_only_and_same_site_lax(
    hub: Hub, anonymous: aiohttp.ClientSession
) -> None:
    await hub.add_agent("alice")
    response = await sign_in(anonymous, "alice", PASSWORD)
    assert response.status == 303
    assert response.headers["Location"] == "/console"
    (set_cookie,) = [c for c in response.headers.getall("Set-Cookie") if COOKIE_NAME in c]
    attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
    assert "httponly" in attributes
    assert re.search(r";\s*SameSite=Lax", set_cookie, re.IGNORECASE)
    assert re.search(r";\s*Path=/(;|$)", set_cookie)

    async with anonymous.get("api/me") as me:
        assert me.status == 200
        assert (await me.json())["username"] == "alice"

    async with anonymous.post("console/logout", allow_redirects=False) as out:
        assert out.status == 303 and out.headers["Location"] == "/console/login"
    async with anonymous.get("api/me") as me:
        assert me.status == 401


async def test_without_a_session_the_console_sends_you_to_sign_in(
    hub: Hub, anonymous: aiohttp.ClientSession
) -> None:
    async with anonymous.get("console", allow_redirects=False) as page:
        assert page.status == 303
        assert page.headers["Location"] == "/console/login"
    async with anonymous.get("", allow_redirects=True) as home:
        assert home.status == 200 and home.url.path == "/console/login"
        assert 'action="/console/login"' in await home.text()
    async with anonymous.get("api/offers") as api:
        assert api.status == 401
        assert (await api.json()) == {"error": "Log in first."}


async def test_the_live_socket_refuses_a_visitor_without_a_session(
    hub: Hub, anonymous: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await anonymous.ws_connect("console/ws")
    assert refused.value.status == 401


async def test_the_console_page_loads_only_its_own_versioned_assets(
    hub: Hub, anonymous: aiohttp.ClientSession
) -> None:
    await hub.add_agent("alice")
    await sign_in(anonymous, "alice", PASSWORD)
    async with anonymous.get("console") as page:
        assert page.status == 200
        policy = page.headers["Content-Security-Policy"]
        html = await page.text()
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["Cache-Control"] == "no-store"
    assets = re.findall(r'(?:src|href)="(/console/static/[^"]+)"', html)
    # css, common, the page's shared state, one file per panel, the socket, and the
    # softphone: Twilio's Voice SDK (vendored, served by the hub), phone.js, its panel
    assert len(assets) == 22 and all("?v=" in url for url in assets), assets
    assert any("/console/static/vendor/twilio-voice.min.js?v=" in url for url in assets)
    for url in assets:
        async with anonymous.get(url.lstrip("/")) as asset:
            assert asset.status == 200
            assert asset.content_type in ("text/css", "text/javascript", "application/javascript")

    async with anonymous.ws_connect("console/ws") as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["type"] == "hello" and hello["agent"]["username"] == "alice"


async def test_api_posts_must_be_json(hub: Hub, anonymous: aiohttp.ClientSession) -> None:
    await hub.add_agent("alice")
    await sign_in(anonymous, "alice", PASSWORD)
    # A cross-site form can send these content types without CORS; JSON it cannot.
    async with anonymous.post("api/me/status", data={"status": "available"}) as form:
        assert form.status == 415
        assert (await form.json()) == {"error": "Send JSON."}
    async with anonymous.post(
        "api/me/status", data='{"status": "available"}', headers={"Content-Type": "text/plain"}
    ) as plain:
        assert plain.status == 415
    async with anonymous.post(
        "api/me/status", data="{not json", headers={"Content-Type": "application/json"}
    ) as broken:
        assert broken.status == 400
    async with anonymous.post("api/me/status", json={"status": "on holiday"}) as unknown:
        assert unknown.status == 400
    async with anonymous.post("api/me/status", json={"status": "away"}) as fine:
        assert fine.status == 200 and (await fine.json()) == {"status": "away"}


async def test_an_agent_cannot_read_another_agents_conversation_by_guessing(hub: Hub) -> None:
    await hub.add_agent("alice", status="available")
    await hub.add_agent("mallory")
    alice = await hub.login("alice")
    mallory = await hub.login("mallory")
    ids = await assigned_chat(hub, alice)
    conversation, customer = ids["conversation"], ids["customer"]

    not_yours = {"error": "No such conversation for you."}
    for guessed in (conversation, conversation + 1000):
        async with mallory.http.get(f"api/conversations/{guessed}") as read:
            assert read.status == 404 and await read.json() == not_yours
    for guessed in (customer, customer + 1000):
        async with mallory.http.get(f"api/customers/{guessed}/timeline") as timeline:
            assert timeline.status == 404
            assert await timeline.json() == {"error": "No such customer for you."}
    for action, body in (("reply", {"text": "hi"}), ("note", {"text": "hi"}), ("close", {})):
        status, answer = await mallory.post(f"/api/conversations/{conversation}/{action}", body)
        assert status == 404, (action, answer)
    status, _ = await mallory.post(f"/api/conversations/{conversation}/typing")
    assert status == 404
    assert await mallory.get("/api/conversations") == []

    # Alice, whose conversation it is, still reads both.
    assert (await alice.get(f"/api/conversations/{conversation}"))["id"] == conversation
    assert await alice.get(f"/api/customers/{customer}/timeline")
    await alice.close()
    await mallory.close()


def changed(signature: str) -> str:
    """The signature with its first character replaced by another (never the same)."""
    return ("B" if signature[0] == "A" else "A") + signature[1:]


async def test_a_tampered_or_expired_cookie_is_rejected(hub: Hub) -> None:
    alice_id = await hub.add_agent("alice")
    bob_id = await hub.add_agent("bob")
    async with browserless(hub) as client:
        await sign_in(client, "alice", PASSWORD)
        (cookie,) = [c.value for c in client.cookie_jar if c.key == COOKIE_NAME]
    agent_part, issued, secret, signature = cookie.split(":")
    assert int(agent_part) == alice_id

    max_age = hub.app[SETTINGS].session_max_age
    expired = hub.app[SIGNER].issue(alice_id, secret, now=time.time() - max_age - 60)
    unknown = hub.app[SIGNER].issue(alice_id, "a-session-never-started")
    forged = [
        f"{bob_id}:{issued}:{secret}:{signature}",  # someone else's id under alice's signature
        f"{alice_id}:{int(issued) + 3600}:{secret}:{signature}",  # a later issue time
        f"{alice_id}:{issued}:{secret}:{changed(signature)}",  # a changed signature
        f"{alice_id}:{issued}:{secret}:",
        "garbage",
        expired,
        unknown,  # well signed, but no such session on the server
    ]
    for value in forged:
        async with browserless(hub, value) as client:
            async with client.get("api/me") as me:
                assert me.status == 401, value
            async with client.get("console", allow_redirects=False) as page:
                assert page.status == 303, value
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await client.ws_connect("console/ws")

    async with browserless(hub, cookie) as client, client.get("api/me") as me:
        assert me.status == 200 and (await me.json())["id"] == alice_id
