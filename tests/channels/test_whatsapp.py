"""WhatsApp through Twilio, as Twilio meets the hub: signed webhooks in, the Messages API out.

Only Twilio is replaced: its webhooks are signed here exactly as Twilio signs them (over
the hub's public, proxy-style URL), and its REST API is the local Messages API of
`twilio_side`, which takes WhatsApp messages as Twilio does: `whatsapp:` addresses.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from agent_console.keys import DIRECTORY
from hub.models import Customer, CustomerAddress, Message, utcnow
from hub.settings import Settings
from tests.channels.twilio_side import ACCOUNT_SID, PUBLIC_URL, MessagesApi, TwilioSide, with_twilio
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

SENDER = "+14155238886"  # the business's WhatsApp sender (a Twilio number)
CUSTOMER = "+447700900123"
INBOUND = "/webhooks/twilio/whatsapp"


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[MessagesApi, str]]:
    api = MessagesApi()
    async with api.serving() as url:
        yield api, url


@pytest.fixture
async def hub(settings_for: Settings, twilio: tuple[MessagesApi, str]) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(with_twilio(settings_for, twilio[1]), smtp_port=0)
    async with start_hub(settings, clean=True) as running:
        twilio[0].hub_url = running.url
        yield running


@pytest.fixture
def api(twilio: tuple[MessagesApi, str]) -> MessagesApi:
    return twilio[0]


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


class WhatsApp(TwilioSide):
    """What Twilio's side does for a WhatsApp sender: sign a form and post it to the hub."""

    async def message(self, body: str, **fields: str) -> tuple[int, str, str]:
        return await self.post(INBOUND, whatsapp_form(body, **fields))

    async def status(self, message_id: int, sid: str, status: str, **fields: str) -> int:
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{SENDER}",
            "To": f"whatsapp:{CUSTOMER}",
            "ApiVersion": "2010-04-01",
            "ChannelPrefix": "whatsapp",
            **fields,
        }
        code, _, _ = await self.post(f"{INBOUND}/status?message={message_id}", form)
        return code


def whatsapp_form(body: str, **fields: str) -> dict[str, str]:
    """The fields Twilio posts for a WhatsApp message to a sender's webhook."""
    sid = fields.pop("MessageSid", "SM" + uuid.uuid4().hex)
    return {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": "Ana Souza",
        "MessageType": "text",
        "SmsSid": sid,
        "WaId": CUSTOMER.lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": f"whatsapp:{SENDER}",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{CUSTOMER}",
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


async def test_a_message_is_stored_once_under_the_number_and_the_profile_name(
    hub: Hub, alice: AgentClient
) -> None:
    whatsapp = WhatsApp(hub)
    media = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1"
    form = whatsapp_form(
        "Olá, my parcel never came",
        NumMedia="1",
        MediaUrl0=media,
        MediaContentType0="image/jpeg",
        MessageType="image",
    )
    for _retry in range(2):  # Twilio retries when it did not hear back in time
        status, content_type, body = await whatsapp.post(INBOUND, form)
        assert status == 200, body
        assert content_type == "application/xml" and body.endswith("<Response />")

    [message] = await stored(hub)
    assert (message.channel, message.external_id) == ("whatsapp", form["MessageSid"])
    assert (message.sender, message.text) == (CUSTOMER, "Olá, my parcel never came")
    assert [(a["ref"], a["content_type"]) for a in message.attachments] == [(media, "image/jpeg")]
    conversation = await alice.get(f"/api/conversations/{await accept_next_offer(alice)}")
    assert conversation["channel"] == "whatsapp"
    assert conversation["customer"]["name"] == "Ana Souza"
    assert conversation["customer"]["addresses"] == [{"channel": "whatsapp", "address": CUSTOMER}]


async def test_a_bad_signature_or_a_plain_number_is_refused_and_nothing_is_stored(
    hub: Hub,
) -> None:
    whatsapp = WhatsApp(hub)
    form = whatsapp_form("Let me in")
    attempts = [
        "",
        "not-a-signature",
        WhatsApp(hub, token="someone-elses-token").sign(INBOUND, form),
        whatsapp.sign("/webhooks/twilio/sms", form),  # signed for another URL
    ]
    for signature in attempts:
        status, _, _ = await whatsapp.post(INBOUND, form, signature=signature)
        assert status == 403, signature
    status, _, _ = await whatsapp.post(
        f"{INBOUND}/status", {"MessageSid": "SM1", "MessageStatus": "read"}, signature=""
    )
    assert status == 403

    status, _, reason = await whatsapp.message("Hello", From=CUSTOMER)  # an SMS number
    assert status == 400 and "From is not a WhatsApp (whatsapp:+...) number" in reason
    status, _, reason = await whatsapp.message("Hello", To=SENDER)
    assert status == 400 and "To is not a WhatsApp" in reason
    assert await stored(hub) == []
    assert await count(hub, Customer) == 0


async def test_a_customer_known_by_sms_is_the_same_person_on_whatsapp(
    hub: Hub, alice: AgentClient, api: MessagesApi
) -> None:
    texted = {"From": CUSTOMER, "To": SENDER, "Body": "Card blocked", "MessageSid": "SM1a"}
    status, _, body = await TwilioSide(hub).post("/webhooks/twilio/sms", texted)
    assert status == 200, body
    await hub.app[DIRECTORY].refresh()  # as every hub process does every few seconds
    status, _, body = await WhatsApp(hub).message("Me again, on WhatsApp")
    assert status == 200, body

    assert await count(hub, Customer) == 1
    async with hub.sessions() as session:
        addresses = set(
            (await session.execute(select(CustomerAddress.channel, CustomerAddress.address))).all()
        )
    assert addresses == {("sms", CUSTOMER), ("whatsapp", CUSTOMER)}
    conversation = await alice.get(f"/api/conversations/{await accept_next_offer(alice)}")
    reply_on = {(c["channel"], c["address"]) for c in conversation["reply_channels"]}
    assert reply_on == {("sms", CUSTOMER), ("whatsapp", CUSTOMER)}

    status, sent = await alice.post(
        f"/api/conversations/{conversation['id']}/reply",
        {"text": "Answering you on WhatsApp", "channel": "whatsapp"},
    )
    assert status == 200 and sent["delivery_status"] == "queued", sent
    [request] = api.requests
    assert (request["form"]["To"], request["form"]["From"]) == (
        [f"whatsapp:{CUSTOMER}"],
        [f"whatsapp:{SENDER}"],
    )


async def test_a_reply_goes_out_with_whatsapp_addresses_and_callbacks_move_it_to_read(
    hub: Hub, alice: AgentClient, api: MessagesApi
) -> None:
    whatsapp = WhatsApp(hub)
    await whatsapp.message("Is my order on its way?")
    conversation_id = await accept_next_offer(alice)

    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Yes, it ships today ✈"}
    )
    assert status == 200 and sent["delivery_status"] == "queued"
    message_id = sent["message_id"]
    [request] = api.requests
    assert request["form"] == {
        "To": [f"whatsapp:{CUSTOMER}"],
        "From": [f"whatsapp:{SENDER}"],
        "Body": ["Yes, it ships today ✈"],
        "StatusCallback": [f"{PUBLIC_URL}{INBOUND}/status?message={message_id}"],
    }
    sid = (await stored(hub))[-1].provider_id
    assert sid and sid.startswith("SM")

    for reported in ("sent", "delivered", "read", "delivered", "sent"):  # late ones ignored
        assert await whatsapp.status(message_id, sid, reported) == 204
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["messages"][-1]["delivery_status"] == "read"

    # WhatsApp turned it down after Twilio took it: the callback says why.
    status, second = await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "?"})
    second_sid = (await stored(hub))[-1].provider_id
    assert second_sid is not None
    await whatsapp.status(second["message_id"], second_sid, "failed", ErrorCode="63016")
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["messages"][-1]["delivery_status"] == "failed"
    assert "24 hours" in conversation["messages"][-1]["delivery_detail"]


async def test_a_reply_a_day_after_the_customer_wrote_is_refused_before_sending(
    hub: Hub, alice: AgentClient, api: MessagesApi
) -> None:
    whatsapp = WhatsApp(hub)
    await whatsapp.message("Can you call me back tomorrow?")
    conversation_id = await accept_next_offer(alice)
    async with hub.sessions() as session, session.begin():
        await session.execute(
            update(Message).values(created_at=utcnow() - timedelta(hours=24, minutes=1))
        )

    status, refused = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Good morning!"}
    )
    assert status == 409
    assert "WhatsApp" in refused["error"] and "24 hours" in refused["error"]
    assert api.requests == []
    assert [m.direction for m in await stored(hub)] == ["incoming"]

    await whatsapp.message("Still there?")  # the customer opens the window again
    status, sent = await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Yes!"})
    assert status == 200 and sent["delivery_status"] == "queued"

    # Twilio's own refusal (its clock said the window was closed) is recorded for the agent.
    api.refuse_with = (400, 63016, "Failed to send freeform message outside the window")
    status, sent = await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "?"})
    assert status == 200 and sent["delivery_status"] == "failed"
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert "63016" in conversation["messages"][-1]["delivery_detail"]
    assert "24 hours" in conversation["messages"][-1]["delivery_detail"]


async def test_stop_blocks_whatsapp_replies_until_start(
    hub: Hub, alice: AgentClient, api: MessagesApi
) -> None:
    whatsapp = WhatsApp(hub)
    await whatsapp.message("My bill is wrong")
    conversation_id = await accept_next_offer(alice)

    await whatsapp.message(" Stop ")
    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Let me look"}
    )
    assert status == 200 and sent["delivery_status"] == "opted_out"
    assert api.requests == []
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    timeline = await alice.get(f"/api/customers/{conversation['customer']['id']}/timeline")
    assert "whatsapp.opted_out" in [event["kind"] for event in timeline]

    await whatsapp.message("START")
    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Welcome back"}
    )
    assert sent["delivery_status"] == "queued"
    assert [r["form"]["To"] for r in api.requests] == [[f"whatsapp:{CUSTOMER}"]]
    timeline = await alice.get(f"/api/customers/{conversation['customer']['id']}/timeline")
    assert "whatsapp.opted_in" in [event["kind"] for event in timeline]
