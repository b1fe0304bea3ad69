"""A customer's rights in a real browser: an admin downloads everything held on a
customer, then erases them after a warning that names them; the record says "erased"."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.agent_console.crm_records import Talk, add_customer
from tests.agent_console.test_console_browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.support import Hub

expect.set_options(timeout=10_000)


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def test_an_admin_downloads_a_customers_data_then_erases_them(
    hub: Hub, chromium: Browser
) -> None:
    await hub.add_agent("ada", role="admin")
    john = await add_customer(
        hub,
        "John Smith",
        email="john.smith@example.com",
        talks=(Talk("email", "closed", subject="Lost parcel"),),
    )
    tab = await sign_in(chromium, hub, "ada")
    page = tab.page
    await page.goto(f"{hub.url}/console/customers#customer={john}")
    await expect(page.locator("#record-name")).to_have_text("John Smith")
    await expect(page.locator("#record-erased")).to_be_hidden()

    await page.get_by_text("Customer's data", exact=True).click()
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download everything held on this customer").click()
    download = await downloading.value
    archive = await asyncio.to_thread(Path(await download.path()).read_bytes)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        document = json.loads(opened.read("customer.json"))
    assert document["customer"]["name"] == "John Smith"
    assert document["conversations"][0]["subject"] == "Lost parcel"

    erase = page.locator("#erase-form")
    await expect(erase).to_contain_text("Erase John Smith?")
    await erase.get_by_label("Type the word ERASE to confirm").fill("erase")
    await erase.get_by_role("button", name="Erase this customer").click()
    await expect(page.locator("#erase-error")).to_have_text("Type ERASE to confirm.")
    await expect(page.locator("#record-name")).to_have_text("John Smith")

    await erase.get_by_label("Type the word ERASE to confirm").fill("ERASE")
    await erase.get_by_role("button", name="Erase this customer").click()
    await expect(page.locator("#record-erased")).to_be_visible()
    await expect(page.locator("#record-name")).not_to_have_text("John Smith")
    await expect(page.locator("#record-conversations li")).not_to_contain_text("Lost parcel")
    await expect(page.locator("#record-timeline")).to_contain_text("Erased on request")
    await expect(erase).to_be_hidden()
    assert tab.problems == []
