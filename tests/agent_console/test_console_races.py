"""The console when the hub's answers come late: each test holds one answer back in the
browser until the agent has moved on, the order a loaded machine produces by chance."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Browser, BrowserContext, Request, Route, expect
from sqlalchemy import select

from hub.models import Agent
from tests.agent_console.test_console_browser import browser, sign_in
from tests.support import ChatCustomer, Hub, eventually

__all__ = ["browser"]  # the fixture, shared with the console's browser tests


class Gate:
    """Holds matching requests until opened; `server_first` lets the hub answer at once
    and holds only the answer on its way back to the page."""

    def __init__(self, server_first: bool = False) -> None:
        self.server_first = server_first
        self.armed = True
        self.held: list[Request] = []
        self.opened = asyncio.Event()

    async def handle(self, route: Route) -> None:
        if not self.armed or route.request.method != "GET":
            await route.continue_()
            return
        self.held.append(route.request)
        response = await route.fetch() if self.server_first else None
        await self.opened.wait()
        try:
            if response is None:
                await route.continue_()
            else:
                await route.fulfill(response=response)
        except Exception:  # the page called the request off meanwhile: that is the point
            pass

    async def caught(self) -> None:
        await eventually(lambda: asyncio.sleep(0, result=bool(self.held)))


async def test_wrapping_up_calls_off_the_panels_requests(hub: Hub, browser: Browser) -> None:
    """The possible-duplicates panel asked about the customer just before the agent closed
    the conversation; answered after the close, that was a 404 in the page."""
    await hub.add_agent("alice")
    gate = Gate()

    async def prepare(context: BrowserContext) -> None:
        await context.route(re.compile(r"/api/customers/\d+/possible$"), gate.handle)

    alice = await sign_in(browser, hub, "alice", prepare=prepare)
    page = alice.page
    await alice.set_status("available")
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("I forgot my password")
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()
    await expect(page.locator("#conversation-title")).to_have_text("Jane Doe")
    await gate.caught()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    await page.get_by_role("button", name="Wrap up").click()
    await page.get_by_role("button", name="Close conversation").click()
    await expect(page.locator("#conversation-empty")).to_be_visible()

    async def called_off() -> list[str] | None:  # every held request, never answered
        held = [request.url for request in gate.held]
        return held if set(held) <= set(failed) else None

    await eventually(called_off, timeout=5)
    gate.opened.set()
    await asyncio.sleep(0.5)  # what a late answer would do, it has had time to do
    assert alice.problems == []
    await customer.close()


async def test_a_wrap_up_the_hub_refuses_keeps_the_panels_live(hub: Hub, browser: Browser) -> None:
    await hub.add_agent("alice")

    async def prepare(context: BrowserContext) -> None:
        async def refuse(route: Route) -> None:
            await route.fulfill(status=409, json={"error": "Not now."})

        await context.route(re.compile(r"/api/conversations/\d+/close$"), refuse)

    alice = await sign_in(browser, hub, "alice", prepare=prepare)
    page = alice.page
    await alice.set_status("available")
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("Hello")
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()
    await page.get_by_role("button", name="Wrap up").click()
    await page.get_by_role("button", name="Close conversation").click()
    await expect(page.locator("#wrapup-error")).to_have_text("Not now.")
    await customer.say("Still there?")  # the thread and its panels keep following it
    await expect(page.locator("#messages")).to_contain_text("Still there?")
    await expect(page.locator("#timeline")).to_contain_text("Still there?")
    await customer.close()


async def test_a_late_read_of_my_status_does_not_flip_the_switch_back(
    hub: Hub, browser: Browser
) -> None:
    """The page reads /api/me as it connects; the agent clicks Available before that
    answer (read while still Offline) arrives."""
    agent_id = await hub.add_agent("alice")
    gate = Gate(server_first=True)

    async def prepare(context: BrowserContext) -> None:
        await context.route(re.compile(r"/api/me$"), gate.handle)

    alice = await sign_in(browser, hub, "alice", prepare=prepare)
    page = alice.page
    await gate.caught()
    await alice.set_status("available")
    gate.armed = False
    gate.opened.set()
    await asyncio.sleep(0.5)
    await expect(page.get_by_role("radio", name="Available")).to_be_checked()
    await expect(page.locator("#presence")).to_have_attribute("data-status", "available")

    async def stored() -> str | None:
        async with hub.sessions() as session:
            status = await session.scalar(select(Agent.status).where(Agent.id == agent_id))
        return status if status == "available" else None

    assert await eventually(stored) == "available"
    assert alice.problems == []


async def test_a_second_reply_goes_while_the_thread_rereads(hub: Hub, browser: Browser) -> None:
    """Enter pressed while the thread was still re-reading after the last reply used to
    be dropped without a word."""
    await hub.add_agent("alice")
    gate = Gate()
    gate.armed = False

    async def prepare(context: BrowserContext) -> None:
        await context.route(re.compile(r"/api/conversations/\d+$"), gate.handle)

    alice = await sign_in(browser, hub, "alice", prepare=prepare)
    page = alice.page
    await alice.set_status("available")
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("Hello")
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()
    await expect(page.locator("#conversation-title")).to_have_text("Jane Doe")
    reply = page.get_by_role("textbox", name="Reply")
    await expect(reply).to_be_focused()

    gate.armed = True  # from here the thread's re-reads wait
    await reply.fill("First answer.")
    await reply.press("Enter")
    assert (await customer.expect("message"))["text"] == "First answer."
    await expect(reply).to_have_value("")
    await reply.fill("Second answer.")
    await reply.press("Enter")
    assert (await customer.expect("message"))["text"] == "Second answer."
    gate.armed = False
    gate.opened.set()
    await expect(page.locator(".message-outgoing")).to_have_count(2)
    assert alice.problems == []
    await customer.close()
