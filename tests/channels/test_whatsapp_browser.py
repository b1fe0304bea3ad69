"""WhatsApp's closed window in a real browser: the console says when the window closed
and why only a template can go, offers the approved templates (their text shown as
text, never as markup), and sends the chosen one with its variables through Twilio's
Messages API as a ContentSid."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import update

from hub.models import Message, utcnow
from hub.settings import Settings
from tests.agent_console.test_console_browser import browser, sign_in
from tests.channels.test_whatsapp import CONTENT_SID, CUSTOMER, WhatsApp, stored
from tests.channels.twilio_side import MessagesApi, with_twilio
from tests.conftest import start_hub
from tests.support import Hub

__all__ = ["browser"]  # the fixture, shared with the console's browser tests

BODY = "Hi {{1}}, about <b>{{2}}</b>: may we continue?"


@pytest.fixture
async def hub(settings_for: Settings, twilio: tuple[MessagesApi, str]) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(with_twilio(settings_for, twilio[1]), smtp_port=0)
    async with start_hub(settings, clean=True) as running:
        twilio[0].hub_url = running.url
        yield running


async def test_a_closed_window_offers_the_templates_and_sends_one(
    hub: Hub, browser: Browser, twilio: tuple[MessagesApi, str]
) -> None:
    messages = twilio[0]
    messages.contents[CONTENT_SID] = BODY
    await hub.add_agent("root", role="admin")
    root = await hub.login("root")
    template = {"name": "follow_up", "content_sid": CONTENT_SID, "language": "en", "body": BODY}
    status, created = await root.post("/api/admin/whatsapp-templates", template)
    assert status == 201, created
    await root.close()

    await hub.add_agent("alice", skills={"support": 5})
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")
    await WhatsApp(hub).message("Is my refund through?")
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()
    await expect(page.get_by_role("textbox", name="Reply")).to_be_focused()
    await expect(page.locator("#reply-window")).to_be_hidden()  # open for 24 hours

    last = utcnow() - timedelta(hours=26)
    async with hub.sessions() as session, session.begin():
        await session.execute(update(Message).values(created_at=last))
    await page.reload()
    notice = page.locator("#reply-window-why")
    await expect(notice).to_contain_text("The WhatsApp window closed at")
    await expect(notice).to_contain_text(
        "(24 h after the customer's last message); only an approved template can be sent."
    )
    shown = await page.evaluate(
        "iso => new Date(iso).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})",
        (last + timedelta(hours=24)).isoformat(),
    )
    await expect(notice).to_contain_text(f"closed at {shown} (")

    await page.get_by_label("Template").select_option(label="follow_up (en)")
    await expect(page.locator("#template-preview")).to_have_text(BODY)
    await page.get_by_label("{{1}}").fill("Ana")
    await page.get_by_label("{{2}}").fill("order <i>7</i>")
    preview = "Hi Ana, about <b>order <i>7</i></b>: may we continue?"
    await expect(page.locator("#template-preview")).to_have_text(preview)
    assert await page.locator("#template-preview b, #template-preview i").count() == 0
    await page.get_by_role("button", name="Send template").click()

    await expect(page.locator("#messages")).to_contain_text(preview)
    [request] = messages.requests
    assert request["form"]["ContentSid"] == [CONTENT_SID]
    assert json.loads(request["form"]["ContentVariables"][0]) == {
        "1": "Ana",
        "2": "order <i>7</i>",
    }
    assert request["form"]["To"] == [f"whatsapp:{CUSTOMER}"] and "Body" not in request["form"]
    assert (await stored(hub))[-1].text == preview
    assert alice.problems == []


async def test_an_admin_lists_edits_and_deletes_a_template_on_the_settings_page(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("ada", role="admin")
    admin = await sign_in(browser, hub, "ada")
    page = admin.page
    await page.goto(hub.url + "/console/admin#wa-templates-section")
    await expect(page.locator("#wa-template-empty")).to_be_visible()
    await page.get_by_role("button", name="Add WhatsApp template").click()
    form = page.locator("#wa-template-form")
    await form.get_by_label("Name").fill("<img src=x onerror=alert(1)>")
    # The browser's own check passes a SID of the right shape; the hub checks it again.
    await form.get_by_label("Content SID").fill("HX" + "z" * 32)
    await form.get_by_label("Language").fill("pt_BR")
    await form.get_by_label("Body").fill("Olá {{1}}, <b>tudo bem</b>?")
    await page.evaluate("document.getElementById('wa-template-form').noValidate = true")
    await page.get_by_role("button", name="Save WhatsApp template").click()
    await expect(page.locator("#wa-template-error")).to_contain_text("content_sid")
    await form.get_by_label("Content SID").fill(CONTENT_SID)
    await page.get_by_role("button", name="Save WhatsApp template").click()

    row = page.locator("#wa-template-list tr")
    await expect(row).to_have_count(1)
    await expect(row.locator("th")).to_have_text("<img src=x onerror=alert(1)>")
    await expect(row).to_contain_text("Olá {{1}}, <b>tudo bem</b>?")
    assert await page.locator("#wa-template-list img, #wa-template-list b").count() == 0

    await page.get_by_role("button", name="Edit <img src=x onerror=alert(1)>").click()
    await form.get_by_label("Name").fill("greeting")
    await page.get_by_role("button", name="Save WhatsApp template").click()
    await expect(row.locator("th")).to_have_text("greeting")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Delete greeting").click()
    await expect(row).to_have_count(0)
    await expect(page.locator("#wa-template-empty")).to_be_visible()
    # The one 400 is the refused Content SID above.
    assert [p for p in admin.problems if "status of 400" not in p] == []
