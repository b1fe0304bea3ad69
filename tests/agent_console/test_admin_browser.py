"""The settings page in a real browser: an admin manages agents, queues and canned responses,
one story each."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import aiohttp
from playwright.async_api import Browser, BrowserContext, Dialog, Route, expect
from sqlalchemy import select

from hub.auth import verify_password
from hub.contacts import InboundContact
from hub.keys import INTAKE
from hub.models import Agent, AgentSkill, RoutingQueue
from hub.settings import Settings
from tests.agent_console.test_console_browser import XSS_TEXT, AgentTab, browser, sign_in
from tests.conftest import start_hub
from tests.hub.webhook_receiver import Receiver
from tests.support import Hub

__all__ = ["browser"]  # the fixture, shared with the console's browser tests


async def test_an_admin_adds_and_deactivates_an_agent_that_only_admins_can_reach(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("alice")
    agent_tab = await sign_in(browser, hub, "alice")
    await expect(agent_tab.page.locator("#wallboard-link")).to_be_hidden()
    await expect(agent_tab.page.get_by_role("link", name="Admin")).to_be_hidden()

    admin = await sign_in(browser, hub, "ada")
    page = admin.page
    await page.get_by_role("link", name="Admin").click()
    await expect(page).to_have_url(re.compile(r"/console/admin$"))
    agents = page.locator("#agents")
    await expect(agents.locator("tr")).to_have_count(2)

    # A new agent, with a name that is markup: shown as text, never run.
    await page.get_by_role("button", name="Add agent").click()
    # Scoped to the form: other sections have labels that contain "Chat" too.
    form = page.locator("#agent-form")
    await form.get_by_label("Username").fill("carol")
    await form.get_by_label("Full name").fill(XSS_TEXT)
    await form.get_by_label("Password").fill("a long enough secret")
    await form.get_by_label("Team").fill("Payments")
    await form.get_by_label("Skills").fill("billing:11")
    await form.get_by_label("Languages").fill("en, es")
    await form.get_by_label("Chat", exact=True).fill("2")
    await form.get_by_label("WhatsApp", exact=True).fill("4")  # each channel has a field
    await page.get_by_role("button", name="Save agent").click()
    await expect(page.locator("#agent-error")).to_contain_text(
        "skills.billing: Input should be less than or equal to 10"
    )
    await page.get_by_label("Skills").fill("billing:8, support:3")
    await page.get_by_role("button", name="Save agent").click()
    carol = agents.locator('tr[data-agent="carol"]')
    await expect(carol).to_contain_text(XSS_TEXT)
    await expect(carol).to_contain_text("billing:8, support:3")
    await expect(carol).to_contain_text("chat 2, whatsapp 4")
    await expect(page.locator("#agent-form")).to_be_hidden()

    async with hub.sessions() as session:
        stored = await session.scalar(select(Agent).where(Agent.username == "carol"))
        assert stored is not None
        assert verify_password(stored.password_hash, "a long enough secret")
        skills = dict((await session.execute(select(AgentSkill.skill, AgentSkill.level))).all())
    assert skills == {"billing": 8, "support": 3}

    # Deactivated from the edit form, the row says so.
    await carol.get_by_role("button").click()
    await expect(page.get_by_label("Username")).to_have_value("carol")
    await page.get_by_label("Active").uncheck()
    await page.get_by_role("button", name="Save agent").click()
    await expect(carol).to_contain_text("deactivated")

    assert await page.evaluate("window.__pwned") is None
    # The only complaint is the browser's note of the refused skill level (HTTP 400).
    assert [p for p in admin.problems if "status of 400" not in p] == []
    assert agent_tab.problems == []


async def open_admin(hub: Hub, browser: Browser) -> AgentTab:
    await hub.add_agent("ada", role="admin")
    admin = await sign_in(browser, hub, "ada")
    await admin.page.get_by_role("link", name="Admin").click()
    await expect(admin.page).to_have_url(re.compile(r"/console/admin$"))
    return admin


async def test_an_admin_adds_a_queue_and_limits_it(hub: Hub, browser: Browser) -> None:
    admin = await open_admin(hub, browser)
    page = admin.page

    # A queue that needs a skill.
    await page.get_by_role("button", name="Add queue").click()
    form = page.locator("#queue-form")
    await form.get_by_label("Name").fill("Billing chat")
    await form.get_by_label("Address").fill("billing")
    await form.get_by_label("Skill").fill("billing")
    await form.get_by_label("Minimum level").fill("5")
    await page.get_by_role("button", name="Save queue").click()
    row = page.locator('#queues tr[data-queue="billing"]')
    await expect(row).to_contain_text("Billing chat")
    await expect(row).to_contain_text("billing")

    # Limits on a queue: at most 3 waiting for billing chats, then on to the general queue.
    empty = page.locator("#limits td.empty")
    await expect(empty).to_have_text(
        "No limits yet: every queue takes any number of contacts, however long they wait."
    )
    await page.get_by_role("button", name="Set limits").click()
    form = page.locator("#limit-form")
    await form.get_by_label("Queue").fill("billing")
    await form.get_by_label("Channel").select_option("chat")
    await form.get_by_label("Most waiting").fill("3")
    await form.get_by_label("Overflow to").fill("general")
    await page.get_by_role("button", name="Save limits").click()
    limit = page.locator('#limits tr[data-limit="billing/chat"]')
    await expect(limit).to_contain_text("3")
    await expect(limit).to_contain_text("general")
    await expect(empty).to_have_count(0)
    async with hub.sessions() as session:
        stored = await session.scalar(select(RoutingQueue))
    assert stored is not None and (stored.name, stored.channel) == ("billing", "chat")
    assert (stored.max_waiting, stored.max_wait_seconds, stored.overflow_queue) == (
        3,
        None,
        "general",
    )
    assert admin.problems == []


async def test_a_click_on_a_page_still_loading_its_scripts_is_not_lost(
    hub: Hub, browser: Browser
) -> None:
    """The settings page's script arrives late (a slow network): "Add queue" waits for it
    and for the channels it needs, instead of taking a click that nothing answers (or
    that fails on channels not read yet)."""

    async def slow_settings_script(context: BrowserContext) -> None:
        async def late(route: Route) -> None:
            await asyncio.sleep(1.5)
            await route.continue_()

        await context.route(re.compile(r"/admin\.js(\?|$)"), late)

    await hub.add_agent("ada", role="admin")
    admin = await sign_in(browser, hub, "ada", prepare=slow_settings_script)
    page = admin.page
    await page.goto(hub.url + "/console/admin", wait_until="commit")
    add = page.get_by_role("button", name="Add queue")
    await add.click()
    await expect(page.locator("#queue-form")).to_be_visible()
    await expect(page.locator("#queue-form-title")).to_have_text("Add queue")
    assert admin.problems == []


async def test_an_admin_writes_edits_and_deletes_a_canned_response(
    hub: Hub, browser: Browser
) -> None:
    admin = await open_admin(hub, browser)
    page = admin.page

    # A canned response, edited and deleted.
    await page.get_by_role("button", name="Add canned response").click()
    form = page.locator("#canned-form")
    await form.get_by_label("Shortcut").fill("thanks")
    await form.get_by_label("Title").fill("Thanks")
    await form.get_by_label("Text").fill(f"Thanks, {{customer.first_name}}! {XSS_TEXT}")
    await page.get_by_role("button", name="Save canned response").click()
    canned = page.locator('#canned-list tr[data-canned="thanks"]')
    await expect(canned).to_contain_text(f"Thanks, {{customer.first_name}}! {XSS_TEXT}")
    await page.get_by_role("button", name="Edit /thanks").click()
    await form.get_by_label("Title").fill("Thank you")
    await page.get_by_role("button", name="Save canned response").click()
    await expect(canned).to_contain_text("Thank you")

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Delete /thanks").click()
    await expect(canned).to_have_count(0)

    assert await page.evaluate("window.__pwned") is None
    assert admin.problems == []


async def test_an_admin_reads_who_tried_to_sign_in_in_the_audit_log(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("ada", role="admin")
    async with aiohttp.ClientSession(base_url=hub.url + "/") as stranger:
        form = {"username": XSS_TEXT, "password": "guess"}
        async with stranger.post("console/login", data=form) as response:
            assert response.status == 401

    admin = await sign_in(browser, hub, "ada")
    page = admin.page
    await page.goto(hub.url + "/console/admin#audit-section")
    lines = page.locator("#audit-lines tr")
    await expect(lines).to_have_count(2)  # the wrong password, then ada signing in
    await expect(lines.nth(1)).to_contain_text(XSS_TEXT)
    await expect(lines.nth(1)).to_contain_text("127.0.0.1")
    await page.locator("#audit-section").get_by_label("Action", exact=True).fill("login.succeeded")
    await page.get_by_role("button", name="Show").click()
    await expect(lines).to_have_count(1)
    await expect(lines.first).to_contain_text("ada")
    csv_link = page.get_by_role("link", name="Download CSV")
    await expect(csv_link).to_have_attribute("href", re.compile(r"action=login\.succeeded"))
    assert await page.evaluate("window.__pwned") is None


async def test_an_admin_subscribes_a_webhook_and_sends_a_delivery_again(
    settings_for: Settings, browser: Browser
) -> None:
    fast = dataclasses.replace(settings_for, webhook_interval=0.1)
    async with Receiver() as receiver, start_hub(fast, clean=True) as hub:
        await hub.add_agent("ada", role="admin")
        admin = await sign_in(browser, hub, "ada")
        page = admin.page
        await page.goto(hub.url + "/console/admin#webhooks-section")
        await page.get_by_role("button", name="Add webhook").click()
        await page.locator("#webhook-url").fill(receiver.url)
        await page.locator("#webhook-description").fill(XSS_TEXT)
        await page.get_by_label("message.received").check()
        await page.get_by_role("button", name="Save webhook").click()
        secret = page.locator("#webhook-secret-value")
        await expect(secret).to_have_text(re.compile(r"^whsec_"))
        receiver.secret = await secret.inner_text()
        webhook = page.locator("#webhooks tr")
        await expect(webhook).to_contain_text(XSS_TEXT)
        await expect(webhook).to_contain_text("message.received")

        await hub.app[INTAKE].accept(
            InboundContact(channel="chat", inbox="web", external_id="v1:1", sender="v1", text="hi")
        )
        await webhook.get_by_role("button", name="Deliveries").click()
        delivery = page.locator("#webhook-deliveries tr")
        for _ in range(50):  # made within a few rounds; the log is read when asked
            if receiver.delivered():
                break
            await page.wait_for_timeout(100)
        await webhook.get_by_role("button", name="Deliveries").click()
        await expect(delivery).to_contain_text("delivered")
        await expect(delivery).to_contain_text("200")
        await delivery.get_by_role("button", name="Send again").click()
        await expect(page.locator("#toast")).to_contain_text("sent again")
        for _ in range(50):
            if len(receiver.delivered()) == 2:
                break
            await page.wait_for_timeout(100)
    assert [r.type for r in receiver.delivered()] == ["message.received"] * 2
    assert receiver.forged == 0
    assert await page.evaluate("window.__pwned") is None


async def test_an_admin_gives_an_integration_a_token_sees_it_used_and_revokes_it(
    hub: Hub, browser: Browser
) -> None:
    admin = await open_admin(hub, browser)
    page = admin.page

    await page.get_by_role("button", name="Create token").click()
    form = page.locator("#token-form")
    await form.get_by_label("Name").fill(f"CRM {XSS_TEXT}")
    await form.get_by_label("Read customers").check()
    await form.get_by_role("button", name="Create token").click()
    shown = page.get_by_label("Token", exact=True)
    await expect(shown).to_have_value(re.compile(r"^sb_\S{40,}$"))
    token = await shown.input_value()
    row = page.locator("#tokens tr").first
    await expect(row).to_contain_text(f"CRM {XSS_TEXT}")
    await expect(row).to_contain_text("customers:read")
    await expect(row.locator(".last-used")).to_have_text("never")
    await page.get_by_role("button", name="Done").click()
    await expect(shown).to_be_hidden()

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as crm:
        async with crm.get(hub.url + "/api/v1/customers") as response:
            assert response.status == 200
        await page.reload()
        await expect(row.locator(".last-used")).not_to_have_text("never")

        async def accept(dialog: Dialog) -> None:
            await dialog.accept()

        page.once("dialog", accept)
        await page.get_by_role("button", name=f"Revoke CRM {XSS_TEXT}").click()
        await expect(row).to_contain_text("revoked")
        async with crm.get(hub.url + "/api/v1/customers") as response:
            assert response.status == 401
    assert await page.evaluate("window.__pwned") is None
    assert admin.problems == []
