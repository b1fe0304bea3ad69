"""Single sign-on: an agent clicks "Sign in with Example ID", signs in at a real OpenID
Connect provider (started by the test on a free port), and comes back signed in to the
console with the role their group maps to. Everything amiss on the way back is refused
with a page saying so, and every attempt is in the audit log with where it came from."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from joserfc.jwk import RSAKey
from playwright.async_api import Browser, expect
from sqlalchemy import select
from yarl import URL

from hub.models import Agent, AuditEntry
from hub.settings import Settings
from tests.agent_console.test_wallboard_browser import chromium
from tests.conftest import start_hub
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from tests.support import Hub

__all__ = ["chromium"]

CALLBACK = "/console/login/sso/callback"


@pytest.fixture
async def provider() -> AsyncIterator[OidcProvider]:
    async with OidcProvider() as running:
        yield running


@pytest.fixture
async def hub(settings_for: Settings, provider: OidcProvider) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(
        settings_for,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_name="Example ID",
        oidc_role_map="cc-admins=admin,cc-supervisors=supervisor,cc-agents=agent",
    )
    async with start_hub(settings, clean=True) as running:
        provider.redirect_uris.append(running.url + CALLBACK)
        yield running


def browser_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in_with_provider(hub: Hub, http: aiohttp.ClientSession) -> tuple[int, str, str]:
    """Click the button and follow every redirect, as a browser does: the status, path
    and text of the page it ends on."""
    async with http.get(hub.url + "/console/login/sso") as response:
        return response.status, response.url.path, await response.text()


async def audit_lines(hub: Hub) -> list[AuditEntry]:
    async with hub.sessions() as session:
        found = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("login.%")).order_by(AuditEntry.id)
        )
        return list(found)


async def role_of(hub: Hub, username: str) -> str:
    async with hub.sessions() as session:
        role = await session.scalar(select(Agent.role).where(Agent.username == username))
        assert role is not None
        return role


async def test_an_agent_signs_in_through_the_provider(hub: Hub, provider: OidcProvider) -> None:
    await hub.add_agent("alice@example.com")
    async with browser_session() as http:
        async with http.get(hub.url + "/console/login") as login:
            assert "Sign in with Example ID" in await login.text()
        status, path, _ = await sign_in_with_provider(hub, http)
        assert (status, path) == (200, "/console")
        async with http.get(hub.url + "/api/me") as me:
            assert (await me.json())["username"] == "alice@example.com"
    (line,) = await audit_lines(hub)
    assert line.action == "login.succeeded" and line.actor == "alice@example.com"
    assert line.change == {"via": "sso", "subject": "u-1001"}
    assert line.address == "127.0.0.1"


async def test_the_role_follows_the_providers_groups_at_each_sign_in(
    hub: Hub, provider: OidcProvider
) -> None:
    await hub.add_agent("Alice@Example.com", role="agent")  # the case of the address differs
    provider.user["roles"] = ["staff", "cc-supervisors", "cc-admins"]
    async with browser_session() as http:
        assert (await sign_in_with_provider(hub, http))[:2] == (200, "/console")
    assert await role_of(hub, "Alice@Example.com") == "admin"  # the strongest mapped role
    assert (await audit_lines(hub))[-1].change["role"] == ["agent", "admin"]

    provider.user["roles"] = "cc-supervisors"  # one group, as a plain string
    async with browser_session() as http:
        assert (await sign_in_with_provider(hub, http))[:2] == (200, "/console")
    assert await role_of(hub, "Alice@Example.com") == "supervisor"

    provider.user["roles"] = ["staff"]  # left the contact-center groups
    async with browser_session() as http:
        status, _, page = await sign_in_with_provider(hub, http)
    assert status == 403 and "not in a group that may use Switchboard" in page
    assert await role_of(hub, "Alice@Example.com") == "supervisor"  # nothing changed
    last = (await audit_lines(hub))[-1]
    assert last.action == "login.failed" and last.actor == "alice@example.com"
    assert last.change == {"via": "sso", "why": "no mapped role"}


@pytest.mark.parametrize("backend", ["memory"])
async def test_a_provider_that_rotates_its_keys_still_signs_agents_in(
    hub: Hub, provider: OidcProvider
) -> None:
    await hub.add_agent("alice@example.com")
    async with browser_session() as http:
        assert (await sign_in_with_provider(hub, http))[:2] == (200, "/console")
    provider.key = RSAKey.generate_key(2048, {"kid": "next"})  # the old one is retired
    async with browser_session() as http:
        assert (await sign_in_with_provider(hub, http))[:2] == (200, "/console")
    assert [line.action for line in await audit_lines(hub)] == ["login.succeeded"] * 2


@pytest.mark.parametrize("backend", ["memory"])
async def test_someone_without_an_agent_is_refused(hub: Hub, provider: OidcProvider) -> None:
    async with browser_session() as http:
        status, _, page = await sign_in_with_provider(hub, http)
        assert status == 403 and "ask an admin to add you" in page
        async with http.get(hub.url + "/api/me") as me:
            assert me.status == 401
    last = (await audit_lines(hub))[-1]
    assert last.change == {"via": "sso", "why": "unknown agent"}


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        ({"nonce": "not-the-one-sent"}, "nonce"),
        ({"foreign_key": True}, "BadSignatureError"),
        ({"expires_in": -300}, "ExpiredTokenError"),
        ({"audience": "another-client"}, "aud"),
    ],
)
@pytest.mark.parametrize("backend", ["memory"])
async def test_a_bent_id_token_is_refused(
    hub: Hub, provider: OidcProvider, tamper: dict[str, Any], why: str
) -> None:
    await hub.add_agent("alice@example.com")
    provider.tamper = dataclasses.replace(provider.tamper, **tamper)
    async with browser_session() as http:
        status, path, page = await sign_in_with_provider(hub, http)
        assert (status, path) == (403, CALLBACK)
        assert "Single sign-on failed" in page
        async with http.get(hub.url + "/api/me") as me:
            assert me.status == 401
    last = (await audit_lines(hub))[-1]
    assert last.action == "login.failed" and last.change["via"] == "sso"
    assert last.change["why"].startswith("ID token refused") and why in last.change["why"]


@pytest.mark.parametrize("backend", ["memory"])
async def test_a_return_with_another_state_is_refused(hub: Hub, provider: OidcProvider) -> None:
    await hub.add_agent("alice@example.com")
    async with browser_session() as http:
        async with http.get(hub.url + "/console/login/sso", allow_redirects=False) as start:
            to_provider = start.headers["Location"]
        async with http.get(to_provider, allow_redirects=False) as consent:
            back = URL(consent.headers["Location"])
        forged = back.update_query(state="guessed")
        async with http.get(forged, allow_redirects=False) as answer:
            assert answer.status == 403
            assert "Single sign-on failed" in await answer.text()
        # The refusal ended the sign-in under way: the genuine answer, late, finds none.
        async with http.get(back, allow_redirects=False) as late:
            assert late.status == 403
    whys = [line.change["why"] for line in await audit_lines(hub)]
    assert whys == ["state does not match", "no sign-in under way (cookie missing)"]


@pytest.mark.parametrize("backend", ["memory"])
async def test_passwords_can_be_turned_off(settings_for: Settings, provider: OidcProvider) -> None:
    settings = dataclasses.replace(
        settings_for,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_role_map="cc-agents=agent",
        password_login=False,
    )
    async with start_hub(settings, clean=True) as hub, browser_session() as http:
        await hub.add_agent("alice@example.com")
        async with http.get(hub.url + "/console/login") as login:
            page = await login.text()
        assert re.search(r'<form method="post" action="/console/login" hidden>', page)
        assert "Sign in with single sign-on" in page
        async with http.post(
            hub.url + "/console/login",
            data={"username": "alice@example.com", "password": "correct horse battery"},
            allow_redirects=False,
        ) as refused:
            assert refused.status == 403
            assert "use single sign-on" in await refused.text()


@pytest.mark.parametrize("backend", ["memory"])
async def test_signing_in_with_the_provider_in_a_browser(
    hub: Hub, provider: OidcProvider, chromium: Browser
) -> None:
    await hub.add_agent("alice@example.com", role="supervisor")
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(hub.url + "/console")
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    await page.get_by_role("link", name="Sign in with Example ID").click()
    await expect(page).to_have_url(re.compile(r"/console$"))
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    assert await role_of(hub, "alice@example.com") == "agent"  # her group says agent
    await context.close()
