"""WhatsApp through Twilio, as Twilio meets the hub: signed webhooks in, the Messages API out;
the 24-hour window and the approved templates sent outside it; media a customer sent,
fetched from Twilio with the account's credentials; STOP kept per address.

Only Twilio is replaced: its webhooks are signed here exactly as Twilio signs them (over
the hub's public, proxy-style URL), and its REST API is the local Messages API of
`twilio_side`, which takes WhatsApp messages as Twilio does: `whatsapp:` addresses, and a
template as ContentSid and ContentVariables instead of Body; it serves media behind the
account's Basic auth.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from agent_console.keys import DIRECTORY
from hub.keys import SETTINGS
from hub.models import AuditEntry, Customer, CustomerAddress, Message, OutboxEvent, utcnow
from hub.settings import Settings
from tests.channels.twilio_side import ACCOUNT_SID, PUBLIC_URL, MessagesApi, TwilioSide, with_twilio
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

SENDER = "+14155238886"  # the business's WhatsApp sender (a Twilio number)
CUSTOMER = "+447700900123"
INBOUND = "/webhooks/twilio/whatsapp"


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


CONTENT_SID = "HX" + "b7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5"
BODY = "Hello {{1}}, your order {{2}} is ready. Reply to continue."


async def call(agent: AgentClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with agent.http.request(method, path.lstrip("/"), json=body) as response:
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, data


async def add_template(hub: Hub) -> dict[str, Any]:
    await hub.add_agent("root", role="admin")
    root = await hub.login("root")
    given = {"name": "order_ready", "content_sid": CONTENT_SID, "language": "en", "body": BODY}
    status, template = await root.post("/api/admin/whatsapp-templates", given)
    await root.close()
    assert status == 201, template
    return dict(template)


async def close_window(hub: Hub) -> None:
    async with hub.sessions() as session, session.begin():
        await session.execute(update(Message).values(created_at=utcnow() - timedelta(hours=25)))


async def test_admins_keep_the_templates_and_every_change_is_audited(
    hub: Hub, alice: AgentClient
) -> None:
    await hub.add_agent("root", role="admin")
    root = await hub.login("root")
    good = {"name": "order_ready", "content_sid": CONTENT_SID, "language": "pt_BR", "body": BODY}
    for field, bad in (
        ("content_sid", "MG" + CONTENT_SID[2:]),
        ("content_sid", CONTENT_SID + "0"),
        ("language", "English"),
        ("body", ""),
    ):
        status, refused = await root.post("/api/admin/whatsapp-templates", {**good, field: bad})
        assert status == 400 and field in json.dumps(refused), (field, refused)
    status, refused = await alice.post("/api/admin/whatsapp-templates", good)
    assert status == 403

    status, created = await root.post("/api/admin/whatsapp-templates", good)
    assert status == 201 and created["variables"] == ["1", "2"]
    status, _ = await root.post("/api/admin/whatsapp-templates", good)
    assert status == 409
    item = f"/api/admin/whatsapp-templates/{created['id']}"
    status, changed = await call(root, "PATCH", item, {"body": "Hi {{1}}!", "language": "en"})
    assert status == 200 and (changed["variables"], changed["language"]) == (["1"], "en")
    assert [t["body"] for t in await alice.get("/api/whatsapp-templates")] == ["Hi {{1}}!"]
    status, _ = await call(alice, "DELETE", item)
    assert status == 403
    status, _ = await call(root, "DELETE", item)
    assert status == 204
    assert await alice.get("/api/whatsapp-templates") == []

    async with hub.sessions() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.startswith("whatsapp_template."))
                .order_by(AuditEntry.id)
            )
        )
    assert actions == [
        "whatsapp_template.created",
        "whatsapp_template.updated",
        "whatsapp_template.deleted",
    ]
    await root.close()


async def test_outside_the_window_only_a_template_goes_out_with_its_content_sid(
    hub: Hub, alice: AgentClient, api: MessagesApi
) -> None:
    template = await add_template(hub)
    api.contents[CONTENT_SID] = BODY
    whatsapp = WhatsApp(hub)
    await whatsapp.message("Where is my order?")
    conversation_id = await accept_next_offer(alice)
    path = f"/api/conversations/{conversation_id}"
    opened = await alice.get(path)
    closes = datetime.fromisoformat(opened["window_closes_at"])
    assert timedelta(hours=23) < closes - utcnow() <= timedelta(hours=24)

    await close_window(hub)
    conversation = await alice.get(path)
    closed_at = datetime.fromisoformat(conversation["window_closes_at"])
    assert closed_at < utcnow()
    [whatsapp_channel] = [c for c in conversation["reply_channels"] if c["channel"] == "whatsapp"]
    assert whatsapp_channel["window_closes_at"] == conversation["window_closes_at"]
    status, refused = await alice.post(path + "/reply", {"text": "Good morning!"})
    assert status == 409, refused
    assert f"closed at {closed_at:%Y-%m-%d %H:%M} UTC" in refused["error"]
    assert "template" in refused["error"]
    assert api.requests == []

    # A template with a variable missing, an unknown one, or a text too: refused, unsent.
    for body, names in (
        ({"template_id": template["id"], "variables": {"1": "Ana"}}, "variables.2"),
        ({"template_id": template["id"], "variables": {"1": "A", "2": "7", "3": "x"}}, "3"),
        ({"template_id": template["id"], "variables": {"1": "A\nB", "2": "7"}}, "variables.1"),
        ({"template_id": template["id"] + 1, "variables": {}}, "template_id"),
        (
            {"template_id": template["id"], "text": "hi", "variables": {"1": "A", "2": "7"}},
            "not both",
        ),
    ):
        status, refused = await alice.post(path + "/reply", body)
        assert status == 400 and names in refused["error"], (body, refused)
    assert api.requests == []

    variables = {"1": "Ana <b>", "2": "A-1009"}
    status, sent = await alice.post(
        path + "/reply", {"template_id": template["id"], "variables": variables}
    )
    assert status == 200 and sent["delivery_status"] == "queued", sent
    [request] = api.requests
    form = request["form"]
    assert "Body" not in form
    assert form["ContentSid"] == [CONTENT_SID]
    assert json.loads(form["ContentVariables"][0]) == variables
    assert (form["To"], form["From"]) == ([f"whatsapp:{CUSTOMER}"], [f"whatsapp:{SENDER}"])
    reply = (await stored(hub))[-1]
    assert reply.text == "Hello Ana <b>, your order A-1009 is ready. Reply to continue."
    assert reply.provider_id and reply.provider_id.startswith("SM")

    # The customer answers: the window opens again and free text goes as Body.
    await whatsapp.message("Thanks, coming today")
    assert datetime.fromisoformat((await alice.get(path))["window_closes_at"]) > utcnow()
    status, sent = await alice.post(path + "/reply", {"text": "See you then"})
    assert status == 200 and api.requests[-1]["form"]["Body"] == ["See you then"]


async def test_a_template_is_refused_on_a_channel_without_templates(
    hub: Hub, alice: AgentClient, api: MessagesApi
) -> None:
    template = await add_template(hub)
    texted = {"From": CUSTOMER, "To": SENDER, "Body": "Card blocked", "MessageSid": "SM1b"}
    status, _, body = await TwilioSide(hub).post("/webhooks/twilio/sms", texted)
    assert status == 200, body
    conversation_id = await accept_next_offer(alice)
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["window_closes_at"] is None  # SMS has no window
    status, refused = await alice.post(
        f"/api/conversations/{conversation_id}/reply",
        {"template_id": template["id"], "variables": {"1": "Ana", "2": "7"}},
    )
    assert status == 400 and "SMS sends no templates" in refused["error"]
    assert api.requests == []


async def test_media_the_customer_sent_is_fetched_from_twilio_with_the_account(
    hub: Hub, alice: AgentClient, api: MessagesApi
) -> None:
    picture = b"\xff\xd8\xff\xe0 a parcel, crushed"
    api.media["ME1"] = (picture, "image/jpeg")
    url = f"{api_url(hub)}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1"
    status, _, body = await WhatsApp(hub).message(
        "", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg", MessageType="image"
    )
    assert status == 200, body
    conversation_id = await accept_next_offer(alice)
    [message] = (await alice.get(f"/api/conversations/{conversation_id}"))["messages"]
    assert message["attachments"][0]["content_type"] == "image/jpeg"
    async with alice.http.get(
        f"api/conversations/{conversation_id}/messages/{message['id']}/attachments/0"
    ) as response:
        assert response.status == 200
        assert await response.read() == picture
    [fetched] = [r for r in api.requests if r.get("action") == "media"]
    assert (fetched["account"], fetched["sid"]) == (ACCOUNT_SID, "ME1")


def api_url(hub: Hub) -> str:
    return str(hub.app[SETTINGS].twilio_api_url).rstrip("/")


async def test_stop_on_whatsapp_leaves_texts_to_the_same_number(
    hub: Hub, alice: AgentClient, api: MessagesApi
) -> None:
    texted = {"From": CUSTOMER, "To": SENDER, "Body": "Card blocked", "MessageSid": "SM1c"}
    status, _, _ = await TwilioSide(hub).post("/webhooks/twilio/sms", texted)
    assert status == 200
    conversation_id = await accept_next_offer(alice)
    await hub.app[DIRECTORY].refresh()  # as every hub process does every few seconds
    whatsapp = WhatsApp(hub)
    await whatsapp.message("STOP")
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    opted = {c["channel"]: c["opted_out"] for c in conversation["reply_channels"]}
    assert opted == {"sms": False, "whatsapp": True}

    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Texting you instead"}
    )
    assert status == 200 and sent["delivery_status"] == "queued"
    assert [r["form"]["To"] for r in api.requests] == [[CUSTOMER]]
    status, refused = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Hi", "channel": "whatsapp"}
    )
    assert status == 409 and "sent STOP on WhatsApp" in refused["error"], refused
    assert [r["form"]["To"] for r in api.requests] == [[CUSTOMER]]


async def test_a_reply_not_delivered_after_all_is_on_the_timeline_and_told_to_webhooks(
    hub: Hub, alice: AgentClient, api: MessagesApi
) -> None:
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    status, _ = await ada.post(
        "/api/admin/webhooks",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["message.failed"]},
    )
    assert status == 201
    await ada.close()
    whatsapp = WhatsApp(hub)
    await whatsapp.message("Any news?")
    conversation_id = await accept_next_offer(alice)
    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Tomorrow"}
    )
    assert status == 200
    sid = (await stored(hub))[-1].provider_id
    assert sid is not None
    assert await whatsapp.status(sent["message_id"], sid, "sent") == 204
    for _repeat in range(2):  # Twilio may call back twice: one failure on the record
        code = await whatsapp.status(sent["message_id"], sid, "undelivered", ErrorCode="63024")
        assert code == 204

    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["messages"][-1]["delivery_status"] == "undelivered"
    timeline = await alice.get(f"/api/customers/{conversation['customer']['id']}/timeline")
    [failure] = [e for e in timeline if e["kind"] == "reply.failed"]
    assert failure["summary"] == "Tomorrow" and "63024" in failure["data"]["reason"]
    async with hub.sessions() as session:
        events = list(
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.event_type == "message.failed")
            )
        )
    [event] = events
    assert event.payload["data"]["message_id"] == sent["message_id"]
    assert (event.payload["data"]["delivery_status"], event.payload["data"]["error_code"]) == (
        "undelivered",
        "63024",
    )
