"""Answering on another channel: a chat customer who also called is answered by SMS, or
by email.

Only Twilio's Messages API is replaced (by the local server of `twilio_side`); the
hub, its SMS and email adapters, the SMTP relay (aiosmtpd) and the chat are real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from hub.models import Conversation, CustomerAddress, Inbox, Message, TimelineEvent, utcnow
from hub.settings import Settings
from tests.channels.email_side import JANE, SUPPORT, capturing_relay, email_hub
from tests.channels.twilio_side import MessagesApi as FakeTwilio
from tests.channels.twilio_side import with_twilio
from tests.conftest import start_hub
from tests.support import AgentClient, ChatCustomer, Hub, eventually

SMS_INBOX = "+14155550100"
CALLER = "+14155550123"


@pytest.fixture
async def hub(settings_for: Settings, twilio: tuple[FakeTwilio, str]) -> AsyncIterator[Hub]:
    async with start_hub(with_twilio(settings_for, twilio[1]), clean=True) as running:
        yield running


async def chat_taken_by(hub: Hub, alice: AgentClient) -> tuple[ChatCustomer, dict[str, object]]:
    customer = await ChatCustomer.connect(hub, name="Jane Doe")
    await customer.say("I called earlier, nobody answered")
    (offer,) = await eventually(lambda: alice.get("/api/offers"))
    status, body = await alice.post(f"/api/offers/{offer['offer_id']}/accept")
    assert status == 200
    conversation = await alice.get(f"/api/conversations/{body['conversation_id']}")
    return customer, conversation


async def test_a_chat_is_answered_by_sms_on_the_number_that_called(
    hub: Hub, twilio: tuple[FakeTwilio, str]
) -> None:
    fake = twilio[0]
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    customer, conversation = await chat_taken_by(hub, alice)
    customer_id = conversation["customer"]["id"]  # type: ignore[index]
    async with hub.sessions() as session, session.begin():
        session.add(Inbox(channel="sms", address=SMS_INBOX, name="Support SMS"))
        session.add(CustomerAddress(customer_id=customer_id, channel="voice", address=CALLER))

    conversation = await alice.get(f"/api/conversations/{conversation['id']}")
    assert conversation["reply_channel"] == "chat"
    texts = {"channel": "sms", "address": CALLER, "opted_out": False, "window_closes_at": None}
    assert texts in conversation["reply_channels"]
    status, sent = await alice.post(
        f"/api/conversations/{conversation['id']}/reply",
        {"text": "Sorry we missed your call! Texting you here.", "channel": "sms"},
    )
    assert status == 200, sent
    (request,) = fake.requests
    assert request["form"]["To"] == [CALLER] and request["form"]["From"] == [SMS_INBOX]
    assert request["form"]["Body"] == ["Sorry we missed your call! Texting you here."]

    # On the same conversation's timeline, marked with the channel it went out on.
    view = await alice.get(f"/api/conversations/{conversation['id']}")
    assert view["channel"] == "chat"
    last = view["messages"][-1]
    assert last["id"] == sent["message_id"] and last["channel"] == "sms"
    assert last["delivery_status"] == "queued"
    async with hub.sessions() as session:
        event = await session.scalar(
            select(TimelineEvent)
            .where(TimelineEvent.kind == "reply.sent")
            .order_by(TimelineEvent.id.desc())
        )
    assert event is not None and event.data["channel"] == "sms"
    assert event.conversation_id == conversation["id"]

    # Without a channel, the reply goes where it always did: back to the chat.
    status, _ = await alice.post(f"/api/conversations/{conversation['id']}/reply", {"text": "Hi!"})
    assert status == 200
    frame = await customer.expect("message")
    assert frame["text"] == "Hi!"
    assert len(fake.requests) == 1
    await customer.close()
    await alice.close()


async def test_an_opted_out_number_is_refused_with_a_clear_message(
    hub: Hub, twilio: tuple[FakeTwilio, str]
) -> None:
    fake = twilio[0]
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    customer, conversation = await chat_taken_by(hub, alice)
    customer_id = conversation["customer"]["id"]  # type: ignore[index]
    async with hub.sessions() as session, session.begin():
        session.add(Inbox(channel="sms", address=SMS_INBOX, name="Support SMS"))
        session.add(
            CustomerAddress(
                customer_id=customer_id, channel="sms", address=CALLER, opted_out_at=utcnow()
            )
        )
    view = await alice.get(f"/api/conversations/{conversation['id']}")
    stopped = {"channel": "sms", "address": CALLER, "opted_out": True, "window_closes_at": None}
    assert stopped in view["reply_channels"]

    async def outgoing() -> int:
        async with hub.sessions() as session:
            return int(
                await session.scalar(select(func.count()).where(Message.direction == "outgoing"))
                or 0
            )

    reply = f"/api/conversations/{conversation['id']}/reply"
    status, body = await alice.post(reply, {"text": "Hello by text", "channel": "sms"})
    assert status == 409
    assert body["error"] == f"{CALLER} replied STOP: it gets no texts until it sends START."
    status, body = await alice.post(reply, {"text": "Hello", "channel": "email"})
    assert status == 400 and body["error"] == "The customer has no email address to answer on."
    status, body = await alice.post(reply, {"text": "Hello", "channel": 7})
    assert status == 400
    assert await outgoing() == 0 and fake.requests == []
    async with hub.sessions() as session:
        stored = await session.get(Conversation, conversation["id"])
    assert stored is not None and stored.status == "assigned"
    await customer.close()
    await alice.close()


async def test_a_chat_is_answered_by_email_through_the_relay(settings_for: Settings) -> None:
    async with capturing_relay() as relay, email_hub(settings_for, relay) as hub:
        await hub.add_agent("alice", status="available")
        alice = await hub.login("alice")
        customer, conversation = await chat_taken_by(hub, alice)
        customer_id = conversation["customer"]["id"]  # type: ignore[index]
        async with hub.sessions() as session, session.begin():
            session.add(CustomerAddress(customer_id=customer_id, channel="email", address=JANE))

        status, sent = await alice.post(
            f"/api/conversations/{conversation['id']}/reply",
            {"text": "The full details are in this email.", "channel": "email"},
        )
        assert status == 200 and sent["delivery_status"] == "sent", sent
        envelope, mail = await relay.next()
        assert envelope.rcpt_tos == [JANE]
        assert SUPPORT in str(mail["From"]) and mail["To"] == JANE
        assert mail.get_content().strip() == "The full details are in this email."
        # The chat's first message names the thread, so the customer knows what it is about.
        assert str(mail["Subject"]).startswith("Re: I called earlier, nobody answered")
        view = await alice.get(f"/api/conversations/{conversation['id']}")
        assert view["messages"][-1]["channel"] == "email"
        assert view["channel"] == "chat" and view["status"] == "assigned"
        await customer.close()
        await alice.close()
