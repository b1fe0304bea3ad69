"""Phone calls through Twilio Voice, as Twilio meets the hub: signed webhooks, TwiML back.

Only Twilio is replaced: each step of a call is posted here exactly as Twilio posts it,
signed over the hub's proxy-style public URL, and the TwiML answers are read as XML.
"""

from __future__ import annotations

import dataclasses
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from hub.models import Customer, Message
from hub.settings import Settings
from tests.channels.twilio_side import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, TwilioSide
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

INBOX = "+14155550100"
CALLER = "+14155550123"
HOLD_MUSIC = "https://music.example.test/hold.mp3"


@pytest.fixture
def voice_settings(settings_for: Settings) -> Settings:
    return dataclasses.replace(
        settings_for,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_url=PUBLIC_URL,
        voice_hold_music_url=HOLD_MUSIC,
        smtp_port=0,  # any free port: tests run side by side
    )


@pytest.fixture
async def hub(voice_settings: Settings) -> AsyncIterator[Hub]:
    async with start_hub(voice_settings, clean=True) as running:
        yield running


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
    assert gather.get("action") == PUBLIC_URL + "/webhooks/twilio/voice/menu"
    assert (gather.get("input"), gather.get("numDigits")) == ("dtmf speech", "1")
    assert "press 1 for cards" in "".join(gather.itertext()).lower()
    redirect = answer.find("Redirect")  # silence falls through to the menu: a voicemail
    assert redirect is not None and redirect.text == PUBLIC_URL + "/webhooks/twilio/voice/menu"
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


async def test_an_agent_reply_on_a_call_is_marked_failed(hub: Hub, alice: AgentClient) -> None:
    await Twilio(hub).twiml("/webhooks/twilio/voice/menu", call_form(new_call(), Digits="2"))
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
