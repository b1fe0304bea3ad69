"""Phone calls through Twilio Voice, as Twilio meets the hub: signed webhooks, TwiML back.

Only Twilio is replaced: each step of a call is posted here exactly as Twilio posts it,
signed over the hub's proxy-style public URL, and the TwiML answers are read as XML.
"""

from __future__ import annotations

import dataclasses
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import delete, func, select
from twilio.request_validator import RequestValidator

from channels.voice import BRIDGE
from channels.voice._bridge import SORRY_SUMMARY, CallBridge
from hub.demo import PHONE_MENU
from hub.keys import BUS, CHANNELS, CONVERSATIONS, QUEUE
from hub.models import (
    Agent,
    Call,
    Conversation,
    Customer,
    Message,
    Offer,
    PhoneMenu,
    TimelineEvent,
    utcnow,
)
from hub.phone_menu import MAIN_MENU
from hub.settings import Settings
from routing.limits import Limit, set_limit
from routing.stats import queue_stats
from tests.channels.twilio_side import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, CallsApi, TwilioSide
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

T = TypeVar("T")
INBOX = "+14155550100"
CALLER = "+14155550123"
HOLD_MUSIC = "https://music.example.test/hold.mp3"


@pytest.fixture
async def calls_api() -> AsyncIterator[tuple[CallsApi, str]]:
    api = CallsApi()
    async with api.serving() as url:
        yield api, url


@pytest.fixture
def voice_settings(settings_for: Settings, calls_api: tuple[CallsApi, str]) -> Settings:
    return dataclasses.replace(
        settings_for,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_url=calls_api[1],
        public_url=PUBLIC_URL,
        cookie_secure=False,  # tests reach the hub over plain HTTP, not the HTTPS proxy
        voice_hold_music_url=HOLD_MUSIC,
        smtp_port=0,  # any free port: tests run side by side
    )


@pytest.fixture
async def hub(voice_settings: Settings) -> AsyncIterator[Hub]:
    async with start_hub(voice_settings, clean=True) as running:
        await store_menu(running, PHONE_MENU)  # the demo's: cards, loans, voicemail, callback
        yield running


async def store_menu(hub: Hub, menu: dict[str, Any]) -> None:
    async with hub.sessions() as session, session.begin():
        await session.execute(delete(PhoneMenu))
        session.add(PhoneMenu(name=MAIN_MENU, menu=menu))


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


class Twilio(TwilioSide):
    """What Twilio's side of a call does: sign each form over the public URL and post it."""

    async def twiml(self, path: str, form: dict[str, str]) -> ET.Element:
        status, content_type, body = await self.post(path, form)
        assert status == 200, body
        assert content_type == "application/xml"
        return ET.fromstring(body)


def call_form(sid: str, **fields: str) -> dict[str, str]:
    """The fields Twilio sends with every request about one call."""
    return {
        "CallSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CALLER,
        "To": INBOX,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "CallerCountry": "US",
        **fields,
    }


def new_call() -> str:
    return "CA" + uuid.uuid4().hex


def recorded_form(call: str, recording: str, seconds: str = "14") -> dict[str, str]:
    return call_form(
        call,
        CallStatus="completed",
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording}",
        RecordingSid=recording,
        RecordingDuration=seconds,
        Digits="hangup",
    )


async def stored(hub: Hub) -> list[Message]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


async def customers(hub: Hub) -> int:
    async with hub.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


async def accept_next_offer(agent: AgentClient) -> int:
    offers = await eventually(lambda: agent.get("/api/offers"))
    status, body = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200, body
    return int(body["conversation_id"])


async def test_a_caller_hears_a_menu_that_gathers_keys_and_speech(hub: Hub) -> None:
    answer = await Twilio(hub).twiml("/webhooks/twilio/voice", call_form(new_call()))

    gather = answer.find("Gather")
    assert gather is not None
    assert gather.get("action") == PUBLIC_URL + "/webhooks/twilio/voice/menu?step=main"
    assert (gather.get("input"), gather.get("numDigits")) == ("dtmf speech", "1")
    assert "press 1 for cards" in "".join(gather.itertext()).lower()
    redirect = answer.find("Redirect")  # silence falls through to the menu: a voicemail
    assert redirect is not None and redirect.text == gather.get("action")
    assert await stored(hub) == []


async def test_choosing_cards_queues_the_call_once_and_an_agent_is_offered_it(
    hub: Hub, alice: AgentClient
) -> None:
    twilio = Twilio(hub)
    form = call_form(new_call(), Digits="1", To="+1 (415) 555-0100")

    for _retry in range(2):  # Twilio retries when it did not hear back in time
        answer = await twilio.twiml("/webhooks/twilio/voice/menu", form)
        enqueue = answer.find("Enqueue")
        assert enqueue is not None and enqueue.text == "cards"
        assert enqueue.get("waitUrl") == PUBLIC_URL + "/webhooks/twilio/voice/wait"

    (message,) = await stored(hub)
    assert (message.channel, message.external_id) == ("voice", form["CallSid"])
    assert (message.sender, message.text) == (CALLER, "Phone call: cards")
    conversation_id = await accept_next_offer(alice)
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["channel"] == "voice"
    assert conversation["customer"]["addresses"] == [{"channel": "voice", "address": CALLER}]


async def test_saying_loans_queues_the_call_for_loans(hub: Hub) -> None:
    form = call_form(new_call(), SpeechResult="I need a loan please", Confidence="0.91")
    answer = await Twilio(hub).twiml("/webhooks/twilio/voice/menu", form)
    enqueue = answer.find("Enqueue")
    assert enqueue is not None and enqueue.text == "loans"
    assert [m.text for m in await stored(hub)] == ["Phone call: loans"]


async def test_a_waiting_caller_hears_their_position_and_hold_music(hub: Hub) -> None:
    form = call_form(new_call(), QueuePosition="2", CurrentQueueSize="3", AvgQueueTime="40")
    answer = await Twilio(hub).twiml("/webhooks/twilio/voice/wait", form)
    assert "number 2" in "".join(answer.find("Say").itertext())  # type: ignore[union-attr]
    assert answer.find("Play").text == HOLD_MUSIC  # type: ignore[union-attr]


async def test_an_unknown_key_plays_the_menu_again(hub: Hub) -> None:
    answer = await Twilio(hub).twiml(
        "/webhooks/twilio/voice/menu", call_form(new_call(), Digits="7")
    )
    assert answer.find("Redirect").text == PUBLIC_URL + "/webhooks/twilio/voice"  # type: ignore[union-attr]
    assert await stored(hub) == []


@pytest.mark.parametrize("choice", [{"Digits": "3"}, {}])
async def test_a_voicemail_is_recorded_queued_and_transcribed_on_one_conversation(
    hub: Hub, alice: AgentClient, choice: dict[str, str]
) -> None:
    twilio = Twilio(hub)
    call, recording = new_call(), "RE" + uuid.uuid4().hex

    answer = await twilio.twiml("/webhooks/twilio/voice/menu", call_form(call, **choice))
    record = answer.find("Record")
    assert record is not None
    assert record.get("action") == PUBLIC_URL + "/webhooks/twilio/voice/recorded"
    assert (record.get("maxLength"), record.get("transcribe")) == ("120", "true")
    assert record.get("transcribeCallback") == PUBLIC_URL + "/webhooks/twilio/voice/transcription"
    assert await stored(hub) == []

    for _retry in range(2):
        answer = await twilio.twiml(
            "/webhooks/twilio/voice/recorded", recorded_form(call, recording)
        )
        assert answer.find("Say") is not None and answer.find("Hangup") is not None
    (voicemail,) = await stored(hub)
    assert voicemail.external_id == f"voicemail:{recording}"
    assert voicemail.text == "Voicemail (14 s)"
    assert voicemail.attachments == [
        {
            "name": f"voicemail-{recording}.wav",
            "content_type": "audio/x-wav",
            "size": 0,
            "ref": recorded_form(call, recording)["RecordingUrl"],
        }
    ]

    transcription = call_form(
        call,
        RecordingSid=recording,
        TranscriptionSid="TR" + uuid.uuid4().hex,
        TranscriptionText="Hi, my card was swallowed by the machine.",
        TranscriptionStatus="completed",
    )
    for _retry in range(2):
        status, _, body = await twilio.post("/webhooks/twilio/voice/transcription", transcription)
        assert status == 204, body
    conversation_id = await accept_next_offer(alice)
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert [m["text"] for m in conversation["messages"]] == [
        "Voicemail (14 s)",
        "Voicemail transcript: Hi, my card was swallowed by the machine.",
    ]


async def test_a_failed_transcription_stores_nothing(hub: Hub) -> None:
    form = {"RecordingSid": "RE" + uuid.uuid4().hex, "TranscriptionStatus": "failed"}
    status, _, _ = await Twilio(hub).post("/webhooks/twilio/voice/transcription", form)
    assert status == 204
    assert await stored(hub) == []


async def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(hub: Hub) -> None:
    twilio = Twilio(hub)
    form = call_form(new_call(), Digits="1")
    path = "/webhooks/twilio/voice/menu"
    attempts = [
        ("", form),
        ("not-a-signature", form),
        (Twilio(hub, token="someone-elses-token").sign(path, form), form),
        (twilio.sign(path, form), {**form, "Digits": "2"}),
        (str(RequestValidator(AUTH_TOKEN).compute_signature(hub.url + path, form)), form),
    ]
    for signature, posted in attempts:
        status, _, _ = await twilio.post(path, posted, signature=signature)
        assert status == 403, signature
    recorded = recorded_form(form["CallSid"], "RE" + uuid.uuid4().hex)
    status, _, _ = await twilio.post("/webhooks/twilio/voice/recorded", recorded, signature="x")
    assert status == 403
    assert await stored(hub) == []
    assert await customers(hub) == 0


async def test_without_an_auth_token_every_voice_webhook_is_refused(
    voice_settings: Settings,
) -> None:
    settings = dataclasses.replace(voice_settings, twilio_auth_token="")
    async with start_hub(settings, clean=True) as hub:
        for path in ("/webhooks/twilio/voice", "/webhooks/twilio/voice/menu"):
            status, _, _ = await Twilio(hub).post(path, call_form(new_call(), Digits="1"))
            assert status == 403
        assert await stored(hub) == []


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/webhooks/twilio/voice", {"From": CALLER, "To": INBOX}),
        ("/webhooks/twilio/voice/menu", {"From": CALLER, "To": INBOX, "Digits": "1"}),
        ("/webhooks/twilio/voice/menu", call_form("CA../../etc", Digits="1")),
        ("/webhooks/twilio/voice/menu", call_form(new_call(), Digits="1", From="not a number")),
        ("/webhooks/twilio/voice/recorded", call_form(new_call(), RecordingSid="RE1")),
    ],
)
async def test_missing_fields_get_400_and_nothing_is_stored(
    hub: Hub, path: str, form: dict[str, str]
) -> None:
    status, _, body = await Twilio(hub).post(path, form)
    assert status == 400, body
    assert await stored(hub) == []


async def test_an_agent_reply_on_a_call_is_marked_failed(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    sid = new_call()
    calls_api[0].live.add(sid)
    await Twilio(hub).twiml("/webhooks/twilio/voice/menu", call_form(sid, Digits="2"))
    conversation_id = await accept_next_offer(alice)
    status, sent = await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Hi"})
    assert status == 200 and sent["delivery_status"] == "failed"


async def test_a_caller_who_withholds_their_number_still_reaches_the_queue(hub: Hub) -> None:
    first, second = new_call(), new_call()
    for sid in (first, second):
        answer = await Twilio(hub).twiml(
            "/webhooks/twilio/voice/menu", call_form(sid, Digits="1", From="Anonymous")
        )
        assert answer.find("Enqueue") is not None
    senders = sorted(m.sender for m in await stored(hub))
    assert senders == sorted([f"withheld:{first}", f"withheld:{second}"])


# --- putting calls through to agents ---------------------------------------------


async def timeline(hub: Hub, conversation_id: int) -> list[tuple[str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(TimelineEvent.kind, TimelineEvent.summary)
            .where(TimelineEvent.conversation_id == conversation_id)
            .order_by(TimelineEvent.id)
        )
        return [(kind, summary) for kind, summary in rows]


async def conversation_of(hub: Hub, external_id: str) -> Conversation:
    async with hub.sessions() as session:
        conversation = await session.scalar(
            select(Conversation)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.external_id == external_id)
        )
        assert conversation is not None
        return conversation


async def queue_call(twilio: Twilio, sid: str, **fields: str) -> None:
    answer = await twilio.twiml("/webhooks/twilio/voice/menu", call_form(sid, Digits="1", **fields))
    enqueue = answer.find("Enqueue")
    assert enqueue is not None
    assert enqueue.get("action") == PUBLIC_URL + "/webhooks/twilio/voice/queue-left"


def dialled_client(twiml: str) -> str | None:
    dial = ET.fromstring(twiml).find("Dial")
    client = None if dial is None else dial.find("Client")
    if dial is None or client is None:
        return None
    assert dial.get("action") == PUBLIC_URL + "/webhooks/twilio/voice/dialed"
    return client.text


async def test_the_agent_who_accepts_a_call_is_put_through_to_the_caller(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)
    alice_id = (await alice.get("/api/me"))["id"]

    conversation_id = await accept_next_offer(alice)

    (update,) = await eventually(lambda: _async(api.updates()))
    assert (update["account"], update["sid"]) == (ACCOUNT_SID, sid)
    assert update["authorization"].startswith("Basic ")
    assert dialled_client(update["form"]["Twiml"][0]) == f"agent_{alice_id}"
    events = await eventually(lambda: _has(hub, conversation_id, "call.connected"))
    assert ("call.connected", "Call connected to Alice") in events
    # Twilio then reports the call left its queue by our redirect: it stays with Alice.
    left = call_form(sid, QueueResult="redirected", QueueTime="12")
    answer = await Twilio(hub).twiml("/webhooks/twilio/voice/queue-left", left)
    assert dialled_client(ET.tostring(answer, encoding="unicode")) == f"agent_{alice_id}"
    view = await alice.get(f"/api/conversations/{conversation_id}")
    assert view["status"] == "assigned"
    assert [(c["kind"], c["agent_id"], c["queue_seconds"]) for c in view["calls"]] == [
        ("queue", alice_id, 12)
    ]


async def test_an_agent_who_does_not_answer_leaves_the_caller_a_voicemail(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    twilio = Twilio(hub)
    sid = new_call()
    api.live.add(sid)
    await queue_call(twilio, sid)
    conversation_id = await accept_next_offer(alice)
    await eventually(lambda: _has(hub, conversation_id, "call.connected"))

    dial = call_form(sid, DialCallSid=new_call(), DialCallStatus="no-answer")
    for _retry in range(2):
        answer = await twilio.twiml("/webhooks/twilio/voice/dialed", dial)
        assert answer.find("Record") is not None
    ended = [e for e in await timeline(hub, conversation_id) if e[0] == "call.dial_ended"]
    assert ended == [("call.dial_ended", "Alice did not answer (no-answer)")]

    talked = call_form(
        sid, DialCallSid=new_call(), DialCallStatus="completed", DialCallDuration="75"
    )
    answer = await twilio.twiml("/webhooks/twilio/voice/dialed", talked)
    assert answer.find("Hangup") is not None and answer.find("Record") is None
    assert ("call.dial_ended", "Talked with Alice for 1:15") in await timeline(hub, conversation_id)


async def test_a_customer_who_calls_again_goes_straight_to_their_agent(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    twilio = Twilio(hub)
    first, second = new_call(), new_call()
    api.live.add(first)
    await queue_call(twilio, first)
    conversation_id = await accept_next_offer(alice)
    await eventually(lambda: _async(api.updates()))
    alice_id = (await alice.get("/api/me"))["id"]

    for _retry in range(2):
        answer = await twilio.twiml("/webhooks/twilio/voice/menu", call_form(second, Digits="2"))
        assert answer.find("Enqueue") is None
        assert dialled_client(ET.tostring(answer, encoding="unicode")) == f"agent_{alice_id}"
    assert len(api.updates()) == 1  # only the first call needed redirecting
    assert (await conversation_of(hub, second)).id == conversation_id
    connected = [e for e in await timeline(hub, conversation_id) if e[0] == "call.connected"]
    assert len(connected) == 2


async def test_a_caller_who_hung_up_before_the_accept_is_reported_to_the_agent(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    sid = new_call()  # not live: Twilio answers 404 when asked to redirect it
    await queue_call(Twilio(hub), sid)

    conversation_id = await accept_next_offer(alice)

    await eventually(lambda: _has(hub, conversation_id, "conversation.abandoned"))
    assert len(api.updates()) == 1
    assert ("call.missed", "The caller hung up before Alice was connected.") in await timeline(
        hub, conversation_id
    )
    assert (await conversation_of(hub, sid)).status == "abandoned"
    assert await alice.get("/api/conversations") == []
    alice_id = (await alice.get("/api/me"))["id"]
    assert await hub.app[QUEUE].load(alice_id) == {}  # her line is free for the next call


async def test_a_call_twilio_will_not_redirect_stays_with_the_agent_and_says_why(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    api.refuse_with = (500, 20500, "Internal Server Error")
    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)

    conversation_id = await accept_next_offer(alice)

    events = await eventually(lambda: _has(hub, conversation_id, "call.failed"))
    failure = "Could not put the call through to Alice: 20500 Unable to update record"
    assert ("call.failed", f"{failure}: Internal Server Error") in events
    assert (await conversation_of(hub, sid)).status == "assigned"
    assert len(api.updates()) == 3  # a 5xx is tried three times before giving up


async def test_a_hiccup_at_twilio_is_retried_and_the_call_is_put_through(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    api.refuse_next = [(503, 20503, "Service Unavailable"), (429, 20429, "Too Many Requests")]
    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)

    conversation_id = await accept_next_offer(alice)

    events = await eventually(lambda: _has(hub, conversation_id, "call.connected"))
    assert not [kind for kind, _summary in events if kind == "call.failed"]
    assert len(api.updates()) == 3


async def test_a_refusal_that_will_not_change_is_not_retried(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    api.refuse_next = [(400, 21218, "Invalid ApplicationSid")]
    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)

    conversation_id = await accept_next_offer(alice)

    await eventually(lambda: _has(hub, conversation_id, "call.failed"))
    assert len(api.updates()) == 1


async def test_a_caller_who_hangs_up_in_the_queue_abandons_it_once(hub: Hub) -> None:
    twilio = Twilio(hub)
    sid = new_call()
    await queue_call(twilio, sid)
    conversation = await conversation_of(hub, sid)
    assert await hub.app[QUEUE].contains(conversation.id)

    left = call_form(sid, QueueResult="hangup", QueueSid="QU" + uuid.uuid4().hex, QueueTime="35")
    for _retry in range(2):
        await twilio.twiml("/webhooks/twilio/voice/queue-left", left)

    assert (await conversation_of(hub, sid)).status == "abandoned"
    assert not await hub.app[QUEUE].contains(conversation.id)
    events = await timeline(hub, conversation.id)
    assert [e for e in events if e[0] == "call.queue_left"] == [
        ("call.queue_left", "The caller hung up in the queue after 35 s")
    ]
    assert [e[0] for e in events].count("conversation.abandoned") == 1
    stats = await queue_stats(hub.sessions, hub.app[QUEUE], hub.app[CHANNELS])
    assert (stats.abandoned, stats.abandon_rate) == (1, 1.0)


async def test_a_hang_up_while_on_offer_withdraws_the_offer(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    twilio = Twilio(hub)
    sid = new_call()
    await queue_call(twilio, sid)
    offers = await eventually(lambda: alice.get("/api/offers"))
    await twilio.twiml(
        "/webhooks/twilio/voice/queue-left", call_form(sid, QueueResult="hangup", QueueTime="4")
    )
    assert (await conversation_of(hub, sid)).status == "abandoned"

    status, _ = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 409
    assert api.updates() == []


async def test_a_caller_who_hangs_up_as_the_agent_accepts_is_not_put_through(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    twilio = Twilio(hub)
    sid = new_call()
    api.live.add(sid)
    await queue_call(twilio, sid)
    offers = await eventually(lambda: alice.get("/api/offers"))
    # The agent's accept and the caller's hang-up cross: the hub hears of the hang-up
    # only after the accept, so the call is never redirected and the agent is freed.
    async with hub.sessions() as session, session.begin():
        call = await session.scalar(select(Call).where(Call.sid == sid))
        assert call is not None
        call.queue_result = "hangup"

    status, body = await alice.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200, body

    await eventually(lambda: _has(hub, body["conversation_id"], "call.missed"))
    assert api.updates() == []
    # The missed call is noted first, then the conversation abandoned: wait for both.
    await eventually(lambda: _abandoned(hub, sid))
    assert await alice.get("/api/conversations") == []


async def test_call_progress_moves_forward_only_and_lands_on_the_timeline_once(
    hub: Hub,
) -> None:
    twilio = Twilio(hub)
    sid = new_call()
    await queue_call(twilio, sid)
    conversation = await conversation_of(hub, sid)
    reports = [
        {"CallStatus": "in-progress"},  # where an answered inbound call already is
        {"CallStatus": "completed", "CallDuration": "125"},
        {"CallStatus": "ringing"},  # late: arrives after completed
        {"CallStatus": "completed", "CallDuration": "125"},  # retried
    ]
    for report in reports:
        status, _, body = await twilio.post(
            "/webhooks/twilio/voice/status", call_form(sid, **report)
        )
        assert status == 204, body

    events = [e for e in await timeline(hub, conversation.id) if e[0] == "call.status"]
    assert events == [("call.status", "Call ended after 2:05")]
    async with hub.sessions() as session:
        call = await session.scalar(select(Call).where(Call.sid == sid))
    assert call is not None and (call.status, call.duration) == ("completed", 125)
    # The caller hung up before anyone took the call: abandoned, out of the queue.
    assert (await conversation_of(hub, sid)).status == "abandoned"
    assert not await hub.app[QUEUE].contains(conversation.id)


async def test_status_callbacks_need_a_signature_and_a_known_status(hub: Hub) -> None:
    twilio = Twilio(hub)
    form = call_form(new_call(), CallStatus="completed")
    status, _, _ = await twilio.post("/webhooks/twilio/voice/status", form, signature="forged")
    assert status == 403
    status, _, _ = await twilio.post("/webhooks/twilio/voice/status", {**form, "CallStatus": "x"})
    assert status == 400
    status, _, _ = await twilio.post("/webhooks/twilio/voice/status", form)  # unknown call
    assert status == 204


# --- callbacks -----------------------------------------------------------------


async def test_a_caller_asks_to_be_called_back_and_the_agent_who_accepts_calls_them(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    twilio = Twilio(hub)
    sid = new_call()

    answer = await twilio.twiml("/webhooks/twilio/voice/menu", call_form(sid, Digits="4"))
    confirm = answer.find("Gather")
    assert confirm is not None
    assert confirm.get("action") == PUBLIC_URL + "/webhooks/twilio/voice/callback"
    assert "1 4 1 5 5 5 5 0 1 2 3" in "".join(confirm.itertext())
    assert await stored(hub) == []

    for _retry in range(2):
        answer = await twilio.twiml("/webhooks/twilio/voice/callback", call_form(sid, Digits="1"))
        assert answer.find("Enqueue") is None  # the line is not held
        assert answer.find("Say") is not None and answer.find("Hangup") is not None
    (request,) = await stored(hub)
    assert (request.sender, request.text) == (CALLER, f"Call back {CALLER}")

    conversation_id = await accept_next_offer(alice)
    alice_id = (await alice.get("/api/me"))["id"]
    (placed,) = await eventually(lambda: _async(api.creates()))
    form = placed["form"]
    assert (form["To"], form["From"]) == ([CALLER], [INBOX])
    assert form["StatusCallback"] == [PUBLIC_URL + "/webhooks/twilio/voice/status"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    twiml = ET.fromstring(form["Twiml"][0])
    assert twiml.find("Say") is not None
    assert dialled_client(form["Twiml"][0]) == f"agent_{alice_id}"
    (callback_sid,) = api.live
    events = await eventually(lambda: _has(hub, conversation_id, "callback.placed"))
    assert ("callback.placed", f"Alice is calling back {CALLER}") in events
    async with hub.sessions() as session:
        placed_event = await session.scalar(
            select(TimelineEvent).where(TimelineEvent.kind == "callback.placed")
        )
    assert placed_event is not None and placed_event.data["sid"] == callback_sid

    for report in ({"CallStatus": "ringing"}, {"CallStatus": "completed", "CallDuration": "61"}):
        callback = call_form(callback_sid, From=INBOX, To=CALLER, Direction="outbound-api")
        status, _, _ = await twilio.post("/webhooks/twilio/voice/status", {**callback, **report})
        assert status == 204
    events = await timeline(hub, conversation_id)
    assert events[-2:] == [("call.status", "Ringing"), ("call.status", "Call ended after 1:01")]
    view = await alice.get(f"/api/conversations/{conversation_id}")
    assert view["status"] == "assigned"  # a callback is never "abandoned" by the first call
    assert [(c["kind"], c["number"], c["status"]) for c in view["calls"]] == [
        ("callback_request", CALLER, "in-progress"),
        ("callback", CALLER, "completed"),
    ]


async def test_a_caller_who_says_call_me_back_is_asked_to_confirm(hub: Hub) -> None:
    twilio = Twilio(hub)
    sid = new_call()
    answer = await twilio.twiml(
        "/webhooks/twilio/voice/menu", call_form(sid, SpeechResult="please call me back")
    )
    assert answer.find("Gather") is not None
    answer = await twilio.twiml(
        "/webhooks/twilio/voice/callback", call_form(sid, SpeechResult="yes please")
    )
    assert answer.find("Hangup") is not None
    assert [m.text for m in await stored(hub)] == [f"Call back {CALLER}"]


@pytest.mark.parametrize(
    "reply", [{"Digits": "2"}, {"SpeechResult": "no that's not right"}, {"SpeechResult": "hmm"}]
)
async def test_a_caller_who_does_not_confirm_goes_back_to_the_menu(
    hub: Hub, reply: dict[str, str]
) -> None:
    answer = await Twilio(hub).twiml(
        "/webhooks/twilio/voice/callback", call_form(new_call(), **reply)
    )
    assert answer.find("Redirect").text == PUBLIC_URL + "/webhooks/twilio/voice"  # type: ignore[union-attr]
    assert await stored(hub) == []


async def test_a_withheld_number_is_offered_voicemail_instead_of_a_callback(hub: Hub) -> None:
    twilio = Twilio(hub)
    sid = new_call()
    answer = await twilio.twiml(
        "/webhooks/twilio/voice/menu", call_form(sid, Digits="4", From="Anonymous")
    )
    assert "withheld" in "".join(answer.find("Say").itertext())  # type: ignore[union-attr]
    assert answer.find("Record") is not None and answer.find("Gather") is None
    answer = await twilio.twiml(
        "/webhooks/twilio/voice/callback", call_form(sid, Digits="1", From="Anonymous")
    )
    assert answer.find("Redirect") is not None
    assert await stored(hub) == []


async def _abandoned(hub: Hub, sid: str) -> bool:
    return (await conversation_of(hub, sid)).status == "abandoned"


async def _async(value: T) -> T:
    return value


async def _has(hub: Hub, conversation_id: int, kind: str) -> list[tuple[str, str]] | None:
    events = await timeline(hub, conversation_id)
    return events if any(k == kind for k, _ in events) else None


async def test_a_transferred_call_goes_to_the_new_agent_or_stays_open_if_it_ended(
    hub: Hub, alice: AgentClient, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    await hub.add_agent("bob", skills={"support": 5}, status="available")
    bob = await hub.login("bob")
    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)

    async def offered() -> tuple[AgentClient, AgentClient, int] | None:
        for agent, other in ((alice, bob), (bob, alice)):
            offers = await agent.get("/api/offers")
            if offers:
                return agent, other, offers[0]["offer_id"]
        return None

    first, second, offer_id = await eventually(offered)
    status, body = await first.post(f"/api/offers/{offer_id}/accept")
    assert status == 200, body
    conversation_id = body["conversation_id"]
    await eventually(lambda: _async(api.updates()))
    second_id = (await second.get("/api/me"))["id"]

    status, _ = await first.post(
        f"/api/conversations/{conversation_id}/transfer", {"agent_id": second_id}
    )
    assert status == 200
    await accept_next_offer(second)
    updates = await eventually(lambda: _async(api.updates()[1:]))
    assert dialled_client(updates[0]["form"]["Twiml"][0]) == f"agent_{second_id}"

    api.live.discard(sid)  # the call ends; Twilio's status callback is not configured
    status, _ = await second.post(
        f"/api/conversations/{conversation_id}/transfer",
        {"agent_id": (await first.get("/api/me"))["id"]},
    )
    assert status == 200
    await accept_next_offer(first)
    await eventually(lambda: _has(hub, conversation_id, "call.ended"))
    assert (await conversation_of(hub, sid)).status == "assigned"  # not abandoned
    await bob.close()


async def test_an_acceptance_no_process_heard_is_caught_up(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    alice_id = await hub.add_agent("alice", skills={"support": 5}, status="offline")
    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)
    conversation = await conversation_of(hub, sid)
    # Accepted, committed, but the hub process died before anyone heard the event.
    assert await hub.app[QUEUE].remove(conversation.id)
    async with hub.sessions() as session, session.begin():
        stored = await session.get(Conversation, conversation.id)
        assert stored is not None
        stored.status, stored.agent_id = "assigned", alice_id
        now = utcnow()
        session.add(
            Offer(
                conversation_id=conversation.id,
                agent_id=alice_id,
                status="accepted",
                expires_at=now,
                decided_at=now,
            )
        )

    assert await hub.app[BRIDGE].catch_up() == 1
    assert await hub.app[BRIDGE].catch_up() == 0
    (update,) = api.updates()
    assert (update["sid"], dialled_client(update["form"]["Twiml"][0])) == (sid, f"agent_{alice_id}")


async def test_the_client_identity_names_the_agent_by_id_or_username(
    hub: Hub, voice_settings: Settings
) -> None:
    alice_id = await hub.add_agent("alice")
    async with hub.sessions() as session:
        agent = await session.get(Agent, alice_id)
    assert agent is not None

    def bridge(template: str) -> CallBridge:
        settings = dataclasses.replace(voice_settings, voice_client_identity=template)
        conversations = hub.app[CONVERSATIONS]
        return CallBridge(hub.sessions, conversations, hub.app[BUS], None, settings, "", "")

    assert bridge("agent_{id}").identity(agent) == f"agent_{alice_id}"
    assert bridge("{username}").identity(agent) == "alice"
    with pytest.raises(ValueError, match="VOICE_CLIENT_IDENTITY may name only"):
        bridge("agent_{email}")


# --- callers routing turns away ---------------------------------------------------


async def limit_voice(hub: Hub, **limits: int) -> None:
    """Limit the queue the waiting calls are in (voice only), e.g. max_waiting=0."""
    (queue,) = {c.queue for c in await hub.app[QUEUE].waiting()}
    async with hub.sessions() as session, session.begin():
        await set_limit(session, Limit(queue, channel="voice", **limits))


def said(twiml: str) -> str:
    return " ".join(s.text or "" for s in ET.fromstring(twiml).iter("Say"))


def records_voicemail(twiml: str) -> bool:
    record = ET.fromstring(twiml).find("Record")
    return (
        record is not None
        and record.get("action") == PUBLIC_URL + "/webhooks/twilio/voice/recorded"
    )


async def test_a_caller_in_a_full_queue_hears_the_line_is_busy_and_can_leave_a_voicemail(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    twilio = Twilio(hub)
    sid = new_call()
    api.live.add(sid)
    await queue_call(twilio, sid)
    conversation = await conversation_of(hub, sid)

    await limit_voice(hub, max_waiting=0)

    (update,) = await eventually(lambda: _async(api.updates()))
    assert (update["account"], update["sid"]) == (ACCOUNT_SID, sid)
    twiml = update["form"]["Twiml"][0]
    assert "lines are busy" in said(twiml) and records_voicemail(twiml)
    assert (await conversation_of(hub, sid)).status == "rejected"
    events = await eventually(lambda: _has(hub, conversation.id, "call.turned_away"))
    assert ("call.turned_away", SORRY_SUMMARY["rejected"]) in events

    # Twilio reports the call left its queue by our redirect: the answer says the same.
    left = call_form(sid, QueueResult="redirected", QueueTime="9")
    answer = await twilio.twiml("/webhooks/twilio/voice/queue-left", left)
    answer_text = ET.tostring(answer, encoding="unicode")
    assert "lines are busy" in said(answer_text) and records_voicemail(answer_text)
    # The voicemail the caller leaves is kept, and the call was redirected once.
    recording = "RE" + uuid.uuid4().hex
    await twilio.twiml("/webhooks/twilio/voice/recorded", recorded_form(sid, recording))
    assert any(m.external_id == f"voicemail:{recording}" for m in await stored(hub))
    assert len(api.updates()) == 1
    assert [k for k, _ in await timeline(hub, conversation.id)].count("call.turned_away") == 1


async def test_a_caller_who_waited_too_long_is_told_so_and_offered_a_voicemail(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    sid = new_call()
    api.live.add(sid)
    await queue_call(Twilio(hub), sid)
    conversation = await conversation_of(hub, sid)

    await limit_voice(hub, max_wait_seconds=0)

    (update,) = await eventually(lambda: _async(api.updates()))
    twiml = update["form"]["Twiml"][0]
    assert "nobody could answer" in said(twiml).lower() and records_voicemail(twiml)
    assert (await conversation_of(hub, sid)).status == "abandoned"
    events = await eventually(lambda: _has(hub, conversation.id, "call.turned_away"))
    assert ("call.turned_away", SORRY_SUMMARY["abandoned"]) in events


async def test_a_call_that_ended_before_it_was_turned_away_is_left_alone(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    twilio = Twilio(hub)
    gone, live = new_call(), new_call()  # Twilio answers 404 for `gone`
    api.live.add(live)
    await queue_call(twilio, gone, From="+14155550198")
    await queue_call(twilio, live)

    await limit_voice(hub, max_waiting=0)

    # Events are followed in order: once the live call is told, the ended one was handled.
    live_conversation = await conversation_of(hub, live)
    await eventually(lambda: _has(hub, live_conversation.id, "call.turned_away"))
    assert sorted(u["sid"] for u in api.updates()) == sorted([gone, live])
    gone_conversation = await conversation_of(hub, gone)
    assert gone_conversation.status == "rejected"
    assert await _has(hub, gone_conversation.id, "call.turned_away") is None


async def test_a_call_turned_away_before_it_joined_the_queue_hears_so_at_once(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    twilio = Twilio(hub)
    await queue_call(twilio, new_call(), From="+14155550199")  # so the queue is known
    await limit_voice(hub, max_waiting=1)
    sid = new_call()
    api.live.add(sid)
    form = call_form(sid, Digits="1")

    await twilio.twiml("/webhooks/twilio/voice/menu", form)  # queued or turned away
    assert await eventually(lambda: _rejected(hub, sid))
    # Twilio retries the menu: the caller is not queued again but told, and it is
    # recorded once whichever way they heard it first.
    answer = ET.tostring(
        await twilio.twiml("/webhooks/twilio/voice/menu", form), encoding="unicode"
    )
    assert "lines are busy" in said(answer) and records_voicemail(answer)
    conversation = await conversation_of(hub, sid)
    await eventually(lambda: _has(hub, conversation.id, "call.turned_away"))
    assert [k for k, _ in await timeline(hub, conversation.id)].count("call.turned_away") == 1
    assert len(api.updates()) <= 1


async def _rejected(hub: Hub, sid: str) -> bool:
    return (await conversation_of(hub, sid)).status == "rejected"


@pytest.mark.parametrize("backend", ["redis"])
async def test_two_hubs_turn_a_caller_away_once(
    voice_settings: Settings, calls_api: tuple[CallsApi, str]
) -> None:
    api, _ = calls_api
    async with start_hub(voice_settings, clean=True) as one, start_hub(voice_settings) as two:
        await store_menu(one, PHONE_MENU)
        sids = [new_call() for _ in range(4)]
        api.live.update(sids)
        for n, sid in enumerate(sids):
            await queue_call(Twilio([one, two][n % 2]), sid, From=f"+1415555019{n}")
        await eventually(lambda: _waiting(one, 4))

        await limit_voice(one, max_waiting=1)

        async def told() -> list[str] | None:
            async with one.sessions() as session:
                rows = list(
                    await session.scalars(
                        select(Call.sid)
                        .join(TimelineEvent, TimelineEvent.conversation_id == Call.conversation_id)
                        .where(TimelineEvent.kind == "call.turned_away")
                    )
                )
            return rows if len(rows) >= 3 else None

        turned_away = await eventually(told)
        assert len(turned_away) == len(set(turned_away)) == 3
        # Each redirected once, by whichever hub claimed it.
        assert sorted(u["sid"] for u in api.updates()) == sorted(turned_away)


async def _waiting(hub: Hub, count: int) -> bool:
    return len(await hub.app[QUEUE].waiting()) == count
