"""The chat widget in a real browser: a visitor on Acme Bank's help page talks to an agent."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    Locator,
    Page,
    WebSocketRoute,
    async_playwright,
    expect,
)
from sqlalchemy import select

from hub.models import Conversation, Customer, CustomerAddress, Message
from hub.settings import Settings
from tests.agent_console.test_console_browser import sign_in
from tests.channels.email_side import JANE, capturing_relay, email_hub, logged_in_agent
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 10_000
XSS = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
            timeout=30_000,
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.set_default_navigation_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    yield page
    await context.close()


@pytest.fixture
def settings_for(settings_for: Settings) -> Settings:
    """Presence refreshed often, so the widget soon hears an agent's console is open."""
    return dataclasses.replace(settings_for, presence_interval=0.2)


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


async def test_the_demo_page_loads_without_a_missing_file(hub: Hub, page: Page) -> None:
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.on("console", lambda m: missing.append(m.text) if m.type == "error" else None)
    await page.goto(hub.url + "/chat/demo")
    await expect(page.get_by_role("button", name="Open chat: Acme Bank support")).to_be_visible()
    icon = await page.locator('link[rel="icon"]').get_attribute("href")
    assert icon is not None and icon.startswith("data:image/svg+xml,")  # no /favicon.ico to 404
    assert missing == []


async def test_a_visitor_chats_with_an_agent_and_keeps_the_chat_across_a_reload(
    hub: Hub, page: Page, alice: AgentClient
) -> None:
    console = await alice.http.ws_connect("console/ws")  # Alice is online
    await page.goto(hub.url + "/chat/demo")
    await expect(page.get_by_role("heading", name="How can we help?")).to_be_visible()

    await page.get_by_role("button", name="Open chat: Acme Bank support").click()
    chat = page.get_by_role("dialog", name="Acme Bank support")
    await expect(chat).to_be_visible(timeout=WAIT_MS)
    await chat.get_by_label("Message").fill("Hello, my card was declined at the supermarket")
    await chat.get_by_role("button", name="Send", exact=True).click()
    mine = chat.locator(".msg.customer")
    await expect(mine).to_have_attribute("data-state", "sent", timeout=WAIT_MS)

    offers = await eventually(lambda: alice.get("/api/offers"))
    status, body = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200
    conversation = f"/api/conversations/{body['conversation_id']}"
    await alice.post(conversation + "/typing")
    await expect(chat.get_by_text("Agent is typing…")).to_be_visible(timeout=WAIT_MS)
    reply = {"text": "Sorry about that! Let me check."}
    status, _ = await alice.post(conversation + "/reply", reply)
    assert status == 200
    await expect(chat.locator(".msg.agent")).to_contain_text("Let me check.", timeout=WAIT_MS)
    await expect(chat.get_by_text("Agent is typing…")).to_be_hidden(timeout=WAIT_MS)

    await page.reload()
    chat = page.get_by_role("dialog", name="Acme Bank support")
    await expect(chat.locator(".msg")).to_contain_text(
        ["Hello, my card was declined at the supermarket", "Sorry about that! Let me check."],
        timeout=WAIT_MS,
    )
    await expect(chat.locator(".msg.agent .meta")).to_have_text("Alice", timeout=WAIT_MS)
    await expect(chat.locator("header .status")).to_have_text("We're online")
    await expect(chat.locator(".away")).to_be_hidden()
    await console.close()


async def test_a_stale_session_token_is_dropped_and_the_chat_starts_over(
    hub: Hub, page: Page
) -> None:
    key = f"switchboard:{urlsplit(hub.url).netloc}:web:token"
    stale = "v_" + "0" * 32 + ".not-signed-by-this-hub"
    await page.add_init_script(f"localStorage.setItem({json.dumps(key)}, {json.dumps(stale)})")
    await page.goto(hub.url + "/chat/demo")

    await page.get_by_role("button", name="Open chat: Acme Bank support").click()
    chat = page.get_by_role("dialog", name="Acme Bank support")
    await chat.get_by_label("Message").fill("Is anyone there?")
    await chat.get_by_label("Message").press("Enter")
    await expect(chat.locator(".msg.customer")).to_have_attribute("data-state", "sent")

    token = await page.evaluate(f"localStorage.getItem({json.dumps(key)})")
    assert token and token.startswith("v_") and token != stale
    assert [m.text for m in await stored_messages(hub)] == ["Is anyone there?"]


@pytest.mark.parametrize("lost", ["message", "ack"])
async def test_after_a_dropped_connection_the_message_is_stored_exactly_once(
    hub: Hub, page: Page, lost: str
) -> None:
    """The network eats either the visitor's message or the hub's ack, then drops.

    A lost message is resent after the reconnect; a lost ack is not needed, since
    the welcome transcript already holds the message. Either way: one row, shown once.
    """
    sent: list[dict[str, Any]] = []
    dropped = False

    async def lossy_once(route: WebSocketRoute) -> None:
        server = route.connect_to_server()

        async def drop() -> None:
            nonlocal dropped
            dropped = True
            await route.close(code=1001, reason="network hiccup")
            await server.close()

        async def from_page(message: str | bytes) -> None:
            if json.loads(message)["type"] == "message":
                sent.append(json.loads(message))
                if lost == "message" and not dropped:
                    return await drop()
            server.send(message)

        async def from_hub(message: str | bytes) -> None:
            if lost == "ack" and json.loads(message)["type"] == "ack" and not dropped:
                return await drop()
            route.send(message)

        route.on_message(from_page)
        server.on_message(from_hub)

    await page.route_web_socket("**/chat/ws", lossy_once)
    await page.goto(hub.url + "/chat/demo")
    await page.get_by_role("button", name="Open chat: Acme Bank support").click()
    chat = page.get_by_role("dialog", name="Acme Bank support")
    await chat.get_by_label("Message").fill("My transfer has not arrived")
    await chat.get_by_role("button", name="Send", exact=True).click()

    await expect(chat.locator(".msg.customer")).to_have_attribute("data-state", "sent")
    await expect(chat.locator(".msg")).to_have_count(1)
    assert len(sent) == (2 if lost == "message" else 1)
    assert len({frame["id"] for frame in sent}) == 1
    assert [m.text for m in await stored_messages(hub)] == ["My transfer has not arrived"]


async def stored_messages(hub: Hub) -> list[Message]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


# --- pre-chat form, read receipts, nobody online --------------------------------------------


async def open_chat(page: Page, hub: Hub) -> Locator:
    await page.goto(hub.url + "/chat/demo")
    await page.get_by_role("button", name="Open chat: Acme Bank support").click()
    chat = page.get_by_role("dialog", name="Acme Bank support")
    await expect(chat).to_be_visible()
    return chat


async def write(chat: Locator, text: str) -> None:
    await chat.get_by_label("Message").fill(text)
    await chat.get_by_label("Message").press("Enter")


async def test_the_prechat_form_asks_who_the_visitor_is_and_links_a_known_customer(
    settings_for: Settings, page: Page
) -> None:
    settings = dataclasses.replace(settings_for, chat_prechat="name,email")
    async with start_hub(settings, clean=True) as hub:
        async with hub.sessions() as session, session.begin():
            known = Customer(name="Jane Doe")
            session.add(known)
            await session.flush()
            session.add(CustomerAddress(customer_id=known.id, channel="email", address=JANE))
            known_id = known.id

        chat = await open_chat(page, hub)
        form = chat.get_by_role("form", name="Before we start")
        await expect(form).to_be_visible()
        await expect(chat.get_by_label("Message")).to_be_hidden()
        await form.get_by_label("Your name").fill(XSS)
        await form.get_by_label("Your email").fill("jane@")
        await form.get_by_role("button", name="Start chat").click()
        await expect(form.get_by_role("alert")).to_have_text("Please enter a valid email address.")
        await form.get_by_label("Your email").fill("Jane@Customer.test")
        await form.get_by_role("button", name="Start chat").click()
        await expect(form).to_be_hidden()
        await expect(chat.get_by_label("Message")).to_be_focused()

        await write(chat, "Hello, it's Jane again")
        await expect(chat.locator(".msg.customer")).to_have_attribute("data-state", "sent")
        async with hub.sessions() as session:
            conversation = await session.scalar(select(Conversation))
            assert conversation is not None and conversation.customer_id == known_id

        await page.reload()
        chat = page.get_by_role("dialog", name="Acme Bank support")
        await expect(chat.locator(".msg.customer")).to_contain_text("Hello, it's Jane again")
        await expect(chat.get_by_role("form", name="Before we start")).to_be_hidden()
        assert await page.evaluate("window.__pwned") is None


async def test_read_receipts_between_the_widget_and_the_agent_console(
    hub: Hub, browser: Browser, page: Page
) -> None:
    await hub.add_agent("alice", skills={"support": 5})
    alice = await sign_in(browser, hub, "alice")
    await alice.set_status("available")
    console = alice.page

    chat = await open_chat(page, hub)
    await write(chat, "Did my refund arrive?")
    mine = chat.locator(".msg.customer")
    await expect(mine.locator(".meta")).to_have_text("Sent")

    await console.locator("#offers > li").get_by_role("button", name="Accept").click()
    await expect(console.locator("#messages")).to_contain_text("Did my refund arrive?")
    await expect(mine.locator(".meta")).to_have_text("Read")
    await expect(mine).to_have_attribute("data-state", "read")

    reply_box = console.get_by_role("textbox", name="Reply")
    await reply_box.fill("Yes, this morning.")
    await reply_box.press("Enter")
    await expect(chat.locator(".msg.agent")).to_contain_text("Yes, this morning.")
    status = console.locator(".message-outgoing .message-status")
    await expect(status).to_have_text("Read")

    await page.reload()
    await expect(page.locator(".msg.customer .meta")).to_have_text("Read")
    await console.reload()
    await expect(console.locator(".message-outgoing .message-status")).to_have_text("Read")
    assert alice.problems == []


async def test_with_nobody_online_the_widget_says_so_and_the_answer_comes_by_email(
    settings_for: Settings, page: Page
) -> None:
    async with capturing_relay() as relay, email_hub(settings_for, relay) as hub:
        async with logged_in_agent(hub, "alice") as alice:  # available, but no console open
            chat = await open_chat(page, hub)
            away = chat.locator(".away")
            await expect(away.locator("p").first).to_have_text(
                "No one is online right now."
                " Write your message and leave your email; we'll reply there."
            )
            # One message for the state: no greeting promising an answer in the chat.
            await expect(chat.locator(".greeting")).to_be_hidden()
            await write(chat, "Can I raise my card limit?")
            await expect(chat.locator(".msg.customer")).to_have_attribute("data-state", "sent")
            await away.get_by_label("Your email").fill("not-an-email")
            await away.get_by_role("button", name="Reply by email").click()
            await expect(away.get_by_role("alert")).to_have_text(
                "Please enter a valid email address."
            )
            await away.get_by_label("Your email").fill(JANE)
            await away.get_by_role("button", name="Reply by email").click()
            await expect(away.locator("p").first).to_have_text(f"We'll reply by email to {JANE}.")
            await expect(away.get_by_label("Your email")).to_be_hidden()

            offers = await eventually(lambda: alice.get("/api/offers"))
            status, body = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
            assert status == 200
            status, _ = await alice.post(
                f"/api/conversations/{body['conversation_id']}/reply",
                {"text": "Yes: Cards, Limits."},
            )
            assert status == 200
            envelope, mail = await relay.next()
            assert envelope.rcpt_tos == [JANE]
            assert mail.get_content().strip() == "Yes: Cards, Limits."


async def test_the_header_shows_whether_agents_are_online_and_typing_stops_when_they_stop(
    settings_for: Settings, browser: Browser, page: Page
) -> None:
    settings = dataclasses.replace(settings_for, presence_interval=0.1)
    async with start_hub(settings, clean=True) as hub:
        await hub.add_agent("alice", skills={"support": 5})
        chat = await open_chat(page, hub)
        header = chat.locator("header .status")
        await expect(header).to_have_text("We're offline")
        greeting = chat.locator(".greeting")
        await expect(greeting).to_be_hidden()  # no email here: the chat is where we answer
        await expect(chat.locator(".away p").first).to_have_text(
            "No one is online right now. Write your message; we'll answer here as soon as we can."
        )

        alice = await sign_in(browser, hub, "alice")
        await alice.set_status("available")
        await expect(header).to_have_text("We're online")
        await expect(greeting).to_have_text(
            "Hi! Send us a message and a member of our team will reply here."
        )
        await expect(chat.locator(".away")).to_be_hidden()
        await write(chat, "Hello there")
        console = alice.page
        await console.locator("#offers > li").get_by_role("button", name="Accept").click()
        reply_box = console.get_by_role("textbox", name="Reply")
        await reply_box.press_sequentially("Let me")
        agent_typing = chat.get_by_text("Agent is typing…")
        await expect(agent_typing).to_be_visible()
        await reply_box.fill("")
        await reply_box.dispatch_event("input")
        await expect(agent_typing).to_be_hidden()

        await chat.get_by_label("Message").press_sequentially("One more")
        await expect(console.locator("#typing")).to_contain_text("is typing")
        await chat.get_by_label("Message").fill("")
        await expect(console.locator("#typing")).to_have_text("")

        await alice.set_status("away")
        await expect(header).to_have_text("We're offline")
        assert alice.problems == []


# --- ending the chat ----------------------------------------------------------------------------


async def statuses(hub: Hub) -> dict[int, str]:
    async with hub.sessions() as session:
        rows = await session.execute(select(Conversation.id, Conversation.status))
        return {conversation_id: status for conversation_id, status in rows.all()}


async def test_ending_a_waiting_chat_abandons_it_and_a_new_chat_can_start(
    hub: Hub, page: Page
) -> None:
    chat = await open_chat(page, hub)
    end = chat.get_by_role("button", name="End chat", exact=True)
    await expect(end).to_be_hidden()  # nothing to end yet
    await write(chat, XSS)
    await expect(chat.locator(".msg.customer")).to_have_attribute("data-state", "sent")
    (first,) = (await eventually(lambda: statuses(hub))).items()
    assert first[1] == "queued"

    # A draft would be lost: the widget asks first, and keeping on changes nothing.
    await chat.get_by_label("Message").fill("And one more thing <b>")
    await end.press("Enter")  # a real button, reachable by keyboard
    question = chat.get_by_role("group", name="End the chat?")
    await expect(question).to_contain_text("Your message has not been sent yet.")
    await question.get_by_role("button", name="Keep chatting").click()
    await expect(question).to_be_hidden()
    await expect(chat.get_by_label("Message")).to_be_focused()
    assert await statuses(hub) == {first[0]: "queued"}

    # Nothing to lose: ending it is one click.
    await chat.get_by_label("Message").fill("")
    await end.click()
    await expect(chat.get_by_role("status").filter(has_text="Chat ended")).to_be_visible()
    await expect(chat.get_by_label("Message")).to_be_hidden()

    async def abandoned() -> bool:
        return await statuses(hub) == {first[0]: "abandoned"}

    assert await eventually(abandoned)
    key = f"switchboard:{urlsplit(hub.url).netloc}:web:token"
    assert await page.evaluate(f"localStorage.getItem({json.dumps(key)})") is None

    await chat.get_by_role("button", name="Start a new chat").click()
    await expect(chat.locator(".msg")).to_have_count(0)
    await write(chat, "A new question")
    await expect(chat.locator(".msg.customer")).to_have_attribute("data-state", "sent")

    async def second() -> dict[int, str] | None:
        found = await statuses(hub)
        return found if len(found) == 2 else None

    found = await eventually(second)
    assert found.pop(first[0]) == "abandoned"
    assert list(found.values()) == ["queued"]
    assert await page.evaluate("window.__pwned") is None
    await expect(chat.locator(".msg.customer")).to_have_count(1)  # the old chat is gone
    await expect(chat.locator(".msg.customer")).to_contain_text("A new question")


async def test_a_visitor_asks_for_a_copy_of_the_chat_by_email(
    settings_for: Settings, page: Page
) -> None:
    async with capturing_relay() as relay, email_hub(settings_for, relay) as hub:
        chat = await open_chat(page, hub)
        copy_button = chat.get_by_role("button", name="Email a copy")
        await expect(copy_button).to_be_hidden()  # nothing written yet
        await write(chat, f"Where is my card? {XSS}")
        await expect(chat.locator(".msg.customer")).to_have_attribute("data-state", "sent")
        await copy_button.click()
        copy = chat.get_by_role("form", name="Email a copy of this chat")
        await copy.get_by_label("Email for the copy").fill("jane@")
        await copy.get_by_role("button", name="Send copy").click()
        await expect(chat.locator(".copy [role=alert]")).to_have_text(
            "Please enter a valid email address."
        )
        await copy.get_by_label("Email for the copy").fill(JANE)
        await copy.get_by_role("button", name="Send copy").click()
        await expect(chat.get_by_role("status").filter(has_text="on its way")).to_have_text(
            f"A copy of this chat is on its way to {JANE}."
        )
        await expect(copy).to_be_hidden()
        envelope, mail = await relay.next()
        assert envelope.rcpt_tos == [JANE]
        assert f"Where is my card? {XSS}" in mail.get_content()
        assert await page.evaluate("window.__pwned") is None
