"""The duplicate review page in a real browser: a supervisor compares a proposed pair,
merges it, undoes the merge, and marks another pair as not the same person; names that
are markup stay text. Find duplicates lists the pairs it found."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.agent_console.crm_records import add_customer
from tests.agent_console.test_console_browser import XSS_TEXT, browser, sign_in
from tests.agent_console.test_duplicate_review import _propose
from tests.agent_console.test_duplicate_scan import PEOPLE, TWINS, add_people, mistyped, person
from tests.support import Hub

__all__ = ["browser"]


async def test_a_supervisor_merges_undoes_and_dismisses_pairs(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("sam", role="supervisor")
    known = await add_customer(hub, "John Smith", email="john@example.com", external_id="CRM-1")
    newer = await add_customer(hub, "Jon Smith", email="jon.smith@example.com")
    other = await add_customer(hub, XSS_TEXT, phone="+14155550100")
    other_b = await add_customer(hub, XSS_TEXT, email="x@example.com")
    await _propose(hub, newer, known, 0.95)
    await _propose(hub, other_b, other, 0.6)

    tab = await sign_in(browser, hub, "sam")
    page = tab.page
    await page.get_by_role("link", name="Customers").click()
    await page.get_by_role("link", name="Duplicate review").click()
    pairs = page.locator("#pairs .pair")
    await expect(pairs).to_have_count(2)
    john = pairs.first
    await expect(john.locator(".pair-probability")).to_have_text("95% likely the same")
    await expect(john.locator(f'.pair-side[data-customer="{known}"]')).to_contain_text("CRM-1")
    await expect(john.locator(f'.pair-side[data-customer="{newer}"]')).to_contain_text(
        "jon.smith@example.com"
    )

    await john.get_by_role("button", name="Merge").click()
    await expect(john.locator(".pair-outcome")).to_have_text("Merged into John Smith.")
    await john.get_by_role("button", name="Undo").click()
    await expect(page.locator("#toast")).to_have_text("The two are separate again.")
    await expect(john.get_by_role("button", name="Merge")).to_be_enabled()

    odd = pairs.nth(1)
    await expect(odd.locator(".pair-name").first).to_have_text(XSS_TEXT)
    await odd.get_by_role("button", name="Not the same").click()
    await expect(odd.locator(".pair-outcome")).to_have_text("Marked as not the same person.")

    await page.reload()
    await expect(pairs).to_have_count(1)  # the dismissed pair is no longer proposed
    assert await page.evaluate("window.__pwned") is None
    assert tab.problems == []


async def test_a_supervisor_finds_duplicates_from_the_page(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("sam", role="supervisor")
    tab = await sign_in(browser, hub, "sam")
    page = tab.page
    await page.goto(f"{hub.url}/console/duplicates")
    await expect(page.locator("#pairs-empty")).to_be_visible()
    await page.get_by_role("button", name="Find duplicates").click()
    await expect(page.locator("#scan-error")).to_contain_text(
        "needs at least 50 customers, and there are 0"
    )

    firsts, twins = await add_people(hub, PEOPLE, TWINS)
    await page.get_by_label("At or above probability").fill("0.95")
    await page.get_by_role("button", name="Find duplicates").click()
    await expect(page.locator("#scan-outcome")).to_contain_text("3 added, 0 skipped")
    pairs = page.locator("#pairs .pair")
    await expect(pairs).to_have_count(3)
    twin = pairs.filter(has=page.locator(f'.pair-side[data-customer="{twins[0]}"]'))
    await expect(twin.locator(f'.pair-side[data-customer="{twins[0]}"]')).to_contain_text(
        mistyped(person(0)[0])
    )
    await expect(twin.locator(f'.pair-side[data-customer="{firsts[0]}"]')).to_contain_text(
        person(0)[0]
    )
    assert [p for p in tab.problems if "status of 409" not in p] == []  # the refusal
