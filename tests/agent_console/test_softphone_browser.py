"""The softphone in a real browser. Twilio's Voice SDK needs Twilio's servers, so the
pages get a stand-in for it in place of the vendored file: a `Twilio.Device` and `Call`
with exactly the methods the console uses (vendor/twilio-voice-api.json), each recording
how it was called. The vendored SDK itself is held to that same list: an upgrade that
drops a method or event the console relies on fails here."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import select

from agent_console.responses import STATIC
from hub.demo import PHONE_MENU
from hub.models import CustomerAddress, utcnow
from hub.settings import Settings
from tests.agent_console.test_console_browser import browser, sign_in
from tests.channels.voice.test_softphone import (
    API_KEY,
    API_SECRET,
    APP_SID,
    OUTBOUND,
    outbound_form,
)
from tests.channels.voice.test_voice import (
    CALLER,
    INBOX,
    CallsApi,
    Twilio,
    call_form,
    calls_api,
    new_call,
    queue_call,
    store_menu,
    voice_settings,
)
from tests.conftest import start_hub
from tests.support import Hub, eventually

__all__ = ["browser", "calls_api", "voice_settings"]  # fixtures used here

VENDOR = STATIC / "vendor"
SDK = VENDOR / "twilio-voice.min.js"
USED = json.loads((VENDOR / "twilio-voice-api.json").read_text(encoding="utf-8"))

# The stand-in: each method the console may use records its call, then acts as the SDK
# documents (accept, reject, disconnect and mute emit their events; connect gives a Call).
DOUBLE = """
(() => {
  const used = __USED__;
  const log = [];
  const shown = (value) => (typeof value === "function" ? "<function>" : value);
  const behaviour = {
    Device: {
      on(name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); return this; },
      register() { return Promise.resolve(); },
      connect(options) { return Promise.resolve(new Call(options.params || {})); },
      updateToken(token) { this.token = token; },
      destroy() {},
    },
    Call: {
      on(name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); return this; },
      accept() { this.emit("accept", this); },
      reject() { this.emit("reject"); },
      disconnect() { this.emit("disconnect", this); },
      mute(muted = true) { this.muted = muted; this.emit("mute", muted, this); },
      isMuted() { return this.muted; },
      sendDigits() {},
    },
  };
  function emit(name, ...args) { for (const fn of this.handlers[name] || []) fn(...args); }
  function Device(token, options) {
    this.handlers = {};
    this.token = token;
    log.push({ on: "Device", method: "new", args: [token, options] });
    window.__phone.devices.push(this);
  }
  function Call(parameters) {
    this.handlers = {};
    this.parameters = parameters;
    this.muted = false;
    window.__phone.calls.push(this);
  }
  for (const [kind, Kind] of [["Device", Device], ["Call", Call]]) {
    Object.defineProperty(Kind.prototype, "emit", { value: emit });
    for (const method of used[kind].methods) {
      Kind.prototype[method] = function (...args) {
        if (method !== "isMuted") log.push({ on: kind, method, args: args.map(shown) });
        return behaviour[kind][method].apply(this, args);
      };
    }
  }
  Device.EventName = Object.fromEntries(used.Device.events.map((e) => [e, e]));
  window.Twilio = { Device, Call };
  window.__phone = { log, devices: [], calls: [], Call };
})();
"""


# Twilio ringing the softphone: the Device hears "incoming" with a new Call.
RING = "(f) => window.__phone.devices[0].emit('incoming', new window.__phone.Call({ From: f }))"


def double_script() -> str:
    return DOUBLE.replace("__USED__", json.dumps(USED))


async def with_double(context: BrowserContext) -> None:
    async def serve(route: Route) -> None:
        await route.fulfill(body=double_script(), content_type="text/javascript")

    await context.route(re.compile(r"/console/static/vendor/twilio-voice\.min\.js"), serve)


async def phone_log(page: Page) -> list[dict[str, Any]]:
    return list(await page.evaluate("window.__phone.log"))


async def calls_of(page: Page, kind: str, method: str) -> list[list[Any]]:
    return [e["args"] for e in await phone_log(page) if (e["on"], e["method"]) == (kind, method)]


# --- the vendored SDK -----------------------------------------------------------------


async def test_the_vendored_sdk_has_every_method_and_event_the_console_uses(
    browser: Browser,
) -> None:
    page = await browser.new_page()
    await page.add_script_tag(path=str(SDK))
    found = await page.evaluate(
        """(used) => ({
            device: used.Device.methods.filter(
                (m) => typeof Twilio.Device.prototype[m] === "function"),
            call: used.Call.methods.filter(
                (m) => typeof Twilio.Call.prototype[m] === "function"),
            deviceEvents: Object.values(Twilio.Device.EventName),
        })""",
        USED,
    )
    await page.close()
    assert found["device"] == USED["Device"]["methods"]
    assert found["call"] == USED["Call"]["methods"]
    assert set(USED["Device"]["events"]) <= set(found["deviceEvents"])
    # Call has no list of its events: each one the console hears must be emitted.
    source = SDK.read_text(encoding="utf-8")
    assert [e for e in USED["Call"]["events"] if f'emit("{e}"' not in source] == []
    # The file is the one the README names.
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    assert f"SHA-256: {hashlib.sha256(SDK.read_bytes()).hexdigest()}" in readme
    version = re.search(r"^Version: (\S+)$", readme, re.M)
    assert version is not None and f'RELEASE_VERSION="{version[1]}"' in source
    assert (VENDOR / "twilio-voice-LICENSE.md").read_text(encoding="utf-8").strip()


def test_the_console_uses_nothing_of_the_sdk_beyond_the_list() -> None:
    """Every SDK method the page scripts call on a Device or Call is in the list."""
    scripts = "".join(
        (STATIC / name).read_text(encoding="utf-8")
        for name in ("phone.js", "console-phone.js", "customers-call.js")
    )
    called = set(re.findall(r"\b(?:device|call|phone\.call)\.(\w+)\(", scripts))
    listed = set(USED["Device"]["methods"]) | set(USED["Call"]["methods"])
    assert called and called <= listed, called - listed
    heard = set(re.findall(r'\.on\("(\w+)"', scripts))
    for names in re.findall(r"of \[([^\]]*)\]\) call\.on\(", scripts):
        heard |= set(re.findall(r'"(\w+)"', names))
    assert {"incoming", "tokenWillExpire", "disconnect"} <= heard
    events = set(USED["Device"]["events"]) | set(USED["Call"]["events"])
    assert heard <= events, heard - events


# --- the console ------------------------------------------------------------------------


@pytest.fixture
def softphone_settings(voice_settings: Settings) -> Settings:
    return dataclasses.replace(
        voice_settings,
        twilio_api_key=API_KEY,
        twilio_api_secret=API_SECRET,
        twilio_twiml_app_sid=APP_SID,
    )


@pytest.fixture
async def hub(softphone_settings: Settings) -> AsyncIterator[Hub]:
    async with start_hub(softphone_settings, clean=True) as running:
        await store_menu(running, PHONE_MENU)
        yield running


@pytest.mark.parametrize("backend", ["memory"])
async def test_an_accepted_call_is_answered_in_the_console_then_wrapped_up(
    hub: Hub, browser: Browser, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    alice_id = await hub.add_agent("alice", skills={"support": 5})
    alice = await sign_in(browser, hub, "alice", prepare=with_double)
    page = alice.page
    await alice.set_status("available")

    # The softphone registered with a token for Alice's own identity.
    await expect(page.locator("body")).to_have_attribute("data-phone", "registered")
    ((token, options),) = await calls_of(page, "Device", "new")
    claims = jwt.decode(token, API_SECRET, algorithms=["HS256"])
    assert claims["grants"]["identity"] == f"agent_{alice_id}"
    assert options == {"closeProtection": True}
    assert await calls_of(page, "Device", "register") == [[]]
    assert ["incoming", "<function>"] in await calls_of(page, "Device", "on")

    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)
    offer = page.locator("#offers > li")
    await expect(offer).to_have_count(1)
    await expect(page.locator("#offers")).to_have_attribute("data-ringing", "true")
    await offer.get_by_role("button", name="Accept").click()
    await eventually(lambda: _async([u for u in api.updates() if u["sid"] == sid]))

    # Twilio rings the softphone: the accepted offer answers it.
    await page.evaluate(RING, CALLER)
    bar = page.locator("#phone-bar")
    await expect(bar.get_by_role("status")).to_have_text(f"On a call with {CALLER}")
    assert await calls_of(page, "Call", "accept") == [[]]
    await expect(page.locator("#call-offer")).to_be_hidden()

    await bar.get_by_role("button", name="Mute").click()
    await expect(bar.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
    await bar.get_by_role("button", name="Unmute").click()
    assert await calls_of(page, "Call", "mute") == [[True], [False]]
    await bar.get_by_role("button", name="Keypad").click()
    for key in ("4", "2", "#"):
        await bar.get_by_role("button", name=f"Key {key}").click()
    assert await calls_of(page, "Call", "sendDigits") == [["4"], ["2"], ["#"]]

    # Hold: the hub plays the caller music, and Twilio ends the browser's leg.
    await bar.get_by_role("button", name="Hold").click()
    await expect(bar.get_by_role("status")).to_have_text("On hold")
    twiml = [u["form"]["Twiml"][0] for u in api.updates() if u["sid"] == sid]
    assert "<Play" in twiml[-1] and "<Dial" not in twiml[-1]
    await page.evaluate("window.__phone.calls[0].emit('disconnect', window.__phone.calls[0])")
    await expect(bar).to_be_visible()
    await expect(bar.get_by_role("button", name="Hang up")).to_be_disabled()
    await expect(page.locator("#wrapup")).to_be_hidden()
    # Resume: the hub rings the softphone again, and the console answers.
    await bar.get_by_role("button", name="Resume").click()
    await expect(bar.get_by_role("status")).to_have_text("Taking the caller back…")
    twiml = [u["form"]["Twiml"][0] for u in api.updates() if u["sid"] == sid]
    assert f"<Client>agent_{alice_id}</Client>" in twiml[-1]
    await page.evaluate(RING, CALLER)
    await expect(bar.get_by_role("status")).to_have_text(f"On a call with {CALLER}")
    assert await calls_of(page, "Call", "accept") == [[], []]

    await bar.get_by_role("button", name="Hang up").click()
    assert await calls_of(page, "Call", "disconnect") == [[]]

    await expect(bar).to_be_hidden()
    await expect(page.locator("#wrapup")).to_be_visible()  # the call's wrap-up, at once
    assert alice.problems == []


@pytest.mark.parametrize("backend", ["memory"])
async def test_a_call_without_an_offer_rings_and_is_answered_or_declined(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice", prepare=with_double)
    page = alice.page
    await expect(page.locator("body")).to_have_attribute("data-phone", "registered")
    ring = RING

    await page.evaluate(ring, CALLER)
    card = page.get_by_role("group", name="Incoming call")
    await expect(card).to_contain_text(CALLER)
    await expect(page.locator("#offers")).to_have_attribute("data-ringing", "true")
    await card.get_by_role("button", name="Decline").click()
    assert await calls_of(page, "Call", "reject") == [[]]
    await expect(card).to_be_hidden()
    await expect(page.locator("#offers")).to_have_attribute("data-ringing", "false")

    await page.evaluate(ring, "+14155550177")
    await card.get_by_role("button", name="Answer").click()
    assert await calls_of(page, "Call", "accept") == [[]]
    await expect(page.locator("#phone-bar").get_by_role("status")).to_have_text(
        "On a call with +14155550177"
    )
    assert alice.problems == []


@pytest.mark.parametrize("backend", ["memory"])
async def test_an_agent_sets_their_own_phone_and_the_console_stops_ringing_itself(
    hub: Hub, browser: Browser
) -> None:
    await hub.add_agent("alice")
    alice = await sign_in(browser, hub, "alice", prepare=with_double)
    page = alice.page
    async with page.expect_response(re.compile(r"/api/me$")):  # the form fills in first
        await page.locator("#my-settings summary").click()
    field = page.get_by_label(re.compile("Ring my phone instead"))
    await field.fill("555")
    await page.get_by_role("button", name="Save phone").click()
    await expect(page.locator("#ring-error")).to_contain_text("ring_number: ")
    await field.fill("+1 415 555 0199")
    await page.get_by_role("button", name="Save phone").click()
    await expect(page.locator("#toast")).to_have_text("Calls ring +14155550199.")

    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-phone", "ready")
    assert await calls_of(page, "Device", "register") == []  # calls ring her phone instead
    # The browser logs the refused number's 400; nothing else may go wrong.
    assert [p for p in alice.problems if "status of 400" not in p] == []


@pytest.mark.parametrize("backend", ["memory"])
async def test_click_to_call_from_the_customers_page(
    hub: Hub, browser: Browser, calls_api: tuple[CallsApi, str]
) -> None:
    alice_id = await hub.add_agent("alice", role="admin")  # admins open every record
    await queue_call(Twilio(hub), new_call())  # the customer called once
    async with hub.sessions() as session, session.begin():
        address = await session.scalar(
            select(CustomerAddress).where(CustomerAddress.address == CALLER)
        )
        assert address is not None
        customer_id = address.customer_id
        # A second number, which replied STOP to a text: no Call button for it.
        session.add(
            CustomerAddress(
                customer_id=customer_id,
                channel="sms",
                address="+14155550188",
                opted_out_at=utcnow(),
            )
        )
    alice = await sign_in(browser, hub, "alice", prepare=with_double)
    page = alice.page
    await page.goto(f"{hub.url}/console/customers#customer={customer_id}")
    addresses = page.locator("#record-addresses")
    await expect(addresses).to_contain_text("+14155550188")
    await expect(addresses.get_by_role("button", name=re.compile("^Call "))).to_have_count(1)

    await addresses.get_by_role("button", name=f"Call {CALLER}").click()
    await expect(page.locator("#phone-bar").get_by_role("status")).to_have_text(f"Calling {CALLER}")
    ((options,),) = await calls_of(page, "Device", "connect")
    params = options["params"]
    assert (params["To"], params["customer_id"]) == (CALLER, str(customer_id))
    assert await calls_of(page, "Device", "register") == []  # this page only places calls

    # What Twilio then asks the TwiML app's voice URL, with the browser's parameters.
    answer = await Twilio(hub).twiml(OUTBOUND, outbound_form(alice_id, params, new_call()))
    dial = answer.find("Dial")
    assert dial is not None and dial.get("callerId") == INBOX
    assert [(n.tag, n.text) for n in dial] == [("Number", CALLER)]

    await page.locator("#phone-bar").get_by_role("button", name="Hang up").click()
    await expect(page.locator("#phone-bar")).to_be_hidden()
    assert alice.problems == []


async def _async(value: Any) -> Any:
    return value


# The vendored file is what the console pages load.
def test_the_pages_load_the_vendored_sdk_from_the_hub() -> None:
    for name in ("console.html", "customers.html"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert '<script src="{{static:vendor/twilio-voice.min.js}}" defer></script>' in text
        assert text.index("vendor/twilio-voice.min.js") < text.index("{{static:phone.js}}")
    assert Path(SDK).stat().st_size > 100_000


@pytest.mark.parametrize("backend", ["memory"])
async def test_a_caller_who_hangs_up_on_hold_ends_the_call_in_the_console(
    hub: Hub, browser: Browser, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    await hub.add_agent("alice", skills={"support": 5})
    alice = await sign_in(browser, hub, "alice", prepare=with_double)
    page = alice.page
    await alice.set_status("available")
    await expect(page.locator("body")).to_have_attribute("data-phone", "registered")
    sid = new_call()
    api.live.add(sid)
    twilio = Twilio(hub)
    await queue_call(twilio, sid)
    offer = page.locator("#offers > li")
    await offer.get_by_role("button", name="Accept").click()
    await eventually(lambda: _async([u for u in api.updates() if u["sid"] == sid]))
    await page.evaluate(RING, CALLER)
    bar = page.locator("#phone-bar")
    await expect(bar.get_by_role("status")).to_have_text(f"On a call with {CALLER}")

    await bar.get_by_role("button", name="Hold").click()
    await expect(bar.get_by_role("status")).to_have_text("On hold")
    await page.evaluate("window.__phone.calls[0].emit('disconnect', window.__phone.calls[0])")
    await expect(bar.get_by_role("button", name="Resume")).to_be_visible()
    # The caller hangs up during the music: Twilio reports their call completed.
    status, _, body = await twilio.post(
        "/webhooks/twilio/voice/status",
        call_form(sid, CallStatus="completed", CallDuration="40"),
    )
    assert status == 204, body
    await expect(bar).to_be_hidden()
    await expect(page.locator("#wrapup")).to_be_visible()
    assert alice.problems == []
