"""A macro in a real browser: the agent picks one in the reply box, edits its filled-in
reply, applies it, and the chat customer gets the reply while the conversation is
labelled and closed with the macro's wrap-up code."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from hub.models import Conversation
from tests.agent_console.test_console_browser import browser, sign_in
from tests.support import ChatCustomer, Hub

__all__ = ["browser"]  # the fixture, shared with the console's browser tests


async def test_an_agent_answers_labels_and_closes_with_one_macro(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    status, macro = await ada.post(
        "/api/admin/macros",
        {
            "name": "Password reset",
            "reply": "Hi {customer.first_name}, I sent you a reset link.",
            "actions": [
                {"type": "label", "label": "password"},
                {"type": "close", "code": "resolved"},
            ],
        },
    )
    assert status == 201, macro
    await ada.close()

    await hub.add_agent("alice", skills={"support": 5})
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("I cannot sign in")
    await page.locator("#offers > li").get_by_role("button", name="Accept").click()
    reply = page.get_by_role("textbox", name="Reply")
    await expect(reply).to_be_focused()
    conversation_id = int((await page.evaluate("location.hash")).rsplit("-", 1)[1])

    await page.get_by_label("Macro").select_option(label="Password reset")
    await expect(reply).to_have_value("Hi Jane, I sent you a reset link.")
    await reply.fill("Hi Jane, I sent you a reset link; it works for an hour.")
    await page.get_by_role("button", name="Apply Password reset").click()

    await expect(page.locator("#toast")).to_have_text("Password reset applied.")
    await expect(page.locator("#conversation-empty")).to_be_visible()
    answer = await customer.expect("message")
    assert answer["text"] == "Hi Jane, I sent you a reset link; it works for an hour."
    async with hub.sessions() as session:
        closed = await session.get(Conversation, conversation_id)
    assert closed is not None
    assert (closed.status, closed.disposition, closed.labels) == (
        "closed",
        "resolved",
        ["password"],
    )
    assert alice.problems == []
    await customer.close()
