"""SLA policies in a real browser: an admin writes one on the settings page, an agent's
timer counts down to the target and turns amber then red, and a supervisor's wallboard
lists the conversations at risk. Targets of a few seconds let the colours change while
the test watches; nothing is reloaded."""

from __future__ import annotations

from playwright.async_api import Browser, expect
from sqlalchemy import select

from hub.models import AuditEntry, SlaPolicy
from tests.agent_console.test_admin_browser import open_admin
from tests.agent_console.test_console_browser import XSS_NAME, browser, sign_in
from tests.agent_console.test_wallboard_browser import open_wallboard
from tests.support import ChatCustomer, Hub

__all__ = ["browser"]


async def add_policy(hub: Hub, **fields: object) -> None:
    async with hub.sessions() as session, session.begin():
        session.add(
            SlaPolicy(**{"name": "Chat", "channel": "chat", "business_hours": False, **fields})
        )


async def test_an_admin_adds_edits_and_removes_an_sla_policy(hub: Hub, browser: Browser) -> None:
    admin = await open_admin(hub, browser)
    page = admin.page
    section = page.locator("#sla-section")
    await section.get_by_role("button", name="Add SLA policy").click()
    await page.get_by_label("Name").and_(page.locator("#sla-name")).fill("VIP chat")
    await page.locator("#sla-channel").select_option("chat")
    await page.locator("#sla-segment").fill("vip")
    await page.locator("#sla-first").fill("5")
    await page.locator("#sla-resolution").fill("240")
    await section.get_by_role("button", name="Save SLA policy").click()
    row = page.locator("#sla-list tr").filter(has_text="VIP chat")
    await expect(row).to_contain_text("channel chat, segment vip")
    await expect(row).to_contain_text("First response 5 min · Resolution 240 min (business hours)")

    await row.get_by_role("button", name="Edit VIP chat").click()
    await page.locator("#sla-first").fill("")
    await page.locator("#sla-resolution").fill("")
    await section.get_by_role("button", name="Save SLA policy").click()
    await expect(page.locator("#sla-error")).to_contain_text("set at least one target")
    await page.locator("#sla-next").fill("10")
    await section.get_by_role("button", name="Save SLA policy").click()
    await expect(row).to_contain_text("Next response 10 min")

    await row.get_by_role("button", name="Remove VIP chat").click()
    await expect(page.locator("#sla-list tr")).to_have_count(0)
    async with hub.sessions() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.startswith("sla_policy."))
                .order_by(AuditEntry.id)
            )
        )
    assert actions == ["sla_policy.created", "sla_policy.updated", "sla_policy.deleted"]
    assert [p for p in admin.problems if "status of 400" not in p] == []


async def test_the_timer_turns_amber_then_red_and_a_reply_moves_it_on(
    hub: Hub, browser: Browser
) -> None:
    # Amber after 2 s, red after 6 s; then resolution, an hour away.
    await add_policy(hub, first_response=6, resolution=3600, warn_at=0.34)
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")
    customer = await ChatCustomer.connect(hub, name=XSS_NAME)
    await customer.say("Is anyone there?")
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()

    header = page.locator("#conversation-meta .sla-timer")
    listed = page.locator("#conversations .sla-timer")
    await expect(page.locator("#conversation-title")).to_have_text(XSS_NAME)
    await expect(header).to_contain_text("First response")
    await expect(header).to_have_attribute("data-state", "warn")
    await expect(listed).to_have_attribute("data-state", "warn")
    await expect(header).to_have_attribute("data-state", "breached")
    await expect(header).to_contain_text("over")
    await expect(listed).to_have_attribute("data-state", "breached")

    reply_box = page.get_by_role("textbox", name="Reply")
    await reply_box.fill("Yes, here now.")
    await reply_box.press("Enter")
    await expect(header).to_contain_text("Resolution")
    await expect(header).to_have_attribute("data-state", "ok")
    await expect(listed).to_contain_text("Resolution")
    assert await page.evaluate("window.__pwned") is None
    assert alice.problems == []
    await customer.close()


async def test_the_wallboard_lists_conversations_at_risk_soonest_first(
    hub: Hub, browser: Browser
) -> None:
    await add_policy(hub, first_response=4, warn_at=0.5)
    await hub.add_agent("sam", role="supervisor")
    supervisor = await open_wallboard(browser, hub, "sam")
    board = supervisor.page
    await expect(board.locator("#risk-empty")).to_be_visible()

    first = await ChatCustomer.connect(hub, name=XSS_NAME)
    await first.say("First!")
    second = await ChatCustomer.connect(hub, name="Second Customer")
    await second.say("Me too")

    rows = board.locator("#risk > tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0).locator(".risk-customer")).to_have_text(XSS_NAME)
    await expect(rows.nth(1).locator(".risk-customer")).to_have_text("Second Customer")
    await expect(rows.nth(0)).to_contain_text("general · chat")
    await expect(rows.nth(0)).to_contain_text("waiting")
    await expect(rows.nth(0)).to_contain_text("First response")
    await expect(rows.nth(0)).to_have_attribute("data-state", "breached")
    await expect(rows.nth(1)).to_have_attribute("data-state", "breached")
    await expect(rows.nth(0).locator(".risk-left")).to_contain_text("over")
    await expect(board.locator("#risk-count")).to_have_text("2")
    assert await board.evaluate("window.__pwned") is None
    assert await board.evaluate("window.__sameDocument") is True
    assert supervisor.problems == []
    await first.close()
    await second.close()
