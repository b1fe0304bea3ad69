"""In the console's customer panel: a doubtful match is shown, merged with one click and
the merge undone, in a real browser."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.agent_console.test_console_browser import browser, sign_in  # noqa: F401
from tests.routing.identity.test_intake_identity import known_customers, person
from tests.support import ChatCustomer, Hub


async def test_an_agent_merges_a_possible_match_and_undoes_it(
    hub: Hub,
    browser: Browser,  # noqa: F811
) -> None:
    await known_customers(hub)
    mary = person(40)
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")

    visitor = await ChatCustomer.connect(hub, name=mary["name"])
    await visitor.say("hello, it's about my refund")
    offer = page.locator("#offers > li")
    await offer.get_by_role("button", name="Accept").click()
    await expect(page.locator("#customer-name")).to_have_text(mary["name"])

    possible = page.locator("#customer-possible")
    await expect(possible).to_contain_text(f"Possibly the same as {mary['name']}")
    await expect(possible).to_contain_text(mary["email"])
    await expect(page.locator("#customer-addresses")).not_to_contain_text(mary["email"])
    await possible.get_by_role("button", name="Merge").click()

    await expect(possible).to_contain_text("Merged: both histories are kept.")
    await expect(page.locator("#customer-addresses")).to_contain_text(mary["email"])
    await expect(page.locator("#customer-addresses")).to_contain_text("chat")
    await possible.get_by_role("button", name="Undo merge").click()
    await expect(possible).to_contain_text(f"Possibly the same as {mary['name']}")
    await expect(page.locator("#customer-addresses")).not_to_contain_text(mary["email"])
    assert alice.problems == []
    await visitor.close()
