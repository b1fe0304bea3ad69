"""The console's softphone, as the hub meets it: each agent's access token, calls rung on
the softphone or on the agent's own phone, and calls agents place to customers, with
Twilio's side signed as Twilio signs it and its TwiML read as XML."""

from __future__ import annotations

import dataclasses
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from hub.demo import PHONE_MENU
from hub.models import Customer, CustomerAddress, TimelineEvent, utcnow
from hub.settings import Settings
from tests.channels.voice.test_voice import (
    ACCOUNT_SID,
    CALLER,
    INBOX,
    CallsApi,
    Twilio,
    accept_next_offer,
    calls_api,
    new_call,
    queue_call,
    store_menu,
    voice_settings,
)
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

__all__ = ["calls_api", "voice_settings"]  # fixtures used here

API_KEY = "SK" + "5" * 32
API_SECRET = "softphone-api-secret-for-the-tests"  # 32 characters, as Twilio's are
APP_SID = "AP" + "7" * 32
OUTBOUND = "/webhooks/twilio/voice/outbound"


@pytest.fixture
def softphone_settings(voice_settings: Settings) -> Settings:
    return dataclasses.replace(
        voice_settings,
        twilio_api_key=API_KEY,
        twilio_api_secret=API_SECRET,
        twilio_twiml_app_sid=APP_SID,
        voice_token_ttl=1800,
    )


@pytest.fixture
async def hub(softphone_settings: Settings) -> AsyncIterator[Hub]:
    async with start_hub(softphone_settings, clean=True) as running:
        await store_menu(running, PHONE_MENU)
        yield running


async def agent(hub: Hub, name: str, status: str = "available") -> tuple[int, AgentClient]:
    agent_id = await hub.add_agent(name, skills={"support": 5}, status=status)
    return agent_id, await hub.login(name)


async def request(client: AgentClient, method: str, path: str, body: Any = None) -> Any:
    async with client.http.request(method, path.lstrip("/"), json=body) as response:
        return response.status, await response.json()


# --- the token --------------------------------------------------------------------


async def test_an_agent_gets_a_short_lived_token_for_their_own_identity(hub: Hub) -> None:
    alice_id, alice = await agent(hub, "alice")
    bob_id, bob = await agent(hub, "bob")

    assert (await alice.get("/api/me"))["softphone"] is True
    before = int(time.time())
    for client, own_id in ((alice, alice_id), (bob, bob_id)):
        for method in ("GET", "POST"):
            status, body = await request(client, method, "/api/voice/token")
            assert status == 200, body
            claims = jwt.decode(body["token"], API_SECRET, algorithms=["HS256"])
            assert (claims["iss"], claims["sub"]) == (API_KEY, ACCOUNT_SID)
            grants = claims["grants"]
            assert grants["identity"] == body["identity"] == f"agent_{own_id}"
            assert grants["voice"] == {
                "incoming": {"allow": True},
                "outgoing": {"application_sid": APP_SID},
            }
            assert before + 1800 <= claims["exp"] <= int(time.time()) + 1800
            assert body["ttl"] == 1800
    await alice.close()
    await bob.close()


async def test_no_token_without_a_session(hub: Hub) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(hub.url + "/api/voice/token") as answer:
        assert answer.status == 401


@pytest.mark.parametrize("backend", ["memory"])
async def test_an_unconfigured_softphone_says_what_to_set(voice_settings: Settings) -> None:
    async with start_hub(voice_settings, clean=True) as bare:
        _, alice = await agent(bare, "alice")
        assert (await alice.get("/api/me"))["softphone"] is False  # the console asks nothing
        status, body = await request(alice, "GET", "/api/voice/token")
        assert status == 404  # no softphone here, as no such route
        assert "SWITCHBOARD_TWILIO_API_KEY" in body["error"]
        assert "SWITCHBOARD_TWILIO_TWIML_APP_SID" in body["error"]
        await alice.close()


# --- softphone or own phone -------------------------------------------------------


def dialled(twiml: str) -> tuple[str, str | None]:
    """What the `<Dial>` rings: ("Client", identity) or ("Number", number)."""
    dial = ET.fromstring(twiml).find("Dial")
    assert dial is not None, twiml
    (target,) = list(dial)
    return target.tag, target.text


async def test_a_call_rings_the_softphone_or_the_agents_own_phone(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    alice_id, alice = await agent(hub, "alice")

    status, body = await request(alice, "PUT", "/api/me/ring-number", {"ring_number": "12"})
    assert status == 400
    assert body["error"].startswith("ring_number: ")
    status, body = await request(
        alice, "PUT", "/api/me/ring-number", {"ring_number": "+1 (415) 555-0199"}
    )
    assert (status, body) == (200, {"ring_number": "+14155550199"})
    assert (await alice.get("/api/me"))["ring_number"] == "+14155550199"

    first = new_call()
    api.live.add(first)
    await queue_call(Twilio(hub), first)
    conversation_id = await accept_next_offer(alice)
    (update,) = await eventually(lambda: _updates_of(api, first))
    assert dialled(update["form"]["Twiml"][0]) == ("Number", "+14155550199")
    await alice.post(f"/api/conversations/{conversation_id}/close", {"disposition": "resolved"})

    status, body = await request(alice, "PUT", "/api/me/ring-number", {"ring_number": None})
    assert (status, body) == (200, {"ring_number": None})
    second = new_call()
    api.live.add(second)
    await queue_call(Twilio(hub), second, From="+14155550124")
    await accept_next_offer(alice)
    (update,) = await eventually(lambda: _updates_of(api, second))
    assert dialled(update["form"]["Twiml"][0]) == ("Client", f"agent_{alice_id}")
    await alice.close()


async def _updates_of(api: CallsApi, sid: str) -> list[dict[str, Any]]:
    return [u for u in api.updates() if u["sid"] == sid]


# --- calling a customer -------------------------------------------------------------


async def known_caller(hub: Hub, api: CallsApi, agent: AgentClient) -> int:
    """A customer whose call to the hub's number the agent took (so the agent may open
    their record): their number, and the voice inbox."""
    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)
    await accept_next_offer(agent)
    async with hub.sessions() as session:
        address = await session.scalar(
            select(CustomerAddress).where(CustomerAddress.address == CALLER)
        )
        assert address is not None
        return address.customer_id


def outbound_form(agent_id: int, params: dict[str, str], sid: str) -> dict[str, str]:
    """What Twilio posts to the TwiML app's voice URL for a call from the browser."""
    return {
        "CallSid": sid,
        "AccountSid": ACCOUNT_SID,
        "ApplicationSid": APP_SID,
        "From": f"client:agent_{agent_id}",
        "Caller": f"client:agent_{agent_id}",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **params,
    }


async def test_an_agent_calls_a_customer_from_the_inbox_number(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    alice_id, alice = await agent(hub, "alice")
    customer_id = await known_caller(hub, calls_api[0], alice)

    status, body = await request(
        alice, "POST", "/api/voice/outbound", {"customer_id": customer_id, "address": CALLER}
    )
    assert status == 200, body
    assert body["caller_id"] == INBOX
    params = body["params"]
    assert (params["To"], params["customer_id"]) == (CALLER, str(customer_id))

    sid = new_call()
    answer = await Twilio(hub).twiml(OUTBOUND, outbound_form(alice_id, params, sid))
    dial = answer.find("Dial")
    assert dial is not None and dial.get("callerId") == INBOX
    assert [(n.tag, n.text) for n in dial] == [("Number", CALLER)]
    # Twilio asks again for the same call (a retried webhook): the same answer, one entry.
    again = await Twilio(hub).twiml(OUTBOUND, outbound_form(alice_id, params, sid))
    assert [(n.tag, n.text) for n in again.find("Dial") or []] == [("Number", CALLER)]
    async with hub.sessions() as session:
        placed = list(
            await session.scalars(
                select(TimelineEvent).where(
                    TimelineEvent.customer_id == customer_id, TimelineEvent.kind == "call.placed"
                )
            )
        )
    assert [(e.summary, e.agent_id, e.data["sid"]) for e in placed] == [
        (f"Alice called {CALLER}", alice_id, sid)
    ]
    await alice.close()


async def test_a_call_is_placed_only_as_the_console_allowed_it(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    alice_id, alice = await agent(hub, "alice")
    customer_id = await known_caller(hub, calls_api[0], alice)
    bob_id, bob = await agent(hub, "bob")
    _, body = await request(
        alice, "POST", "/api/voice/outbound", {"customer_id": customer_id, "address": CALLER}
    )
    params = body["params"]
    twilio = Twilio(hub)

    # Bob's browser replaying Alice's ticket, another number, no ticket: refused aloud.
    for form in (
        outbound_form(bob_id, params, new_call()),
        outbound_form(alice_id, {**params, "To": "+14155550999"}, new_call()),
        outbound_form(alice_id, {"To": CALLER}, new_call()),
    ):
        answer = await twilio.twiml(OUTBOUND, form)
        assert answer.find("Dial") is None
        assert "not started from the console" in "".join(answer.itertext())
    # Unsigned: Twilio did not send it.
    status, _, _ = await twilio.post(
        OUTBOUND, outbound_form(alice_id, params, new_call()), signature="x"
    )
    assert status == 403
    await alice.close()
    await bob.close()


async def test_a_number_that_opted_out_is_not_called(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    alice_id, alice = await agent(hub, "alice")
    customer_id = await known_caller(hub, calls_api[0], alice)
    _, allowed = await request(
        alice, "POST", "/api/voice/outbound", {"customer_id": customer_id, "address": CALLER}
    )
    # The customer texts STOP from that number: it opts out (channels.messaging).
    async with hub.sessions() as session, session.begin():
        session.add(
            CustomerAddress(
                customer_id=customer_id, channel="sms", address=CALLER, opted_out_at=utcnow()
            )
        )

    status, body = await request(
        alice, "POST", "/api/voice/outbound", {"customer_id": customer_id, "address": CALLER}
    )
    assert (status, body) == (409, {"error": f"{CALLER} opted out of contact: it is not called."})
    # A call the console allowed before the opt-out is refused when Twilio asks, too.
    answer = await Twilio(hub).twiml(
        OUTBOUND, outbound_form(alice_id, allowed["params"], new_call())
    )
    assert answer.find("Dial") is None
    assert "opted out" in "".join(answer.itertext())

    status, body = await request(
        alice,
        "POST",
        "/api/voice/outbound",
        {"customer_id": customer_id, "address": "+14155550999"},
    )
    assert (status, body["error"]) == (
        400,
        "+14155550999 is not one of this customer's phone numbers.",
    )
    status, body = await request(alice, "POST", "/api/voice/outbound", {"customer_id": "x"})
    assert status == 400 and body["error"].startswith("customer_id: ")
    async with hub.sessions() as session:
        assert await session.get(Customer, customer_id) is not None
    await alice.close()


# --- hold ---------------------------------------------------------------------------


async def test_an_agent_holds_a_call_and_takes_the_caller_back(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    alice_id, alice = await agent(hub, "alice")
    _, bob = await agent(hub, "bob", status="offline")
    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)
    conversation_id = await accept_next_offer(alice)
    await eventually(lambda: _updates_of(api, sid))
    hold = f"/api/voice/conversations/{conversation_id}/hold"

    status, body = await request(bob, "POST", hold, {"on": True})
    assert (status, body) == (409, {"error": "This conversation has no call of yours to hold."})
    status, body = await request(alice, "POST", hold, {"on": "yes"})
    assert status == 400 and body["error"].startswith("on: ")

    status, body = await request(alice, "POST", hold, {"on": True})
    assert (status, body) == (200, {"on_hold": True, "summary": "Alice put the caller on hold"})
    held = ET.fromstring(_updates_of_now(api, sid)[-1]["form"]["Twiml"][0])
    assert [(e.tag, e.text) for e in held] == [
        ("Say", "Please hold."),
        ("Play", "https://music.example.test/hold.mp3"),
    ]
    assert held[1].get("loop") == "0"

    status, body = await request(alice, "POST", hold, {"on": False})
    assert (status, body["summary"]) == (200, "Alice took the caller back")
    back = _updates_of_now(api, sid)[-1]["form"]["Twiml"][0]
    assert dialled(back) == ("Client", f"agent_{alice_id}")
    async with hub.sessions() as session:
        kinds = list(
            await session.scalars(
                select(TimelineEvent.kind)
                .where(TimelineEvent.conversation_id == conversation_id)
                .order_by(TimelineEvent.id)
            )
        )
    assert kinds[-2:] == ["call.held", "call.resumed"]

    api.live.discard(sid)  # the caller hung up
    status, body = await request(alice, "POST", hold, {"on": True})
    assert (status, body) == (409, {"error": "The call has ended."})
    await alice.close()
    await bob.close()


def _updates_of_now(api: CallsApi, sid: str) -> list[dict[str, Any]]:
    return [u for u in api.updates() if u["sid"] == sid]
