"""The settings page in a real browser: an admin writes the team's business hours, imports
its holidays, attaches them to a queue and edits the phone menu callers hear."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from hub.demo import PHONE_MENU
from hub.models import BusinessHours, Inbox, PhoneMenu
from hub.phone_menu import MAIN_MENU
from tests.agent_console.test_console_browser import XSS_TEXT, browser, sign_in
from tests.support import Hub

__all__ = ["browser"]  # the fixture, shared with the console's browser tests

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//EN\r\n"
    "BEGIN:VEVENT\r\nUID:x@example.test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.mark.parametrize("backend", ["memory"])  # the API tests cover both backends
async def test_an_admin_sets_business_hours_on_a_queue_and_edits_the_phone_menu(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("ada", role="admin")
    async with hub.sessions() as session, session.begin():
        session.add(Inbox(channel="voice", address="+14155550100", name="Phone line"))
        session.add(PhoneMenu(name=MAIN_MENU, menu=PHONE_MENU))
    tab = await sign_in(browser, hub, "ada")
    page = tab.page
    await page.get_by_role("link", name="Admin").click()
    await expect(page).to_have_url(re.compile(r"/console/admin$"))

    # A schedule, named with markup that stays text; a day written wrong is named.
    await page.get_by_role("button", name="Add schedule").click()
    await page.locator("#schedule-name").fill(XSS_TEXT)
    await page.locator("#schedule-timezone").fill("Europe/Berlin")
    await page.locator("#schedule-sat").fill("10-14")
    await page.get_by_role("button", name="Save schedule").click()
    await expect(page.locator("#schedule-error")).to_contain_text('Saturday: "10-14"')
    await page.locator("#schedule-sat").fill("10:00-14:00")
    await page.locator("#schedule-holidays").fill("2026-10-03 Unity Day")
    await page.get_by_role("button", name="Save schedule").click()
    row = page.locator("#schedules tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(XSS_TEXT)
    await expect(row).to_contain_text("Europe/Berlin")

    # Holidays from the calendar file the team publishes.
    await page.locator("#ics-file").set_input_files(
        files=[{"name": "holidays.ics", "mimeType": "text/calendar", "buffer": ICS.encode()}]
    )
    await page.get_by_role("button", name="Import").click()
    await expect(row.locator("td").nth(2)).to_have_text("3")

    # Attached to the phone line's queue.
    await page.locator("#attach-schedule").select_option(label=XSS_TEXT)
    await page.locator("#attach-target").select_option(label="Phone line (voice)")
    await page.get_by_role("button", name="Attach", exact=True).click()
    await expect(row).to_contain_text("Phone line")

    async with hub.sessions() as session:
        stored = await session.scalar(select(BusinessHours))
        inbox = await session.scalar(select(Inbox))
    assert stored is not None and inbox is not None and inbox.schedule_id == stored.id
    assert stored.weekly["sat"] == [{"opens": "10:00:00", "closes": "14:00:00"}]
    assert stored.weekly["mon"] == [{"opens": "09:00:00", "closes": "17:00:00"}]
    assert [h["name"] for h in stored.holidays] == ["Unity Day", "Christmas", "Christmas"]

    # The phone menu: a loans step nobody reaches is refused, then linked from key 2.
    outline = page.locator("#menu-outline")
    await expect(outline).to_contain_text("Press 1 for cards")
    menu = json.loads(await page.locator("#menu-json").input_value())
    menu["steps"]["loans"] = {
        "prompt": "Press 1 for a new loan, 2 for an existing one.",
        "options": [
            {"key": "1", "to": "queue", "queue": "new-loans", "skill": "loans", "min_level": 5},
            {"key": "2", "to": "queue", "queue": "loans"},
        ],
    }
    await page.locator("#menu-json").fill(json.dumps(menu))
    await page.get_by_role("button", name="Save phone menu").click()
    await expect(page.locator("#menu-error")).to_contain_text("no option leads to loans")
    menu["steps"]["main"]["options"][1] = {
        "key": "2",
        "words": ["loan"],
        "to": "step",
        "step": "loans",
    }
    await page.locator("#menu-json").fill(json.dumps(menu))
    await page.get_by_role("button", name="Save phone menu").click()
    await expect(outline.locator('[data-step="loans"]')).to_contain_text("1 → queue new-loans")
    await expect(page.locator("#menu-error")).to_be_empty()

    async with hub.sessions() as session:
        saved = await session.scalar(select(PhoneMenu.menu))
    assert saved is not None and saved["steps"]["loans"]["options"][0]["min_level"] == 5
    assert await page.evaluate("window.__pwned") is None
    assert not [p for p in tab.problems if p.startswith("page error")]
