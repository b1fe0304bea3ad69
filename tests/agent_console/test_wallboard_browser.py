"""The wallboard in a real browser: a supervisor watches two agents work while customers write in.

Three browser contexts (the supervisor and two agents, each with their own session)
against a real hub; chat customers speak the widget's protocol over real websockets.
Nothing is reloaded: every change reaches each screen over its live socket.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from tests.agent_console.test_console_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    XSS_NAME,
    XSS_TEXT,
    AgentTab,
    sign_in,
)
from tests.agent_console.test_csat import rated
from tests.routing.test_forecast import add_arrivals
from tests.support import ChatCustomer, Hub

WAIT_MS = 10_000

expect.set_options(timeout=WAIT_MS)


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def open_wallboard(browser: Browser, hub: Hub, username: str) -> AgentTab:
    """Sign in to the console, follow its Wallboard link, wait for the live socket."""
    tab = await sign_in(browser, hub, username)
    await tab.page.get_by_role("link", name="Wallboard").click()
    await expect(tab.page).to_have_url(re.compile(r"/console/wallboard$"))
    await expect(tab.page.locator("#connection")).to_have_attribute("data-state", "live")
    await tab.page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    return tab


def agent_row(board: Page, name: str) -> Locator:
    return board.locator("#agents > tr").filter(
        has=board.locator(".agent-name", has_text=re.compile(f"^{re.escape(name)}$"))
    )


async def test_the_wallboard_follows_queues_and_agents_live(hub: Hub, chromium: Browser) -> None:
    await hub.add_agent("alice", skills={"support": 5})
    await hub.add_agent("bob", skills={"support": 3})
    await hub.add_agent("sam", role="supervisor")
    supervisor = await open_wallboard(chromium, hub, "sam")
    board = supervisor.page
    alice = await sign_in(chromium, hub, "alice")
    bob = await sign_in(chromium, hub, "bob")
    await expect(alice.page.get_by_role("link", name="Wallboard")).to_be_hidden()
    await expect(agent_row(board, "Alice").get_by_label("State of Alice")).to_have_value("offline")

    # Nobody is available: the customers wait, and the board counts them and their wait.
    jane = await ChatCustomer.connect(hub, name="Jane Doe")
    await jane.say("My parcel is late")
    omar = await ChatCustomer.connect(hub, name="Omar Haddad")
    await omar.say("Can I change my delivery address?")
    queue = board.locator("#queues > tr")
    await expect(queue).to_have_count(1)
    await expect(queue.locator(".queue-waiting")).to_have_text("2")
    await expect(queue.locator(".badge.channel")).to_have_text("chat")
    await expect(board.locator("#kpi-waiting")).to_have_text("2")
    waited = await queue.locator(".queue-longest").text_content()
    assert waited is not None and re.fullmatch(r"0:\d\d", waited)
    await expect(queue.locator(".queue-longest")).not_to_have_text(waited)  # it ticks

    # Alice becomes available in her console; the board sees her state, then her work.
    await alice.set_status("available")
    alice_row = agent_row(board, "Alice")
    await expect(alice_row).to_have_attribute("data-status", "available")
    await expect(alice_row.locator(".agent-time")).to_have_text(re.compile(r"^0:0\d$"))
    offers = alice.page.locator("#offers > li")
    await expect(offers).to_have_count(2)
    for left in (1, 0):
        await offers.first.get_by_role("button", name="Accept").click()
        await expect(offers).to_have_count(left)
    await expect(alice.page.locator("#conversations > li")).to_have_count(2)
    await expect(board.locator("#queues-empty")).to_be_visible()
    await expect(board.locator("#kpi-waiting")).to_have_text("0")
    await expect(alice_row.locator(".load[data-channel='chat']")).to_have_text("chat 2/3")
    await expect(alice_row.locator(".held-name")).to_have_text(["Jane Doe", "Omar Haddad"])
    await expect(board.locator("#decisions > li").first).to_contain_text("Alice")
    await expect(board.locator("#kpi-asa")).to_have_text(re.compile(r"^\d+\.\d s$"))
    await expect(board.locator("#kpi-service-level")).to_have_text("100 %")

    # The supervisor brings Bob in from the board; Bob's console shows it.
    async with board.expect_response(re.compile(r"/api/supervisor/agents/\d+/status$")) as answer:
        await agent_row(board, "Bob").get_by_label("State of Bob").select_option("available")
    assert (await answer.value).status == 200
    await expect(bob.page.locator("#presence")).to_have_attribute("data-status", "available")
    await expect(agent_row(board, "Bob")).to_have_attribute("data-status", "available")

    # ...and moves Jane from Alice to Bob: it rings on Bob's console and leaves Alice's.
    await alice_row.get_by_label("Reassign Jane Doe to").select_option(label="Bob")
    await alice_row.get_by_role("button", name="Move Jane Doe").click()
    await expect(bob.page.locator("#offers > li")).to_contain_text("Jane Doe")
    await expect(alice.page.locator("#conversations > li")).to_have_count(1)
    await expect(alice.page.locator("#conversations")).not_to_contain_text("Jane Doe")
    await bob.page.locator("#offers > li").get_by_role("button", name="Accept").click()
    await expect(agent_row(board, "Bob").locator(".held-name")).to_have_text("Jane Doe")
    await expect(alice_row.locator(".held-name")).to_have_text("Omar Haddad")

    # The supervisor sets Alice away: her console says so, and she keeps her conversation.
    await alice_row.get_by_label("State of Alice").select_option("away")
    await expect(alice.page.locator("#presence")).to_have_attribute("data-status", "away")
    await expect(alice.page.locator("#presence-hint")).to_have_text(
        "You are away: no new offers will reach you."
    )
    await expect(alice.page.locator("#conversations > li")).to_have_count(1)
    await expect(alice_row).to_have_attribute("data-status", "away")

    # With Bob away too, the next customer waits where the board can see them.
    await agent_row(board, "Bob").get_by_label("State of Bob").select_option("away")
    await expect(bob.page.locator("#presence")).to_have_attribute("data-status", "away")
    lee = await ChatCustomer.connect(hub, name="Lee Chen")
    await lee.say("Is the store open on Sunday?")
    await expect(board.locator("#kpi-waiting")).to_have_text("1")
    await expect(board.locator("#queues > tr .queue-waiting")).to_have_text("1")

    assert await board.evaluate("window.__sameDocument") is True
    for tab in (supervisor, alice, bob):
        assert tab.problems == []
    for customer in (jane, omar, lee):
        await customer.close()


async def test_customer_names_on_the_wallboard_are_text(hub: Hub, chromium: Browser) -> None:
    await hub.add_agent("alice", status="available")
    await hub.add_agent("sam", role="admin")
    supervisor = await open_wallboard(chromium, hub, "sam")
    board = supervisor.page
    alice = await sign_in(chromium, hub, "alice")
    customer = await ChatCustomer.connect(hub, name=XSS_NAME)
    await customer.say("hello")
    await alice.page.locator("#offers > li").get_by_role("button", name="Accept").click()
    held = agent_row(board, "Alice").locator(".held-name")
    await expect(held).to_have_text(XSS_NAME)
    await expect(agent_row(board, "Alice").locator(".reassign-target")).to_have_attribute(
        "aria-label", f"Reassign {XSS_NAME} to"
    )
    assert await board.evaluate("typeof window.__pwned") == "undefined"
    assert await board.locator("body script").count() == 0
    assert supervisor.problems == [] and alice.problems == []
    await customer.close()


async def test_an_agent_opening_the_wallboard_is_told_it_is_for_supervisors(
    hub: Hub, chromium: Browser
) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(chromium, hub, "alice")
    response = await alice.page.goto(hub.url + "/console/wallboard")
    assert response is not None and response.status == 403
    await expect(alice.page.get_by_text("The wallboard is for supervisors.")).to_be_visible()
    await alice.page.get_by_role("link", name="Back to the console").click()
    await expect(alice.page).to_have_url(re.compile(r"/console$"))


async def test_the_wallboard_warns_of_a_queue_about_to_miss_its_service_level(
    hub: Hub, chromium: Browser
) -> None:
    await hub.add_agent("alice", skills={"support": 6}, status="available")
    await hub.add_agent("sam", role="supervisor")
    supervisor = await open_wallboard(chromium, hub, "sam")
    board = supervisor.page
    await expect(board.locator("#outlook-calm")).to_be_visible()
    await expect(board.locator("#outlook > li")).to_have_count(0)

    # A skill named like markup, as a routing rule could set it: shown as text.
    await add_arrivals(hub, XSS_TEXT, 5, per_minute=3, minutes=20, status="abandoned")
    await board.reload()
    warning = board.locator("#outlook > li")
    await expect(warning).to_have_count(1)
    await expect(warning).to_contain_text(f"{XSS_TEXT} will miss 80/20 now;")
    await expect(warning).to_contain_text(f"with {XSS_TEXT} 5 or better would hold it")
    await expect(board.locator("#outlook-calm")).to_be_hidden()
    assert await board.evaluate("typeof window.__pwned") == "undefined"
    assert supervisor.problems == []


async def test_the_wallboard_shows_todays_satisfaction_of_the_team(
    hub: Hub, chromium: Browser
) -> None:
    alice = await hub.add_agent("alice", skills={"support": 5}, team="north")
    bob = await hub.add_agent("bob", team="south")
    await hub.add_agent("sam", role="supervisor", team="north")
    now = datetime.now(UTC)
    for rating, skill in ((5, "support"), (4, "support"), (2, None)):
        await rated(hub, alice, rating, skill=skill, answered=now)
    await rated(hub, alice, 1, answered=now - timedelta(days=2))  # not today
    await rated(hub, bob, 1, answered=now)  # another team's
    board = (await open_wallboard(chromium, hub, "sam")).page

    await expect(board.locator("#csat-answers")).to_have_text("3")
    await expect(board.locator("#csat-share")).to_have_text("67 %")
    await expect(board.locator("#csat-average")).to_have_text("3.67")
    rows = board.locator("#csat-queues > tr")
    await expect(rows).to_have_count(2)
    # Most ratings first.
    await expect(rows.nth(0).locator("td")).to_have_text(["support", "2", "100 %", "4.50"])
    await expect(rows.nth(1).locator("td")).to_have_text(["general", "1", "0 %", "2.00"])
    await expect(board.locator("#csat-empty")).to_be_hidden()

    # A new rating shows with the next refresh of the figures, here a customer writing in.
    await rated(hub, alice, 5, answered=datetime.now(UTC))
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    try:
        await customer.say("Hello?")
        await expect(board.locator("#csat-answers")).to_have_text("4")
        await expect(board.locator("#csat-share")).to_have_text("75 %")
        general = board.locator('#csat-queues > tr[data-key="general"] td')
        await expect(general).to_have_text(["general", "2", "50 %", "3.50"])
    finally:
        await customer.close()
    assert await board.evaluate("window.__sameDocument") is True
