"""Admins turn satisfaction surveys on and off per channel (voice: a keypad rating as the
call ends); the setting is the default."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from hub.keys import SURVEYS
from hub.models import AuditEntry, Survey
from hub.settings import Settings
from tests.agent_console.test_console_browser import sign_in
from tests.channels.test_sms import accept_next_offer
from tests.conftest import start_hub
from tests.support import AgentClient, ChatCustomer, Hub

PATH = "/api/admin/surveys"


@pytest.fixture
async def hub(settings_for: Settings) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(settings_for, survey_channels="sms")
    async with start_hub(settings, clean=True) as running:
        yield running


async def put(client: AgentClient, body: dict[str, Any]) -> tuple[int, Any]:
    async with client.http.put(PATH.lstrip("/"), json=body) as response:
        return response.status, await response.json()


def enabled(body: dict[str, Any]) -> dict[str, bool]:
    return {c["channel"]: c["enabled"] for c in body["channels"]}


async def test_an_admin_turns_chat_surveys_on_and_closed_chats_then_ask(hub: Hub) -> None:
    await hub.add_agent("root", role="admin")
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    admin, alice = await hub.login("root"), await hub.login("alice")
    visitor = await ChatCustomer.connect(hub, name="Sam")
    try:
        assert enabled(await admin.get(PATH)) == {
            "chat": False,
            "email": False,
            "sms": True,  # from SWITCHBOARD_SURVEY_CHANNELS until an admin chooses
            "whatsapp": False,
            "voice": False,
        }
        status, body = await put(admin, {"channels": {"chat": True, "sms": False}})
        assert status == 200
        assert enabled(body) == {
            "chat": True,
            "email": False,
            "sms": False,
            "whatsapp": False,
            "voice": False,
        }
        assert enabled(await admin.get(PATH)) == enabled(body)

        await visitor.say("Do you ship to Norway?")
        conversation_id = await accept_next_offer(alice)
        status, _ = await alice.post(f"/api/conversations/{conversation_id}/close")
        assert status == 200
        card = await visitor.expect("survey")
        assert card["conversation_id"] == conversation_id

        status, _ = await put(admin, {"channels": {"chat": False}})
        assert status == 200
        await visitor.say("And to Iceland?")
        second = await accept_next_offer(alice)
        status, _ = await alice.post(f"/api/conversations/{second}/close")
        assert status == 200
        assert await hub.app[SURVEYS].ask(second) is None
    finally:
        await visitor.close()
        await admin.close()
        await alice.close()
    async with hub.sessions() as session:
        asked = list(await session.scalars(select(Survey.conversation_id)))
        audit = list(await session.scalars(select(AuditEntry.change).order_by(AuditEntry.id)))
    assert asked == [conversation_id]
    assert {"chat": True, "sms": False} in audit and {"chat": False} in audit


async def test_only_admins_choose_and_only_known_channels(hub: Hub) -> None:
    await hub.add_agent("root", role="admin")
    await hub.add_agent("sue", role="supervisor")
    await hub.add_agent("ann")
    admin, supervisor, agent = [await hub.login(n) for n in ("root", "sue", "ann")]
    try:
        assert enabled(await supervisor.get(PATH))["sms"] is True
        assert (await put(supervisor, {"channels": {"sms": False}}))[0] == 403
        async with agent.http.get(PATH.lstrip("/")) as response:
            assert response.status == 403
        assert (await put(admin, {"channels": {"fax": True}}))[0] == 400
        assert (await put(admin, {"channels": {"sms": "maybe"}}))[0] == 400
        assert enabled(await admin.get(PATH))["sms"] is True
    finally:
        for client in (admin, supervisor, agent):
            await client.close()


async def test_an_admin_turns_email_surveys_on_from_the_settings_page(hub: Hub) -> None:
    await hub.add_agent("root", role="admin")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            tab = await sign_in(browser, hub, "root")
            page = tab.page
            await page.goto(hub.url + "/console/admin")
            section = page.get_by_role("region", name="Satisfaction surveys")
            email = section.get_by_role("checkbox", name="Ask on Email")
            await expect(section.get_by_role("checkbox", name="Ask on SMS")).to_be_checked()
            await expect(email).not_to_be_checked()
            voice = section.get_by_role("checkbox", name="Ask on Voice")
            await expect(voice).not_to_be_checked()
            await email.check()
            await voice.check()  # the keypad rating at the end of a call
            await section.get_by_role("button", name="Save surveys").click()
            await expect(page.locator("#toast")).to_have_text("Surveys saved.")
            await page.reload()
            await expect(
                page.get_by_role("region", name="Satisfaction surveys").get_by_role(
                    "checkbox", name="Ask on Email"
                )
            ).to_be_checked()
        finally:
            await browser.close()
    async with hub.sessions() as session:
        assert await hub.app[SURVEYS].turned_on(session) == {"email", "sms", "voice"}
