"""A call in the agent's console: the callback's number, then the call's progress, live."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.agent_console.test_console_browser import browser, sign_in
from tests.channels.voice.test_voice import (
    CALLER,
    INBOX,
    CallsApi,
    Twilio,
    call_form,
    calls_api,
    hub,
    new_call,
    voice_settings,
)
from tests.support import Hub, eventually

__all__ = ["browser", "calls_api", "hub", "voice_settings"]  # fixtures used here


@pytest.mark.parametrize("backend", ["memory"])
async def test_an_agent_sees_whom_to_call_back_and_how_the_call_went(
    hub: Hub, browser: Browser, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")
    twilio, sid = Twilio(hub), new_call()
    await twilio.twiml("/webhooks/twilio/voice/menu", call_form(sid, Digits="4"))
    await twilio.twiml("/webhooks/twilio/voice/callback", call_form(sid, Digits="1"))

    offer = page.locator("#offers > li")
    await expect(offer.locator(".offer-preview")).to_have_text(f"Call back {CALLER}")
    await offer.get_by_role("button", name="Accept").click()
    meta = page.locator("#conversation-meta")
    await expect(meta).to_contain_text(f"Call back {CALLER}")

    (callback_sid,) = await eventually(lambda: _live(api))
    for report in (
        {"CallStatus": "in-progress"},
        {"CallStatus": "completed", "CallDuration": "61"},
    ):
        form = call_form(callback_sid, From=INBOX, To=CALLER, Direction="outbound-api", **report)
        status, _, _ = await twilio.post("/webhooks/twilio/voice/status", form)
        assert status == 204
    await expect(meta).to_contain_text(f"Callback {CALLER} · completed · 1:01")
    await expect(page.locator("#timeline")).to_contain_text(f"Alice is calling back {CALLER}")
    assert alice.problems == []


@pytest.mark.parametrize("backend", ["memory"])
async def test_an_agent_is_told_when_the_caller_hung_up_first(
    hub: Hub, browser: Browser, calls_api: tuple[CallsApi, str]
) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")
    # Not live at the fake Twilio: asked to put it through, Twilio answers 404.
    await Twilio(hub).twiml("/webhooks/twilio/voice/menu", call_form(new_call(), Digits="1"))

    await page.locator("#offers > li").get_by_role("button", name="Accept").click()

    await expect(page.locator("#toast")).to_have_text(
        "The caller hung up before Alice was connected."
    )
    await expect(page.locator("#conversations > li")).to_have_count(0)
    # The conversation is abandoned while the console opens it: its requests for it may
    # be answered 404 or 409 (and the browser logs those); nothing else may go wrong.
    vanished = ("status of 404", "status of 409")
    assert [p for p in alice.problems if not any(v in p for v in vanished)] == []


async def _live(api: CallsApi) -> set[str]:
    return set(api.live)


@pytest.mark.parametrize("backend", ["memory"])
async def test_an_agent_is_told_when_the_call_cannot_be_put_through(
    hub: Hub, browser: Browser, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    api.refuse_with = (503, 20503, "Service Unavailable")
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice")
    page = alice.page
    await alice.set_status("available")
    sid = new_call()
    api.live.add(sid)
    await Twilio(hub).twiml("/webhooks/twilio/voice/menu", call_form(sid, Digits="1"))

    await page.locator("#offers > li").get_by_role("button", name="Accept").click()

    await expect(page.locator("#toast")).to_contain_text("Could not put the call through to Alice")
    await expect(page.locator("#timeline")).to_contain_text("Could not put the call through")
    await expect(page.locator("#conversations > li")).to_have_count(1)  # still hers
    assert alice.problems == []
