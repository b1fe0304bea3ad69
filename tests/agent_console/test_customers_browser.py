"""The customers page in a real browser: a supervisor finds a customer by a misspelt name,
reads the whole record, corrects it, leaves a note, and finds an old conversation by a
word in it; customer text stays text throughout."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.agent_console.crm_records import Talk, add_customer
from tests.agent_console.test_console_browser import CHROMIUM, CHROMIUM_ARGS, XSS_TEXT, sign_in
from tests.agent_console.test_conversation_search import _say
from tests.support import Hub

expect.set_options(timeout=10_000)


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def test_a_supervisor_finds_reads_corrects_and_annotates_a_customer(
    hub: Hub, chromium: Browser
) -> None:
    nora = await hub.add_agent("nora")
    await hub.add_agent("sam", role="supervisor")
    john = await add_customer(
        hub,
        "John Smith",
        email="john.smith@example.com",
        phone="+14155550100",
        opted_out=True,
        talks=(Talk("email", "closed", nora, subject="Lost parcel"),),
    )
    await _say(hub, john, f"My parcel never came {XSS_TEXT}", days_ago=20)
    await add_customer(hub, "Anna Smithson", email="anna@example.org")

    tab = await sign_in(chromium, hub, "sam")
    page = tab.page
    await page.get_by_role("link", name="Customers").click()
    await expect(page).to_have_url(re.compile(r"/console/customers$"))

    # A misspelt name finds him; the result shows his addresses and consent.
    await page.get_by_placeholder("Name, phone, email or external id").fill("Jon Smyth")
    await page.get_by_role("button", name="Search").first.click()
    result = page.locator("#results .result").first
    await expect(result.locator(".result-name")).to_have_text("John Smith")
    await expect(result).to_contain_text("+14155550100 (opted out)")
    await result.click()

    await expect(page.locator("#record-name")).to_have_text("John Smith")
    await expect(page.locator("#record-addresses li[data-channel=sms]")).to_contain_text(
        "opted out"
    )
    await expect(page.locator("#record-addresses li[data-channel=email]")).not_to_contain_text(
        "opted out"
    )
    await expect(page.locator("#record-conversations li")).to_contain_text("Lost parcel")

    # The past conversation opens read only, its text as text.
    await page.get_by_role("button", name="Lost parcel").click()
    await expect(page.locator("#past-messages .message-text")).to_have_text(
        f"My parcel never came {XSS_TEXT}"
    )

    # Correct the record; the timeline says who changed what.
    await page.get_by_text("Edit", exact=True).click()
    edit = page.locator("#edit-form")
    await edit.get_by_label("Segment").fill("vip")
    await edit.get_by_label("Labels").fill("Churn risk, wholesale")
    await edit.get_by_role("button", name="Save").click()
    await expect(page.locator("#record-labels li")).to_have_text(["churn risk", "wholesale"])
    await expect(page.locator("#record-segment")).to_have_text("vip")
    changed = page.locator("#record-timeline .timeline-event[data-kind='customer.updated']")
    await expect(changed).to_have_count(2)
    await expect(changed.first).to_contain_text("Sam")
    await expect(changed.first.locator(".timeline-kind")).to_have_text("Record changed")

    # A note on the customer, markup and all, shown as typed.
    await page.get_by_label("Note on the customer").fill(f"Call before noon {XSS_TEXT}")
    await page.get_by_role("button", name="Add note").click()
    note = page.locator("#record-timeline .timeline-event[data-kind='customer.note']")
    await expect(note.locator(".timeline-summary")).to_have_text(f"Call before noon {XSS_TEXT}")

    # Conversation search: the word highlighted, the hit opens the record and conversation.
    await page.get_by_role("tab", name="Conversations").click()
    await page.get_by_placeholder("Words in messages and notes").fill("parcel")
    await page.locator("#find-conversations").get_by_role("button", name="Search").click()
    hit = page.locator("#results .result").first
    await expect(hit.locator("mark")).to_have_text("parcel")
    await expect(hit.locator(".snippet")).to_contain_text(XSS_TEXT)
    await page.locator("#record-name").evaluate("el => { el.textContent = '' }")
    await hit.click()
    await expect(page.locator("#record-name")).to_have_text("John Smith")
    await expect(page.locator("#past")).to_be_visible()

    assert await page.evaluate("window.__pwned") is None
    assert tab.problems == []
    await page.context.close()
