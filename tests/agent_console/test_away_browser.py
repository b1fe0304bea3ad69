"""Away reasons in a real browser: an agent steps away for lunch from the console's top
bar, and the supervisor's wallboard shows it live, with the time in that state."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.agent_console.test_console_browser import sign_in
from tests.agent_console.test_wallboard_browser import agent_row, chromium, open_wallboard
from tests.support import Hub

__all__ = ["chromium"]  # the fixture, shared with the wallboard's browser tests


async def test_an_agent_away_for_lunch_shows_so_on_the_wallboard(
    hub: Hub, chromium: Browser
) -> None:
    await hub.add_agent("alice")
    await hub.add_agent("sam", role="supervisor")
    board = (await open_wallboard(chromium, hub, "sam")).page
    alice = await sign_in(chromium, hub, "alice")
    page = alice.page
    reason = page.get_by_label("Away reason")
    await expect(reason).to_be_hidden()  # offline: nothing to explain

    await alice.set_status("away")
    await expect(reason).to_be_visible()
    async with page.expect_response("**/api/me/status") as answer:
        await reason.select_option("Lunch")
    assert (await answer.value).status == 200
    await expect(page.locator("#presence-hint")).to_contain_text("You are away (Lunch)")

    row = agent_row(board, "Alice")
    await expect(row.get_by_label("State of Alice")).to_have_value("away")
    await expect(row.locator(".away-reason")).to_have_text("Lunch")
    await expect(row.locator(".agent-time")).to_have_text(re.compile(r"^\d+:\d\d$"))

    await alice.set_status("available")
    await expect(reason).to_be_hidden()
    await expect(row.locator(".away-reason")).to_be_hidden()
    assert alice.problems == []
