"""Custom attributes in a real browser: an admin defines a "Plan" list on the settings
page, an agent sets it on their customer's record, the timeline says who changed it from
what to what, and the directory finds the customer by it."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.agent_console.crm_records import Talk, add_customer
from tests.agent_console.test_console_browser import XSS_TEXT, browser, sign_in
from tests.support import Hub

__all__ = ["browser"]


async def test_an_admin_defines_a_plan_and_an_agent_sets_it(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("ada", role="admin")
    nora = await hub.add_agent("nora")
    await add_customer(hub, "Ines Costa", talks=(Talk("chat", "assigned", nora),))

    admin = await sign_in(browser, hub, "ada")
    page = admin.page
    await page.get_by_role("link", name="Admin").click()
    await expect(page).to_have_url(re.compile(r"/console/admin$"))
    await page.get_by_role("button", name="Add attribute").click()
    form = page.locator("#attribute-form")
    await form.get_by_label("Label", exact=True).fill("Plan")
    await form.get_by_label("Key").fill("plan")
    await form.get_by_label("Kind").select_option("list")
    await form.get_by_label("Options").fill(f"free, gold, {XSS_TEXT}")
    await form.get_by_role("button", name="Save attribute").click()
    row = page.locator('#attribute-list tr[data-attribute="plan"]')
    await expect(row).to_contain_text("List")
    await expect(row).to_contain_text(f"free, gold, {XSS_TEXT}")
    # Renamed: the key stays, the label changes.
    await row.get_by_role("button", name="Edit Plan").click()
    await expect(form.get_by_label("Key")).not_to_be_editable()
    await form.get_by_label("Label", exact=True).fill("Subscription plan")
    await form.get_by_role("button", name="Save attribute").click()
    await expect(row.locator("th")).to_have_text("Subscription plan")

    agent = await sign_in(browser, hub, "nora")
    page = agent.page
    await page.get_by_role("link", name="Customers").click()
    await page.get_by_role("button", name="Search").first.click()
    await page.locator("#results .result").first.click()
    await expect(page.locator("#record-name")).to_have_text("Ines Costa")
    await expect(page.locator('#record-attributes dd[data-attribute="plan"]')).to_have_text("—")
    await page.get_by_text("Edit", exact=True).click()
    edit = page.locator("#edit-form")
    await edit.get_by_label("Subscription plan").select_option("gold")
    await edit.get_by_role("button", name="Save").click()
    await expect(page.locator('#record-attributes dd[data-attribute="plan"]')).to_have_text("gold")
    change = page.locator('#record-timeline li[data-kind="customer.attribute"]')
    await expect(change).to_contain_text("Subscription plan: none → gold")
    await expect(change.locator(".badge")).to_have_text("Nora")

    # The directory finds her by the plan, and not by another.
    search = page.locator("#find-customers")
    await search.get_by_label("Attribute").select_option("plan")
    await search.get_by_label("is", exact=True).fill("free")
    await search.get_by_role("button", name="Search").click()
    await expect(page.locator("#results-empty")).to_have_text("Nothing found.")
    await search.get_by_label("is", exact=True).fill("gold")
    await search.get_by_role("button", name="Search").click()
    await expect(page.locator("#results .result-name")).to_have_text(["Ines Costa"])

    assert await page.evaluate("window.__pwned") is None
    assert admin.problems == [] and agent.problems == []
