"""The keypad rating at the end of a call: a caller still on the line when their agent
hangs up is asked 1-5, once per conversation, as Twilio's signed webhooks meet the hub."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from hub.demo import PHONE_MENU
from hub.keys import BUS, SURVEYS
from hub.models import CustomerAddress, Survey, utcnow
from hub.settings import Settings
from tests.channels.test_sms_survey import _next
from tests.channels.twilio_side import PUBLIC_URL, CallsApi
from tests.channels.voice.test_voice import (
    CALLER,
    Twilio,
    _has,
    accept_next_offer,
    call_form,
    calls_api,
    new_call,
    queue_call,
    store_menu,
    timeline,
    voice_settings,
)
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

__all__ = ["calls_api", "voice_settings"]  # fixtures used here

DIALED = "/webhooks/twilio/voice/dialed"
MENU = "/webhooks/twilio/voice/menu"
STRANGER = "+14155550199"  # another customer, calling about their own conversation
SURVEY = "/webhooks/twilio/voice/survey"


@pytest.fixture
async def hub(voice_settings: Settings) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(voice_settings, survey_channels="voice")
    async with start_hub(settings, clean=True) as running:
        await store_menu(running, PHONE_MENU)
        yield running


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


async def talked_with_alice(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> tuple[str, int]:
    """A caller put through to Alice: the call's sid and its conversation."""
    sid = new_call()
    calls_api[0].live.add(sid)
    await queue_call(Twilio(hub), sid)
    conversation_id = await accept_next_offer(alice)
    await eventually(lambda: _has(hub, conversation_id, "call.connected"))
    return sid, conversation_id


def agent_hung_up(sid: str, **fields: str) -> dict[str, str]:
    """Twilio's Dial action once the agent's leg ended with the caller still there."""
    dial = {"DialCallSid": "CA" + "d" * 32, "DialCallStatus": "completed", "DialCallDuration": "95"}
    return call_form(sid, **{**dial, **fields})


def survey_url(conversation_id: int, attempt: int) -> str:
    return f"{SURVEY}?conversation={conversation_id}&attempt={attempt}"


def asks(answer: ET.Element, conversation_id: int, attempt: int = 1) -> bool:
    """Whether the TwiML asks for a keypad rating, answered at `attempt`'s address."""
    gather = answer.find("Gather")
    if gather is None:
        return False
    action = PUBLIC_URL + survey_url(conversation_id, attempt)
    assert (gather.get("input"), gather.get("numDigits"), gather.get("timeout")) == (
        "dtmf",
        "1",
        "8",
    )
    assert gather.get("action") == action
    assert "rate this call from 1 to 5" in "".join(gather.itertext())
    redirect = answer.find("Redirect")  # silence is answered like a wrong key
    assert redirect is not None and redirect.text == action
    return True


def said(answer: ET.Element) -> str:
    return " ".join("".join(say.itertext()) for say in answer.iter("Say"))


async def surveys(hub: Hub) -> list[Survey]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Survey).order_by(Survey.id)))


async def test_with_voice_surveys_off_the_call_just_ends(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    async with hub.sessions() as session, session.begin():
        await hub.app[SURVEYS].turn(session, {"voice": False})
    sid, conversation_id = await talked_with_alice(hub, alice, calls_api)

    answer = await Twilio(hub).twiml(DIALED, agent_hung_up(sid))

    assert answer.find("Hangup") is not None and answer.find("Gather") is None
    assert await surveys(hub) == []


async def test_a_caller_rates_the_call_4_once_and_it_lands_on_the_timeline(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    twilio = Twilio(hub)
    sid, conversation_id = await talked_with_alice(hub, alice, calls_api)
    alice_id = (await alice.get("/api/me"))["id"]
    bus = await hub.app[BUS].subscribe()

    for _retry in range(2):  # a retried Dial action asks the same question
        assert asks(await twilio.twiml(DIALED, agent_hung_up(sid)), conversation_id)
    for _retry in range(2):  # Twilio retries when it did not hear back in time
        answer = await twilio.twiml(survey_url(conversation_id, 1), call_form(sid, Digits="4"))
        assert "Thank you" in said(answer) and answer.find("Hangup") is not None

    [survey] = await surveys(hub)
    assert (survey.channel, survey.address, survey.rating) == ("voice", CALLER, 4)
    assert survey.answer_id == f"call:{sid}"
    events = await timeline(hub, conversation_id)
    assert [e for e in events if e[0].startswith("survey.")] == [
        ("survey.asked", "Asked for a rating on the keypad as the call ended"),
        ("survey.answered", "Rated 4/5"),
    ]
    received = await _next(bus, "csat.received")
    assert (received["rating"], received["channel"]) == (4, "voice")
    assert (received["conversation_id"], received["agent_id"]) == (conversation_id, alice_id)
    await bus.close()
    await hub.add_agent("sue", role="supervisor")
    supervisor = await hub.login("sue")
    try:
        for by, key in (("channel", "voice"), ("agent", alice_id)):
            report = await supervisor.get(f"/api/supervisor/csat?by={by}")
            assert [(r["key"], r["answers"], r["average"]) for r in report["rows"]] == [(key, 1, 4)]
    finally:
        await supervisor.close()
    # The conversation closes later: nobody is asked again, on any channel.
    status, _ = await alice.post(f"/api/conversations/{conversation_id}/close")
    assert status == 200
    assert await hub.app[SURVEYS].ask(conversation_id) is None
    assert len(await surveys(hub)) == 1


async def test_a_wrong_key_or_silence_gets_one_more_try_then_the_call_ends(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    twilio = Twilio(hub)
    sid, conversation_id = await talked_with_alice(hub, alice, calls_api)
    assert asks(await twilio.twiml(DIALED, agent_hung_up(sid)), conversation_id)

    again = await twilio.twiml(survey_url(conversation_id, 1), call_form(sid, Digits="9"))
    assert "Sorry, that was not a number from 1 to 5" in said(again)
    assert asks(again, conversation_id, attempt=2)
    silence = await twilio.twiml(survey_url(conversation_id, 2), call_form(sid))
    assert silence.find("Hangup") is not None and silence.find("Gather") is None
    assert "Sorry" not in said(silence)

    [survey] = await surveys(hub)
    assert (survey.rating, survey.answered_at) == (None, None)
    assert not await _has(hub, conversation_id, "survey.answered")


async def test_no_input_at_first_is_asked_once_more_and_can_still_rate(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    twilio = Twilio(hub)
    sid, conversation_id = await talked_with_alice(hub, alice, calls_api)
    await twilio.twiml(DIALED, agent_hung_up(sid))

    again = await twilio.twiml(survey_url(conversation_id, 1), call_form(sid))
    assert asks(again, conversation_id, attempt=2) and "Sorry" in said(again)
    rated = await twilio.twiml(survey_url(conversation_id, 2), call_form(sid, Digits="2"))
    assert "Thank you" in said(rated)
    assert [s.rating for s in await surveys(hub)] == [2]


async def test_a_second_call_of_the_conversation_is_not_asked_again(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    twilio = Twilio(hub)
    sid, conversation_id = await talked_with_alice(hub, alice, calls_api)
    await twilio.twiml(DIALED, agent_hung_up(sid))
    await twilio.twiml(survey_url(conversation_id, 1), call_form(sid, Digits="5"))

    # The customer calls again while Alice still holds the conversation.
    second = new_call()
    straight = await twilio.twiml(MENU, call_form(second, Digits="1"))
    assert straight.find("Dial") is not None
    answer = await twilio.twiml(DIALED, agent_hung_up(second))
    assert answer.find("Gather") is None and answer.find("Hangup") is not None
    late = await twilio.twiml(survey_url(conversation_id, 1), call_form(second, Digits="1"))
    assert late.find("Hangup") is not None
    assert [s.rating for s in await surveys(hub)] == [5]
    answered = [e for e in await timeline(hub, conversation_id) if e[0] == "survey.answered"]
    assert answered == [("survey.answered", "Rated 5/5")]


async def test_an_opted_out_number_is_never_asked(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    sid, conversation_id = await talked_with_alice(hub, alice, calls_api)
    async with hub.sessions() as session, session.begin():
        await session.execute(
            update(CustomerAddress)
            .where(CustomerAddress.channel == "voice", CustomerAddress.address == CALLER)
            .values(opted_out_at=utcnow())
        )

    answer = await Twilio(hub).twiml(DIALED, agent_hung_up(sid))

    assert answer.find("Gather") is None and answer.find("Hangup") is not None
    assert await surveys(hub) == []


async def test_a_caller_who_hung_up_or_never_reached_an_agent_is_not_asked(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    twilio = Twilio(hub)
    sid, _ = await talked_with_alice(hub, alice, calls_api)
    gone = await twilio.twiml(DIALED, agent_hung_up(sid, CallStatus="completed"))
    assert gone.find("Gather") is None
    unanswered = agent_hung_up(sid, DialCallSid=new_call(), DialCallStatus="no-answer")
    assert (await twilio.twiml(DIALED, unanswered)).find("Record") is not None
    waiting = new_call()  # queued, never put through to anyone
    await queue_call(twilio, waiting, From=STRANGER)
    assert (await twilio.twiml(DIALED, agent_hung_up(waiting))).find("Gather") is None
    assert await surveys(hub) == []


async def test_nobody_can_rate_a_conversation_that_is_not_their_call(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    twilio = Twilio(hub)
    sid, conversation_id = await talked_with_alice(hub, alice, calls_api)
    await twilio.twiml(DIALED, agent_hung_up(sid))
    stranger = new_call()
    await queue_call(twilio, stranger, From=STRANGER)  # a call of another conversation

    for forged in (call_form(stranger, Digits="1"), call_form(new_call(), Digits="1")):
        status, _, _ = await twilio.post(survey_url(conversation_id, 1), forged)
        assert status == 403
    status, _, _ = await twilio.post(f"{SURVEY}?conversation=x&attempt=1", call_form(sid))
    assert status == 400
    status, _, _ = await twilio.post(
        survey_url(conversation_id, 1), call_form(sid, Digits="1"), signature="forged"
    )
    assert status == 403
    assert [s.rating for s in await surveys(hub)] == [None]
