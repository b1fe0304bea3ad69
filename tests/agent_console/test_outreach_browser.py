"""The "New message" panel in a real browser: an agent writes to a customer from their
page, by email with CC and BCC through the real SMTP relay, and by text through the local
Twilio fake; an opted-out number cannot be chosen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright, expect
from sqlalchemy import select

from hub.models import Conversation, CustomerAddress, Message
from tests.agent_console.test_console_browser import CHROMIUM, CHROMIUM_ARGS, XSS_TEXT, sign_in
from tests.agent_console.test_outreach import (
    NUMBER,
    SMS_INBOX,
    customer_with,
    hub,
    relay,
    served_twilio,
    twilio,
)
from tests.channels.email_side import JANE, SUPPORT, CapturingRelay
from tests.channels.twilio_side import MessagesApi
from tests.support import Hub, eventually

__all__ = ["hub", "relay", "served_twilio", "twilio"]  # fixtures used here

expect.set_options(timeout=10_000)
OTHER = "+14155550199"


async def _async(found: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return list(found) or None


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def test_an_agent_writes_by_email_with_copies_and_by_text_from_the_customer_page(
    hub: Hub, relay: CapturingRelay, twilio: MessagesApi, chromium: Browser
) -> None:
    await hub.add_agent("alice", status="available")
    customer_id = await customer_with(hub, ("email", JANE), ("sms", NUMBER))
    # The same customer's other number said STOP: it is listed, and cannot be chosen.
    stopped = await customer_with(hub, ("sms", OTHER), opted_out=True)
    async with hub.sessions() as session, session.begin():
        address = await session.scalar(
            select(CustomerAddress).where(CustomerAddress.customer_id == stopped)
        )
        assert address is not None
        address.customer_id = customer_id

    tab = await sign_in(chromium, hub, "alice")
    page = tab.page
    await page.goto(f"{hub.url}/console/customers#customer={customer_id}")
    await expect(page.locator("#record-name")).to_have_text("Jane Doe")
    await page.get_by_text("New message", exact=True).click()
    form = page.locator("#outreach-form")

    # By email: subject, CC and BCC are offered; the relay gets CC in the headers and
    # BCC only in the envelope.
    await form.locator("select[name=channel]").select_option("email")
    await expect(form.get_by_label("Cc", exact=True)).to_be_visible()
    await expect(form.locator("select[name=inbox_id]")).to_contain_text(SUPPORT)
    await form.get_by_label("Cc", exact=True).fill("boss@customer.test; Accounts@Customer.test")
    await form.get_by_label("Bcc").fill("audit@bank.test")
    await form.get_by_label("Subject").fill("Your refund")
    await form.get_by_label("Message").fill(f"Your refund went out today. {XSS_TEXT}")
    await form.get_by_role("button", name="Send").click()
    await expect(page.locator("#toast")).to_contain_text("Sent")
    envelope, mail = await relay.next()
    assert sorted(a.lower() for a in envelope.rcpt_tos) == sorted(
        [JANE, "boss@customer.test", "accounts@customer.test", "audit@bank.test"]
    )
    assert mail["Subject"].startswith("Your refund")
    assert {a.addr_spec.lower() for a in mail["Cc"].addresses} == {
        "boss@customer.test",
        "accounts@customer.test",
    }
    assert mail["Bcc"] is None
    assert mail.get_content().strip().startswith("Your refund went out today.")

    # By text: no subject or copies; the opted-out number is shown but cannot be chosen.
    await page.get_by_text("New message", exact=True).click()
    await form.locator("select[name=channel]").select_option("sms")
    await expect(form.get_by_label("Cc", exact=True)).to_be_hidden()
    await expect(form.get_by_label("Subject")).to_be_hidden()
    stopped_option = form.locator("select[name=address]").locator("option", has_text=OTHER)
    await expect(stopped_option).to_have_text(f"{OTHER} (opted out)")
    await expect(stopped_option).to_be_disabled()
    await form.locator("select[name=address]").select_option(NUMBER)
    await expect(form.locator("select[name=inbox_id]")).to_contain_text(SMS_INBOX)
    await form.get_by_label("Message").fill("Your card is on its way.")
    await form.get_by_role("button", name="Send").click()
    await expect(page.locator("#outreach")).not_to_have_attribute("open", "")
    sent = await eventually(lambda: _async(twilio.requests))
    assert [(r["form"]["To"], r["form"]["Body"]) for r in sent] == [
        ([NUMBER], ["Your card is on its way."])
    ]

    async def started() -> list[str] | None:
        async with hub.sessions() as session:
            channels = list(
                await session.scalars(
                    select(Conversation.channel)
                    .where(Conversation.customer_id == customer_id, Conversation.status != "closed")
                    .order_by(Conversation.id)
                )
            )
            texts = await session.scalars(select(Message.text).where(Message.channel == "sms"))
            return channels if "Your card is on its way." in list(texts) else None

    assert await eventually(started) == ["email", "sms"]
    assert await page.evaluate("window.__pwned") is None
