"""SMS through Twilio, as Twilio meets the hub: signed webhooks in, the Messages API out.

Only Twilio is replaced: its webhooks are signed here exactly as Twilio signs them,
and its REST API is a local aiohttp server that speaks the documented Messages API.
The hub's public URL is a proxy-style address, so every signature also proves the
behind-a-proxy case (Twilio signs the public URL, not the one the hub listens on).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from hub.keys import BUS
from hub.models import Conversation, Customer, CustomerAddress, Message, QueueEntry
from hub.settings import Settings
from tests.channels.twilio_side import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, TwilioSide
from tests.channels.twilio_side import MessagesApi as FakeTwilio
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

INBOX = "+14155550100"
CUSTOMER = "+14155550123"


@pytest.fixture
def sms_settings(settings_for: Settings, twilio: tuple[FakeTwilio, str]) -> Settings:
    return dataclasses.replace(
        settings_for,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_url=twilio[1],
        public_url=PUBLIC_URL,
        cookie_secure=False,  # tests reach the hub over plain HTTP, not the HTTPS proxy
        smtp_port=0,  # any free port: tests run side by side
    )


@pytest.fixture
async def hub(sms_settings: Settings) -> AsyncIterator[Hub]:
    async with start_hub(sms_settings, clean=True) as running:
        yield running


@pytest.fixture
def fake_api(twilio: tuple[FakeTwilio, str]) -> FakeTwilio:
    return twilio[0]


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


class Webhook(TwilioSide):
    """What Twilio's side does: sign a form over the public URL and post it to the hub."""

    async def text(self, body: str, **fields: str) -> tuple[int, str, str]:
        """A customer's SMS, with the fields Twilio sends (overridable)."""
        return await self.post("/webhooks/twilio/sms", sms_form(body, **fields))

    async def status(self, message_id: int, sid: str, status: str, **fields: str) -> int:
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": ACCOUNT_SID,
            "From": INBOX,
            "To": CUSTOMER,
            "ApiVersion": "2010-04-01",
            **fields,
        }
        code, _, _ = await self.post(f"/webhooks/twilio/sms/status?message={message_id}", form)
        return code


def sms_form(body: str, **fields: str) -> dict[str, str]:
    sid = fields.pop("MessageSid", "SM" + uuid.uuid4().hex)
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": body,
        "FromCountry": "US",
        "To": INBOX,
        "ToZip": "94105",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CUSTOMER,
        "ApiVersion": "2010-04-01",
        **fields,
    }


async def stored(hub: Hub) -> list[Message]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


async def count(hub: Hub, model: type[Any]) -> int:
    async with hub.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def accept_next_offer(agent: AgentClient) -> int:
    offers = await eventually(lambda: agent.get("/api/offers"))
    status, body = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200, body
    return int(body["conversation_id"])


async def test_a_text_is_stored_once_and_offered_to_an_agent(hub: Hub, alice: AgentClient) -> None:
    twilio = Webhook(hub)
    form = sms_form("Hi, where is my parcel?")

    for _retry in range(2):  # Twilio retries when it did not hear back in time
        status, content_type, body = await twilio.post("/webhooks/twilio/sms", form)
        assert status == 200, body
        assert content_type == "application/xml"
        assert body.endswith("<Response />")

    racing = sms_form("Are you there?")
    answers = await asyncio.gather(
        *(twilio.post("/webhooks/twilio/sms", racing) for _copy in range(3))
    )
    assert [status for status, _, _ in answers] == [200, 200, 200]

    message, second = await stored(hub)
    assert second.external_id == racing["MessageSid"]
    assert (message.channel, message.external_id) == ("sms", form["MessageSid"])
    assert (message.sender, message.text) == (CUSTOMER, "Hi, where is my parcel?")
    conversation_id = await accept_next_offer(alice)
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["channel"] == "sms"
    assert conversation["customer"]["addresses"] == [{"channel": "sms", "address": CUSTOMER}]
    texts = [m["text"] for m in conversation["messages"]]
    assert texts == ["Hi, where is my parcel?", "Are you there?"]


async def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(hub: Hub) -> None:
    twilio = Webhook(hub)
    form = sms_form("Let me in")
    tampered = {**form, "Body": "Something else"}
    signed_for_the_listening_url = str(
        RequestValidator(AUTH_TOKEN).compute_signature(hub.url + "/webhooks/twilio/sms", form)
    )
    attempts = [
        ("", form),
        ("not-a-signature", form),
        (Webhook(hub, token="someone-elses-token").sign("/webhooks/twilio/sms", form), form),
        (twilio.sign("/webhooks/twilio/sms", form), tampered),
        (signed_for_the_listening_url, form),
        ("ünïcode", form),
    ]
    for signature, posted in attempts:
        status, _, _ = await twilio.post("/webhooks/twilio/sms", posted, signature=signature)
        assert status == 403, signature
    status = await twilio.status(1, "SM" + uuid.uuid4().hex, "delivered")
    assert status == 204  # signed, so accepted; there is no such message to move
    bad_status = await twilio.post(
        "/webhooks/twilio/sms/status",
        {"MessageSid": "SM1", "MessageStatus": "failed"},
        signature="",
    )
    assert bad_status[0] == 403
    assert await stored(hub) == []
    assert await count(hub, Customer) == 0


async def test_without_an_auth_token_every_webhook_is_refused(
    sms_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = dataclasses.replace(sms_settings, twilio_auth_token="")
    async with start_hub(settings, clean=True) as hub:
        status, _, _ = await Webhook(hub).text("Hello?")
        assert status == 403
        assert await stored(hub) == []
    assert "SWITCHBOARD_TWILIO_AUTH_TOKEN is not set" in caplog.text


async def test_missing_fields_and_unreadable_numbers_get_400_and_nothing_is_stored(
    hub: Hub,
) -> None:
    twilio = Webhook(hub)
    complete = sms_form("Hello")
    for name in ("MessageSid", "From", "To"):
        form = {k: v for k, v in complete.items() if k != name}
        status, _, reason = await twilio.post("/webhooks/twilio/sms", form)
        assert status == 400 and name in reason
    for number in ("not a number", "+1", "0044 20", "+999123456789", "whatsapp:+14155550123"):
        status, _, reason = await twilio.text("Hello", From=number)
        assert status == 400 and "From is not a phone number" in reason, number
    status, _, reason = await twilio.text("Hello", To="call me")
    assert status == 400 and "To is not a phone number" in reason
    status, _, reason = await twilio.text("Hello", NumMedia="two")
    assert status == 400 and "NumMedia" in reason
    assert await stored(hub) == []
    assert await count(hub, Customer) == 0


async def test_unusual_text_is_stored_as_sent(hub: Hub) -> None:
    twilio = Webhook(hub)
    texts = [
        "Emoji 👍🏽 and a flag 🇳🇱",
        "مرحبا، طلبي لم يصل",  # right-to-left
        "e\u0301 combining, zero\u200bwidth",
        "",  # an MMS may come with no text at all
    ]
    for text in texts:
        status, _, body = await twilio.text(text)
        assert status == 200, body
    status, _, _ = await twilio.text("NUL\x00inside")
    assert status == 200
    # Twilio sends UTF-8; a percent-escaped invalid byte decodes to U+FFFD.
    form = sms_form("placeholder")
    form["Body"] = "bad \ufffd byte"
    raw = "&".join(
        f"{k}={quote(v, safe='')}" if k != "Body" else "Body=bad+%FF+byte" for k, v in form.items()
    )
    status, _, body = await twilio.post("/webhooks/twilio/sms", form, body=raw.encode())
    assert status == 200, body
    # A body that is not UTF-8 at all cannot even be read for its signature.
    status, _, reason = await twilio.post(
        "/webhooks/twilio/sms", form, body=b"Body=caf\xe9&From=x", signature="x"
    )
    assert status == 400 and "UTF-8" in reason

    assert [m.text for m in await stored(hub)] == [
        *texts,
        "NUL\ufffdinside",
        "bad \ufffd byte",
    ]


async def test_a_broken_multipart_body_on_twilio_webhooks_is_a_bad_request(hub: Hub) -> None:
    broken = b'--XYZ\r\nContent-Disposition: form-data; name="Body"\r\n'
    async with aiohttp.ClientSession() as http:
        for path in ("/webhooks/twilio/sms", "/webhooks/twilio/whatsapp", "/webhooks/twilio/voice"):
            for content_type in ("multipart/form-data; boundary=XYZ", "multipart/form-data"):
                async with http.post(
                    hub.url + path,
                    data=broken,
                    headers={"Content-Type": content_type, "X-Twilio-Signature": "x"},
                ) as response:
                    assert response.status == 400, (path, content_type, response.status)
    assert await stored(hub) == []


async def test_media_attachments_are_recorded(hub: Hub) -> None:
    media = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME"
    status, _, _ = await Webhook(hub).text(
        "Here is the damage",
        NumMedia="2",
        MediaUrl0=media + "1",
        MediaContentType0="image/jpeg",
        MediaUrl1=media + "2",
        MediaContentType1="video/mp4",
    )
    assert status == 200
    [message] = await stored(hub)
    assert [(a["ref"], a["content_type"]) for a in message.attachments] == [
        (media + "1", "image/jpeg"),
        (media + "2", "video/mp4"),
    ]
    status, _, reason = await Webhook(hub).text("Lost one", NumMedia="1")
    assert status == 400 and "MediaUrl0" in reason


async def test_an_agent_reply_goes_out_through_twilio_and_callbacks_move_it_forward(
    hub: Hub, alice: AgentClient, fake_api: FakeTwilio
) -> None:
    twilio = Webhook(hub)
    await twilio.text("Is my order on its way?")
    conversation_id = await accept_next_offer(alice)
    events = await hub.app[BUS].subscribe()

    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Yes, it ships today ✈"}
    )
    assert status == 200 and sent["delivery_status"] == "queued"
    [request] = fake_api.requests
    message_id = sent["message_id"]
    assert request["account"] == ACCOUNT_SID
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request["authorization"] == f"Basic {credentials}"
    assert request["form"] == {
        "To": [CUSTOMER],
        "From": [INBOX],
        "Body": ["Yes, it ships today ✈"],
        "StatusCallback": [f"{PUBLIC_URL}/webhooks/twilio/sms/status?message={message_id}"],
    }
    reply = (await stored(hub))[-1]
    assert reply.provider_id and reply.provider_id.startswith("SM")
    sid = reply.provider_id

    assert await twilio.status(message_id, sid, "sent") == 204
    assert await twilio.status(message_id, sid, "delivered") == 204
    assert await twilio.status(message_id, sid, "sending") == 204  # late, ignored
    assert await twilio.status(message_id, sid, "delivered") == 204  # repeated, ignored
    assert await twilio.status(message_id, "SM" + uuid.uuid4().hex, "failed") == 204  # not it
    assert (await stored(hub))[-1].delivery_status == "delivered"
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["messages"][-1]["delivery_status"] == "delivered"

    published = []
    while len(published) < 2:
        event = await events.get()
        if event["type"] == "message.status":
            published.append(event)
    await events.close()
    assert [e["delivery_status"] for e in published] == ["sent", "delivered"]
    assert published[0]["conversation_id"] == conversation_id
    assert published[0]["message_id"] == message_id
    assert published[0]["agent_id"] is not None

    status, second = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Tracking: 1Z999"}
    )
    second_sid = (await stored(hub))[-1].provider_id
    assert second_sid is not None
    await twilio.status(second["message_id"], second_sid, "failed", ErrorCode="30003")
    await twilio.status(second["message_id"], second_sid, "sent")
    assert (await stored(hub))[-1].delivery_status == "failed"


async def test_a_callback_that_beats_the_api_answer_is_kept(
    hub: Hub, alice: AgentClient, fake_api: FakeTwilio
) -> None:
    await Webhook(hub).text("Quick question")
    conversation_id = await accept_next_offer(alice)
    fake_api.hub_url, fake_api.status_before_answering = hub.url, "sent"
    status, sent = await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Hi"})
    assert status == 200
    reply = (await stored(hub))[-1]
    assert reply.id == sent["message_id"] and reply.delivery_status == "sent"
    assert reply.provider_id and reply.provider_id.startswith("SM")


async def test_a_refused_send_is_failed_and_seen_by_the_agent(
    hub: Hub, alice: AgentClient, fake_api: FakeTwilio
) -> None:
    await Webhook(hub).text("Hello")
    conversation_id = await accept_next_offer(alice)
    fake_api.refuse_with = (400, 21211, "The 'To' number is not a valid phone number.")
    status, sent = await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Hi"})
    assert status == 200 and sent["delivery_status"] == "failed"
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["messages"][-1]["delivery_status"] == "failed"

    # Twilio knows of a STOP we never saw (e.g. sent to another of our numbers).
    fake_api.refuse_with = (400, 21610, "Attempt to send to unsubscribed recipient")
    status, sent = await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "?"})
    assert sent["delivery_status"] == "opted_out"
    status, sent = await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "!"})
    assert sent["delivery_status"] == "opted_out"
    assert len(fake_api.requests) == 2  # the second was never sent


async def test_stop_blocks_replies_until_start(
    hub: Hub, alice: AgentClient, fake_api: FakeTwilio
) -> None:
    twilio = Webhook(hub)
    await twilio.text("My bill is wrong")
    conversation_id = await accept_next_offer(alice)

    await twilio.text("  stop ")
    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Let me look"}
    )
    assert status == 200 and sent["delivery_status"] == "opted_out"
    assert fake_api.requests == []
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert [m["text"] for m in conversation["messages"]][:2] == ["My bill is wrong", "  stop "]
    assert conversation["messages"][-1]["delivery_status"] == "opted_out"
    timeline = await alice.get(f"/api/customers/{conversation['customer']['id']}/timeline")
    assert "sms.opted_out" in [event["kind"] for event in timeline]

    await twilio.text("Start")
    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Welcome back"}
    )
    assert sent["delivery_status"] == "queued"
    assert [r["form"]["Body"] for r in fake_api.requests] == [["Welcome back"]]
    timeline = await alice.get(f"/api/customers/{conversation['customer']['id']}/timeline")
    assert "sms.opted_in" in [event["kind"] for event in timeline]


async def test_keywords_from_a_new_number_are_recorded_but_never_queued(hub: Hub) -> None:
    twilio = Webhook(hub)
    for keyword in ("UNSUBSCRIBE", "HELP", "info."):
        status, _, _ = await twilio.text(keyword)
        assert status == 200
    assert [m.text for m in await stored(hub)] == ["UNSUBSCRIBE", "HELP", "info."]
    assert await count(hub, QueueEntry) == 0
    async with hub.sessions() as session:
        statuses = set(await session.scalars(select(Conversation.status)))
        opted_out_at = await session.scalar(select(CustomerAddress.opted_out_at))
    assert statuses == {"closed"}
    assert opted_out_at is not None

    status, _, _ = await twilio.text("Actually I have a question")
    assert status == 200
    assert await count(hub, QueueEntry) == 1


async def test_one_customer_however_the_number_is_written(hub: Hub) -> None:
    twilio = Webhook(hub)
    for written in (CUSTOMER, "+1 (415) 555-0123", "+1-415-555-0123"):
        status, _, body = await twilio.text("Hello again", From=written)
        assert status == 200, body
    assert await count(hub, Customer) == 1
    assert {m.sender for m in await stored(hub)} == {CUSTOMER}
    async with hub.sessions() as session:
        addresses = list(await session.scalars(select(CustomerAddress.address)))
    assert addresses == [CUSTOMER]
