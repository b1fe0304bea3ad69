"""The reply box in a real browser: canned responses picked with `/`, and answering on
another channel the customer can be reached on."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from hub.models import Conversation, CustomerAddress, Inbox, utcnow
from tests.agent_console.test_console_browser import XSS_NAME, browser, sign_in
from tests.support import ChatCustomer, Hub

__all__ = ["browser"]  # the fixture, shared with the console's browser tests
CALLER = "+14155550123"
OPTED_OUT = "+14155550199"

CANNED = [
    ("thanks", "Thanks", "Thanks for waiting, {customer.first_name}!"),
    (
        "refund",
        "Refund timing",
        "Dear {customer.name}, refunds take 5 days. {agent.name}, #{conversation.id}",
    ),
    ("ticket", "Ticket number", "Your ticket is {ticket.number}."),
]


@pytest.fixture
async def admin(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    for shortcut, title, body in CANNED:
        status, _ = await ada.post(
            "/api/canned-responses", {"shortcut": shortcut, "title": title, "body": body}
        )
        assert status == 201
    await ada.close()


async def test_slash_opens_canned_responses_filled_for_the_customer(
    hub: Hub, browser: Browser, admin: None
) -> None:
    await hub.add_agent("alice", skills={"support": 5})
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")
    customer = await ChatCustomer.connect(hub, name=XSS_NAME)
    await customer.say("Where is my refund?")
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()
    reply = page.get_by_role("textbox", name="Reply")
    await expect(reply).to_be_focused()
    conversation_id = (await page.evaluate("location.hash")).rsplit("-", 1)[1]

    listbox = page.get_by_role("listbox", name="Canned responses")
    await reply.press_sequentially("/re")
    await expect(listbox).to_be_visible()
    options = listbox.get_by_role("option")
    await expect(options).to_have_count(1)
    refund = f"Dear {XSS_NAME}, refunds take 5 days. Alice, #{conversation_id}"
    await expect(options.first).to_contain_text("/refund")
    await expect(options.first.locator(".canned-preview")).to_have_text(refund)
    await expect(options.first).to_have_attribute("aria-selected", "true")

    # Widening the filter lists them all; arrows move, Enter inserts instead of sending.
    await reply.press("Backspace")
    await reply.press("Backspace")
    await expect(options).to_have_count(3)
    await expect(options.nth(0)).to_contain_text("/refund")
    await reply.press("ArrowDown")
    await reply.press("ArrowDown")
    await expect(options.nth(2)).to_have_attribute("aria-selected", "true")
    await reply.press("ArrowUp")
    await expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    await expect(options.nth(1)).to_contain_text("/thanks")
    await reply.press("Enter")
    await expect(listbox).to_be_hidden()
    # The first name is filled in as plain text, markup and all.
    first = XSS_NAME.split()[0]
    await expect(reply).to_have_value(f"Thanks for waiting, {first}!")

    # A placeholder the hub does not know stays visible for the agent to fill.
    await reply.press_sequentially(" /tick")
    await expect(options).to_have_count(1)
    await reply.press("Tab")
    await expect(reply).to_have_value(
        f"Thanks for waiting, {first}! Your ticket is {{ticket.number}}."
    )
    await reply.fill("")

    # The button opens the same list; Escape closes it and keeps what was typed.
    await page.get_by_role("button", name="Canned").click()
    await expect(listbox).to_be_visible()
    await expect(reply).to_be_focused()
    await reply.press_sequentially("nothing-like-this")
    await expect(listbox).to_contain_text("No canned response matches /nothing-like-this.")
    await reply.press("Escape")
    await expect(listbox).to_be_hidden()
    await expect(reply).to_have_value("/nothing-like-this")

    await reply.fill("")
    await reply.press_sequentially("/refund")
    await reply.press("Enter")
    await expect(reply).to_have_value(refund)
    await reply.press("Enter")  # the list is closed: Enter sends
    answer = await customer.expect("message")
    assert answer["text"] == refund
    await expect(page.locator(".message-outgoing .message-text")).to_have_text(refund)
    assert await page.evaluate("window.__pwned") is None
    assert alice.problems == []
    await customer.close()


async def test_an_agent_answers_a_chat_by_sms_from_the_reply_box(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("alice", skills={"support": 5})
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("I called, nobody answered")
    async with hub.sessions() as session, session.begin():
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None
        session.add(Inbox(channel="sms", address="+14155550100", name="Support SMS"))
        session.add_all(
            [
                CustomerAddress(
                    customer_id=conversation.customer_id, channel="voice", address=CALLER
                ),
                CustomerAddress(
                    customer_id=conversation.customer_id,
                    channel="sms",
                    address=OPTED_OUT,
                    opted_out_at=utcnow(),
                ),
                CustomerAddress(
                    customer_id=conversation.customer_id, channel="whatsapp", address=CALLER
                ),
            ]
        )
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()
    channel = page.get_by_label("Reply on")
    await expect(channel).to_be_visible()
    await expect(channel).to_have_value("chat")
    await expect(channel.locator("option")).to_have_text(
        [
            "Chat (this conversation)",
            f"SMS · {OPTED_OUT} (opted out)",
            f"WhatsApp · {CALLER}",
        ]
    )
    # The newest texted number is opted out; the caller's number is not offered over it.
    await expect(channel.locator("option").nth(1)).to_be_disabled()
    async with hub.sessions() as session, session.begin():
        stored = await session.scalar(
            select(CustomerAddress).where(CustomerAddress.address == OPTED_OUT)
        )
        assert stored is not None
        await session.delete(stored)
    await customer.say("Are you there?")  # the console re-reads the conversation
    await expect(channel.locator("option")).to_have_text(
        ["Chat (this conversation)", f"SMS · {CALLER}", f"WhatsApp · {CALLER}"]
    )

    await channel.select_option("sms")
    reply = page.get_by_role("textbox", name="Reply")
    await reply.fill("Texting you back now.")
    await reply.press("Enter")
    sent = page.locator(".message-outgoing").last
    await expect(sent.locator(".message-text")).to_have_text("Texting you back now.")
    await expect(sent.locator(".message-channel")).to_have_text("sms")
    # Twilio is not configured in this hub, so the text is on record as not delivered.
    await expect(sent.locator(".message-status")).to_have_text("Not delivered")
    # Why, and what to do, under the reply itself; the timeline does not call it sent.
    failure = sent.locator(".message-failure")
    await expect(failure).to_be_visible()
    await expect(failure).to_contain_text("The customer did not get this reply: ")
    await expect(failure).to_contain_text("answer on another channel with “Reply on”")
    await expect(page.locator("#composer-error")).to_contain_text("not delivered")
    failed_line = page.locator('#timeline [data-kind="reply.failed"]')
    await expect(failed_line).to_contain_text("Reply not delivered")
    await expect(failed_line).to_contain_text("Texting you back now.")
    await expect(page.locator('#timeline [data-kind="reply.sent"]')).to_have_count(0)
    await expect(channel).to_have_value("sms")  # the next reply goes the same way

    await channel.select_option("chat")
    await reply.fill("Or here, in the chat.")
    await reply.press("Enter")
    assert (await customer.expect("message"))["text"] == "Or here, in the chat."
    await expect(page.locator(".message-outgoing").last.locator(".message-channel")).to_have_count(
        0
    )
    assert alice.problems == []
    await customer.close()
