"""The report as a product manager sees it: opened from the file in a real browser.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright. `make screenshots` keeps
a picture of the same month under docs/, so the report's look can be reviewed.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from insights.contacts import Contact
from insights.page import render_html
from insights.report import VocOptions, build_report
from tests.insights.corpus import THEMES, theme_texts

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MOODS = ["", " Thanks, you were great!", " This is awful and nobody answers.", " Please help."]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


def month_of_contacts(now: datetime) -> list[Contact]:
    """Thirty days on four channels; deliveries surge over the last two days."""
    rng = random.Random(4)
    contacts = []
    for day in range(30):
        surge = day >= 28
        for theme in THEMES:
            per_day = 30 if surge and theme == "delivery" else rng.randint(3, 7)
            for text in theme_texts(theme, per_day, seed=day):
                moment = now - timedelta(days=29 - day, hours=rng.uniform(0, 20))
                contacts.append(
                    Contact(
                        conversation_id=len(contacts) + 1,
                        customer_id=len(contacts) + 1,
                        channel=rng.choice(["email", "chat", "sms", "voice"]),
                        created_at=moment,
                        text=text + rng.choice(MOODS) + " <b>Call me: +1 415 555 0100</b>",
                    )
                )
    return contacts


async def test_the_report_opens_with_its_charts_visible(browser: Browser, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    options = VocOptions(since=now - timedelta(days=30), until=now, n_topics=3)
    report = build_report(month_of_contacts(now), options)
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")

    page = await browser.new_page(viewport={"width": 900, "height": 1400})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("request", lambda request: problems.append(f"fetched {request.url}"))
    await page.goto(path.as_uri())

    await expect(page.get_by_role("heading", name="Voice of the customer")).to_be_visible()
    volume = page.get_by_role("img", name="Contacts per day by channel")
    await expect(volume).to_be_visible()
    assert await volume.locator("polyline.series").count() == 4
    await expect(page.get_by_role("img", name="Contacts per topic")).to_be_visible()
    await expect(page.get_by_text("rising now").first).to_be_visible()
    await expect(page.locator("blockquote").first).to_contain_text("<b>Call me: [phone]</b>")
    assert problems == [f"fetched {path.as_uri()}"]  # nothing else loaded, nothing logged

    await page.close()
