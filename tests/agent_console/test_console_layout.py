"""The console's layout on a 1024 px screen: three columns that fit, a customer column
that folds away and comes back, and nothing wider than the box it sits in."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from hub.models import Conversation, CustomerAddress
from tests.agent_console.test_console_browser import add_article, browser, sign_in
from tests.support import ChatCustomer, Hub

__all__ = ["browser"]  # the fixture, shared with the console's browser tests
SMALL = 1024
NAME = "Jane Featherstonehaugh-Montgomery"  # longer than an offer card is wide


async def overflows(page: Page, selector: str) -> list[str]:
    """Descendants of `selector` that stick out of it sideways, with by how many pixels."""
    return list(
        await page.eval_on_selector(
            selector,
            """(box) => {
                const edge = box.getBoundingClientRect();
                return [box, ...box.querySelectorAll("*")]
                    .filter((el) => el.getClientRects().length)
                    .map((el) => [el, el.getBoundingClientRect()])
                    .filter(([el, r]) => r.right > edge.right + 0.5 || r.left < edge.left - 0.5
                        || (el === box && el.scrollWidth > el.clientWidth))
                    .map(([el, r]) => `${el.tagName}.${el.className}`
                        + ` ${Math.round(r.right - edge.right)}px`);
            }""",
        )
    )


async def test_a_1024_px_screen_shows_the_customer_column_and_can_fold_it(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("alice")
    await add_article(
        hub,
        "Where is my parcel",
        "Parcels arrive within three working days. Track yours under Orders, then Tracking.",
        ["parcel", "delivery"],
    )
    alice = await sign_in(browser, hub, "alice", width=SMALL)
    page = alice.page
    await alice.set_status("available")
    customer = await ChatCustomer.connect(hub, name=NAME)
    # A long first message: the offer's two-line preview must wrap, not widen the column.
    await customer.say("Hello there. " + "It should have come on Monday, I was told. " * 4)
    offer = page.locator("#offers > li")
    await expect(offer.locator(".offer-preview")).to_contain_text("Monday")
    assert await overflows(page, ".inbox") == []
    await offer.get_by_role("button", name="Accept").click()
    await customer.say("Where is my parcel?")
    suggestion = page.locator("#suggestions > li").first
    await expect(suggestion.get_by_role("button", name=re.compile("^Insert"))).to_be_visible()

    await expect(page.locator("#customer-name")).to_have_text(NAME)
    await expect(page.locator("#timeline")).to_contain_text("Where is my parcel?")
    assert await page.evaluate("document.documentElement.scrollWidth") <= SMALL
    for column in (".inbox", ".thread", ".context"):
        assert await overflows(page, column) == [], column
    wide = (await page.locator(".thread").bounding_box() or {})["width"]
    assert wide >= 500  # the thread keeps room to read

    toggle = page.get_by_role("button", name="Hide panel")
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await toggle.click()
    await expect(page.locator("#customer-name")).to_be_hidden()
    back = page.get_by_role("button", name="Customer", exact=True)
    await expect(back).to_have_attribute("aria-expanded", "false")
    wider = (await page.locator(".thread").bounding_box() or {})["width"]
    assert wider > wide + 150

    await page.reload()  # remembered on this browser
    await expect(page.locator("#conversation-title")).to_have_text(NAME)
    await expect(page.locator("#customer-name")).to_be_hidden()
    await page.get_by_role("button", name="Customer", exact=True).click()
    await expect(page.locator("#customer-name")).to_have_text(NAME)
    await expect(page.locator("#timeline")).to_contain_text("Where is my parcel?")
    assert alice.problems == []
    await customer.close()


async def test_the_reply_bar_keeps_its_controls_apart_when_reply_on_appears(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice", width=SMALL)
    page = alice.page
    await alice.set_status("available")
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("I called, nobody answered")
    async with hub.sessions() as session, session.begin():
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None
        session.add(
            CustomerAddress(
                customer_id=conversation.customer_id, channel="voice", address="+14155550123"
            )
        )
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()
    await expect(page.get_by_label("Reply on")).to_be_visible()

    assert await overflows(page, ".composer-bar") == []
    boxes = [
        await page.locator(selector).bounding_box()
        for selector in ("#composer-hint", "#canned-button", "#reply-channel-field", "#note-button")
    ]
    boxes.append(await page.locator("#send-button").bounding_box())
    placed = [box for box in boxes if box]
    assert len(placed) == 5
    for index, one in enumerate(placed):
        for other in placed[index + 1 :]:
            apart = (
                one["x"] + one["width"] <= other["x"] + 0.5
                or other["x"] + other["width"] <= one["x"] + 0.5
                or one["y"] + one["height"] <= other["y"] + 0.5
                or other["y"] + other["height"] <= one["y"] + 0.5
            )
            assert apart, (one, other)
    for button in ("#canned-button", "#note-button", "#send-button"):  # one line of text each
        height = await page.locator(button).evaluate("(b) => b.getBoundingClientRect().height")
        line = await page.locator(button).evaluate(
            "(b) => { const s = getComputedStyle(b);"
            " return parseFloat(s.lineHeight) + 2 * parseFloat(s.paddingTop) + 2; }"
        )
        assert height <= line + 0.5, button
    assert alice.problems == []
    await customer.close()
