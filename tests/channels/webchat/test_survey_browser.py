"""The rating card in a real browser: a visitor whose chat the agent closed rates it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import select

from hub.models import Survey
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 10_000


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser: Browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
            timeout=30_000,
        )
        context = await browser.new_context(viewport={"width": 1100, "height": 760})
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        yield page
        await browser.close()


@pytest.fixture
async def hub(settings_for: Settings) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(
        settings_for, presence_interval=0.2, smtp_port=0, survey_channels="chat"
    )
    async with start_hub(settings, clean=True) as running:
        yield running


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


async def test_a_visitor_rates_the_chat_the_agent_closed(
    hub: Hub, page: Page, alice: AgentClient
) -> None:
    console = await alice.http.ws_connect("console/ws")  # Alice is online
    await page.goto(hub.url + "/chat/demo")
    await page.get_by_role("button", name="Open chat: Acme Bank support").click()
    chat = page.get_by_role("dialog", name="Acme Bank support")
    await chat.get_by_label("Message").fill("How do I raise my card limit?")
    await chat.get_by_role("button", name="Send", exact=True).click()

    offers = await eventually(lambda: alice.get("/api/offers"))
    status, body = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200
    status, _ = await alice.post(f"/api/conversations/{body['conversation_id']}/close")
    assert status == 200

    card = chat.get_by_role("group", name="Rate this chat")
    await expect(card).to_contain_text("How did we do?")
    send = card.get_by_role("button", name="Send rating")
    await expect(send).to_be_disabled()
    await card.get_by_role("button", name="4 of 5").click()
    await expect(card.get_by_role("button", name="4 of 5")).to_have_attribute(
        "aria-pressed", "true"
    )
    await card.get_by_label("Comment (optional)").fill("Quick, <b>thanks</b>")
    await send.click()
    await expect(card).to_have_text("Thank you for your rating (4 of 5).")
    await console.close()

    async with hub.sessions() as session:
        [survey] = await session.scalars(select(Survey))
    assert (survey.rating, survey.comment) == (4, "Quick, <b>thanks</b>")
