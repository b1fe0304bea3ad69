"""A past conversation in a real browser: a supervisor opens last month's chat from the
customer's page (read only, no reply box), takes it over, and the record says so."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.agent_console.crm_records import Talk, add_customer
from tests.agent_console.test_console_browser import browser, sign_in
from tests.agent_console.test_conversation_search import _say
from tests.support import Hub

__all__ = ["browser"]


async def test_a_supervisor_takes_over_a_past_conversation(hub: Hub, browser: Browser) -> None:
    nora = await hub.add_agent("nora")
    await hub.add_agent("sam", role="supervisor", capacities={"chat": 2})
    customer = await add_customer(
        hub, "Olga Old", talks=(Talk("chat", "closed", nora, subject="Broken kettle"),)
    )
    await _say(hub, customer, "The kettle still leaks", days_ago=30)

    tab = await sign_in(browser, hub, "sam")
    page = tab.page
    await page.goto(f"{hub.url}/console/customers#customer={customer}")
    await page.get_by_role("button", name="Broken kettle").click()
    past = page.locator("#past")
    await expect(past.locator(".message-text")).to_have_text("The kettle still leaks")
    await expect(past.locator("textarea")).to_have_count(0)  # read only
    await expect(past.get_by_role("button", name="Reopen")).to_be_visible()

    await past.get_by_role("button", name="Take over").click()
    await expect(page.locator("#toast")).to_contain_text("It is yours now")
    await expect(page.locator("#record-conversations li")).to_contain_text("assigned · Sam")
    await expect(past.get_by_role("button", name="Take over")).to_be_hidden()
    taken = page.locator('#record-timeline li[data-kind="conversation.taken_over"]')
    await expect(taken).to_contain_text("Taken over by Sam (closed)")
    assert tab.problems == []
