"""The console in a real browser: an agent signs in, takes chats and answers them live.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright; the hub, its socket
and the chat customers are all real.
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    WebSocketRoute,
    async_playwright,
    expect,
)
from sqlalchemy import select

from agent_console.live import AGENT_SOCKETS
from hub.models import ArticleFeedback, Conversation, KnowledgeArticle, Offer
from tests.channels.email_side import mail, send
from tests.support import PASSWORD, ChatCustomer, Hub, eventually

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WAIT_MS = 10_000
XSS_NAME = "<script>window.__pwned=1</script>"
XSS_TEXT = '<img src=x onerror="window.__pwned=1">'

expect.set_options(timeout=WAIT_MS)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@dataclass
class AgentTab:
    """One agent's console in its own browser context (its own cookies)."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def watch(self) -> None:
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    async def set_status(self, status: str) -> None:
        async with self.page.expect_response(re.compile(r"/api/me/status$")) as answer:
            await self.page.get_by_role("radio", name=status.title()).check()
        assert (await answer.value).status == 200


async def sign_in(
    browser: Browser,
    hub: Hub,
    username: str,
    init: str = "",
    prepare: Callable[[BrowserContext], Awaitable[None]] | None = None,
    width: int = 1280,
) -> AgentTab:
    """Open /console, get sent to the login form, sign in through it, wait for the live socket.
    `init` runs in every page before its own scripts; `prepare` sees the context first
    (to route its requests)."""
    context = await browser.new_context(viewport={"width": width, "height": 800})
    if init:
        await context.add_init_script(init)
    if prepare:
        await prepare(context)
    tab = AgentTab(await context.new_page())
    tab.watch()
    page = tab.page
    await page.goto(hub.url + "/console")
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/console$"))
    await expect(page.locator("#agent-name")).to_have_text(username.title())
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    await expect(page.locator("#presence input").first).to_be_enabled()
    return tab


async def add_article(hub: Hub, title: str, body: str, tags: list[str]) -> None:
    async with hub.sessions() as session, session.begin():
        session.add(KnowledgeArticle(title=title, body=body, tags=tags, state="published"))


async def pending_offer(hub: Hub) -> Offer:
    async def find() -> Offer | None:
        async with hub.sessions() as session:
            return await session.scalar(select(Offer).where(Offer.status == "pending"))

    return await eventually(find)


async def test_agent_takes_a_chat_and_answers_it_live(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("alice", skills={"support": 5})
    await add_article(
        hub,
        "Card declined at checkout",
        "Most declines come from a billing address that differs from the bank's records. "
        "Check that the billing address matches your bank statement, then try again.",
        ["billing", "card", "payments"],
    )
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")

    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("Hello, my card was declined at checkout")

    offer = page.locator("#offers > li")
    await expect(offer).to_contain_text("Jane Doe")
    await expect(offer).to_contain_text("my card was declined")
    await expect(offer.locator(".offer-countdown")).to_have_text(re.compile(r"^0:[0-3]\d$"))
    await offer.get_by_role("button", name="Accept").click()

    reply_box = page.get_by_role("textbox", name="Reply")
    await expect(page.locator("#conversation-title")).to_have_text("Jane Doe")
    await expect(page.locator("#messages")).to_contain_text("my card was declined")
    await expect(page.locator("#conversations")).to_contain_text("Jane Doe")
    await expect(page.locator("#customer-name")).to_have_text("Jane Doe")
    await expect(page.locator("#customer-addresses")).to_contain_text("chat")
    await expect(page.locator("#timeline")).to_contain_text("Taken by Alice")
    await expect(page.locator("#timeline")).to_contain_text("New customer")
    await expect(page.locator("#suggestions")).to_contain_text("Card declined at checkout")
    await expect(reply_box).to_be_focused()
    await expect(offer).to_have_count(0)

    await reply_box.press_sequentially("Let me check that for you.")
    assert (await customer.expect("typing"))["from"] == "agent"
    await reply_box.press("Enter")
    answer = await customer.expect("message")
    assert answer["text"] == "Let me check that for you." and answer["author"] == "Alice"
    await expect(reply_box).to_have_value("")
    outgoing = page.locator(".message-outgoing")
    await expect(outgoing).to_contain_text("Let me check that for you.")
    await expect(outgoing.locator(".message-status")).to_have_text("Sent")

    await customer.ws.send(json.dumps({"type": "typing"}))
    await expect(page.locator("#typing")).to_have_text("Jane Doe is typing…")
    await customer.say("Thanks! My billing address was wrong,\nall fixed now.")
    latest = page.locator(".message-incoming").last
    await expect(latest).to_contain_text("billing address was wrong")
    await expect(page.locator("#typing")).to_have_text("")
    await expect(page.locator("#timeline")).to_contain_text("billing address was wrong")
    await expect(page.locator("#timeline")).to_contain_text("Reply sent")

    assert alice.problems == []
    await customer.close()


async def test_only_the_offered_agent_sees_the_offer(hub: Hub, browser: Browser) -> None:
    alice_id = await hub.add_agent("alice")
    await hub.add_agent("bob")
    tabs = {
        "alice": await sign_in(browser, hub, "alice"),
        "bob": await sign_in(browser, hub, "bob"),
    }
    for tab in tabs.values():
        await tab.set_status("available")

    customer = await ChatCustomer.connect(hub, name="Sam Lee")
    await customer.say("Where is my parcel?")
    offer = await pending_offer(hub)
    first, second = (
        (tabs["alice"], tabs["bob"]) if offer.agent_id == alice_id else (tabs["bob"], tabs["alice"])
    )

    await expect(first.page.locator("#offers > li")).to_contain_text("Sam Lee")
    await expect(second.page.locator("#offers > li")).to_have_count(0)
    await expect(first.page.locator("#offer-count")).to_have_text("1")
    await expect(first.page).to_have_title("(1) Switchboard console")

    # Rejected, the contact goes to the other agent, and leaves the first one's inbox.
    await first.page.locator("#offers > li").get_by_role("button", name="Reject").click()
    await expect(first.page.locator("#offers > li")).to_have_count(0)
    await expect(second.page.locator("#offers > li")).to_contain_text("Sam Lee")
    await expect(first.page.locator("#offers > li")).to_have_count(0)
    assert first.problems == [] and second.problems == []
    await customer.close()


async def test_customer_text_is_shown_as_text_and_never_runs(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")

    customer = await ChatCustomer.connect(hub, name=XSS_NAME)
    await customer.say(XSS_TEXT)
    offer = page.locator("#offers > li")
    await expect(offer.locator(".offer-name")).to_have_text(XSS_NAME)
    await expect(offer.locator(".offer-preview")).to_have_text(XSS_TEXT)
    await offer.get_by_role("button", name="Accept").click()

    await expect(page.locator("#conversation-title")).to_have_text(XSS_NAME)
    await expect(page.locator(".message-incoming .message-text")).to_have_text(XSS_TEXT)
    await expect(page.locator(".message-incoming .message-sender")).to_have_text(XSS_NAME)
    await expect(page.locator("#customer-name")).to_have_text(XSS_NAME)
    await expect(page.locator("#conversations .item-name")).to_have_text(XSS_NAME)
    await expect(page.locator("#timeline")).to_contain_text(XSS_TEXT)
    await expect(page.get_by_text(XSS_TEXT, exact=True).first).to_be_visible()

    assert await page.evaluate("typeof window.__pwned") == "undefined"
    assert await page.locator("img").count() == 0
    assert await page.locator("body script").count() == 0
    assert alice.problems == []
    await customer.close()


async def test_notes_suggestions_unread_counts_and_wrap_up(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("alice")
    await add_article(
        hub,
        "Resetting your password",
        "Open the sign-in page and choose Forgot password. "
        "We email you a link that works for an hour.",
        ["password", "login"],
    )
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")
    offers = page.locator("#offers > li")

    jane = await ChatCustomer.connect(hub, name="Jane Doe")
    await jane.say("I forgot my password and cannot log in")
    await offers.get_by_role("button", name="Accept").click()
    await expect(page.locator("#conversation-title")).to_have_text("Jane Doe")

    omar = await ChatCustomer.connect(hub, name="Omar Haddad")
    await omar.say("Do you ship to Canada?")
    await expect(offers).to_contain_text("Omar Haddad")
    await offers.get_by_role("button", name="Accept").click()
    await expect(page.locator("#conversation-title")).to_have_text("Omar Haddad")
    await expect(page.locator("#conversations > li")).to_have_count(2)

    # Jane writes while Omar's conversation is open: her entry counts it as unread.
    await jane.say("Are you still there?")
    jane_entry = page.locator("#conversations > li", has_text="Jane Doe")
    await expect(jane_entry.locator(".unread")).to_have_text("1")
    await expect(jane_entry).to_contain_text("Are you still there?")
    await expect(page).to_have_title("(1) Switchboard console")
    await jane_entry.get_by_role("button").click()
    await expect(page.locator("#conversation-title")).to_have_text("Jane Doe")
    await expect(page.locator("#messages")).to_contain_text("Are you still there?")
    await expect(jane_entry.locator(".unread")).to_be_hidden()

    # The knowledge panel searches the latest customer message; Insert fills the reply box.
    await jane.say("I forgot my password, how do I reset it?")
    await expect(page.locator("#knowledge-query")).to_contain_text("how do I reset it?")
    suggestion = page.locator("#suggestions > li", has_text="Resetting your password")
    await expect(suggestion).to_contain_text("Forgot password")
    await expect(suggestion.locator(".suggestion-score")).to_have_text(re.compile(r"^\d+\.\d\d$"))
    await expect(suggestion.locator(".suggestion-method")).not_to_be_empty()
    helpful = suggestion.get_by_role("button", name="Mark Resetting your password helpful")
    await expect(helpful.locator("svg")).to_have_count(1)  # drawn, not an emoji font's glyph
    await expect(helpful).to_have_text("")
    await suggestion.get_by_role("button", name="Insert").click()
    reply_box = page.get_by_role("textbox", name="Reply")
    await expect(reply_box).to_have_value(re.compile(r"Forgot password"))
    await expect(reply_box).to_be_focused()
    # Inserting and voting are recorded, so the article is lifted for similar questions.
    await suggestion.get_by_role("button", name="Mark Resetting your password helpful").click()

    async def verdicts() -> list[str] | None:
        async with hub.sessions() as session:
            found = sorted(await session.scalars(select(ArticleFeedback.verdict)))
        return found if len(found) == 2 else None

    assert await eventually(verdicts) == ["helpful", "inserted"]

    # A private note stays on the record and off the customer's screen.
    await reply_box.fill("Customer is on the legacy plan.")
    await page.get_by_role("button", name="Add private note").click()
    note = page.locator(".message-note")
    await expect(note).to_contain_text("Customer is on the legacy plan.")
    await expect(note.locator(".message-sender")).to_have_text("Private note")
    await expect(page.locator("#timeline")).to_contain_text("Customer is on the legacy plan.")
    rejoined = await ChatCustomer.connect(hub, token=jane.token)
    assert "Customer is on the legacy plan." not in [m["text"] for m in rejoined.transcript]
    await rejoined.close()

    # Shift+Enter makes a new line; Enter sends.
    await reply_box.fill("")
    await reply_box.press_sequentially("Line one")
    await reply_box.press("Shift+Enter")
    await reply_box.press_sequentially("line two")
    await expect(reply_box).to_have_value("Line one\nline two")
    await reply_box.press("Enter")
    sent = await jane.expect("message")
    assert sent["text"] == "Line one\nline two"

    # Wrap-up: the outcome is recorded and the conversation leaves the inbox.
    await page.get_by_role("button", name="Wrap up").click()
    await expect(page.get_by_label("Outcome")).to_be_focused()
    await page.get_by_label("Outcome").select_option("escalated")
    await page.get_by_label("Summary").fill("Sent the reset link; escalated the lockout.")
    await page.get_by_role("button", name="Close conversation").click()
    await expect(page.locator("#toast")).to_have_text("Conversation with Jane Doe closed.")
    await expect(page.locator("#conversations > li")).to_have_count(1)
    await expect(page.locator("#conversation-empty")).to_be_visible()
    async with hub.sessions() as session:
        closed = await session.scalar(select(Conversation).where(Conversation.status == "closed"))
    assert closed is not None
    assert (closed.disposition, closed.summary) == (
        "escalated",
        "Sent the reset link; escalated the lockout.",
    )
    assert alice.problems == []
    await jane.close()
    await omar.close()


async def test_console_catches_up_after_losing_its_socket(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("alice", status="available")
    blocked = asyncio.Event()

    async def gate(ws: WebSocketRoute) -> None:
        """Between the page and the hub: refuses new sockets while `blocked` is set."""
        if blocked.is_set():
            await ws.close(code=1013, reason="blocked by the test")
        else:
            ws.connect_to_server()

    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.route_web_socket(re.compile(r"/console/ws$"), gate)
    page = await context.new_page()
    await page.goto(hub.url + "/console/login")
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    connection = page.locator("#connection")
    await expect(connection).to_have_attribute("data-state", "live")

    blocked.set()
    await hub.app[AGENT_SOCKETS].close_all()
    await expect(connection).to_have_attribute("data-state", "offline")
    await expect(connection).to_contain_text("Reconnecting")

    customer = await ChatCustomer.connect(hub, name="Late Larry")
    await customer.say("Anyone there?")
    await pending_offer(hub)
    await asyncio.sleep(0.3)
    await expect(page.locator("#offers > li")).to_have_count(0)

    blocked.clear()
    await expect(connection).to_have_attribute("data-state", "live")
    await expect(page.locator("#offers > li")).to_contain_text("Late Larry")
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()
    await expect(page.locator("#conversation-title")).to_have_text("Late Larry")
    await customer.close()


async def test_an_ended_session_returns_to_the_login_page(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice")
    await alice.page.context.clear_cookies()
    await hub.app[AGENT_SOCKETS].close_all()
    await expect(alice.page).to_have_url(re.compile(r"/console/login$"))


async def test_the_console_is_usable_from_the_keyboard(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await page.keyboard.press("Tab")  # the skip link comes first
    await page.keyboard.press("Tab")
    for _ in range(6):
        focused = await page.evaluate("document.activeElement?.getAttribute('name')")
        if focused == "presence":
            break
        await page.keyboard.press("Tab")
    else:
        raise AssertionError("the presence switch is not reachable with Tab")
    async with page.expect_response(re.compile(r"/api/me/status$")):
        await page.keyboard.press("ArrowLeft")  # a radio group moves with the arrow keys
    await expect(page.locator("#presence")).to_have_attribute("data-status", "away")
    await expect(page.locator("#presence-hint")).to_have_text(
        "You are away: no new offers will reach you."
    )
    await page.get_by_role("button", name="Sign out").focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/console/login$"))


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG (red pixels), so the browser can decode the preview."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_an_email_shows_its_attachments_and_folds_its_quoted_text(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")

    picture = tiny_png()
    message = mail(
        "Cracked screen",
        "Here is a photo of the screen.\n\nOn Mon, 2 Nov 2026 at 09:00, Support wrote:\n"
        "> Could you send us a photo?\n",
    )
    message.add_attachment(picture, maintype="image", subtype="png", filename="screen.png")
    message.add_attachment(
        b"<html><script>window.__pwned=1</script></html>",
        maintype="text",
        subtype="html",
        filename="<img src=x onerror=window.__pwned=1>.html",
    )
    await send(hub, message)
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()

    incoming = page.locator(".message-incoming")
    await expect(incoming.locator(".message-text")).to_have_text("Here is a photo of the screen.")
    quoted = incoming.locator(".message-quoted")
    await expect(quoted.locator(".message-quoted-text")).to_be_hidden()
    await quoted.get_by_text("Show quoted text").click()
    await expect(quoted.locator(".message-quoted-text")).to_contain_text(
        "> Could you send us a photo?"
    )

    links = incoming.locator(".attachment-link")
    await expect(links).to_have_text(["screen.png", "<img src=x onerror=window.__pwned=1>.html"])
    preview = incoming.locator("img.attachment-preview")
    await expect(preview).to_have_count(1)  # only the picture is shown in place
    assert await eventually(lambda: preview.evaluate("img => img.complete && img.naturalWidth"))
    assert await preview.evaluate("img => img.naturalWidth") == 3
    async with page.expect_download() as downloading:
        await links.first.click()
    download = await downloading.value
    assert download.suggested_filename == "screen.png"
    saved = Path(await download.path())
    assert await asyncio.to_thread(saved.read_bytes) == picture

    assert await page.evaluate("typeof window.__pwned") == "undefined"
    assert alice.problems == []


# Counts the tones the page plays, at the browser's own Web Audio API.
TONE_COUNTER = """
window.__tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__tones += 1;
  return start.apply(this, args);
};
"""


async def test_an_offer_rings_until_it_is_taken_and_the_bell_silences_it(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice", init=TONE_COUNTER)
    page = alice.page
    offers = page.locator("#offers")
    bell = page.locator("#ring-toggle")
    await expect(bell).to_have_attribute("aria-pressed", "true")
    await alice.set_status("available")

    first = await ChatCustomer.connect(hub, name="Jane Doe")
    await first.say("Hello?")
    await expect(offers).to_have_attribute("data-ringing", "true")
    assert await eventually(lambda: page.evaluate("window.__tones >= 2"))  # a two-tone chirp
    await expect(page).to_have_title("(1) Switchboard console")
    await offers.get_by_role("button", name="Accept").click()
    await expect(offers).to_have_attribute("data-ringing", "false")

    await bell.click()
    await expect(bell).to_have_attribute("aria-pressed", "false")
    await expect(bell).to_have_text("Sound off")
    tones = await page.evaluate("window.__tones")
    second = await ChatCustomer.connect(hub, name="John Roe")
    await second.say("Anyone there?")
    await expect(offers.locator("> li")).to_have_count(1)
    await expect(offers).to_have_attribute("data-ringing", "false")
    assert await page.evaluate("window.__tones") == tones  # silenced: not one more tone

    await page.reload()  # the choice stays with this browser
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    await expect(bell).to_have_attribute("aria-pressed", "false")
    await expect(offers.locator("> li")).to_have_count(1)
    await expect(offers).to_have_attribute("data-ringing", "false")
    await bell.click()
    await expect(offers).to_have_attribute("data-ringing", "true")
    assert alice.problems == []
    await first.close()
    await second.close()
