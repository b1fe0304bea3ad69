"""An agent starts a conversation from a customer's page: a new email or a text.

The hub, its email and SMS adapters and the SMTP relay (aiosmtpd) are real; only
Twilio's Messages API is the local fake of `twilio_side`, whose webhooks the customer's
answer comes back through, signed as Twilio signs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.keys import QUEUE
from hub.models import (
    Agent,
    Conversation,
    Customer,
    CustomerAddress,
    Inbox,
    Message,
    TimelineEvent,
    utcnow,
)
from hub.settings import Settings
from tests.channels.email_side import JANE, SUPPORT, CapturingRelay, capturing_relay, email_hub
from tests.channels.email_side import mail as customer_mail
from tests.channels.email_side import send as deliver_mail
from tests.channels.test_sms import Webhook, sms_form
from tests.channels.twilio_side import MessagesApi as FakeTwilio
from tests.channels.twilio_side import with_twilio
from tests.support import AgentClient, Hub, eventually

SMS_INBOX = "+14155550100"
NUMBER = "+14155550123"


@pytest.fixture
async def served_twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    async with fake.serving() as url:
        yield fake, url


@pytest.fixture
def twilio(served_twilio: tuple[FakeTwilio, str]) -> FakeTwilio:
    return served_twilio[0]


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as running:
        yield running


@pytest.fixture
async def hub(
    settings_for: Settings, served_twilio: tuple[FakeTwilio, str], relay: CapturingRelay
) -> AsyncIterator[Hub]:
    settings = with_twilio(settings_for, served_twilio[1])
    async with email_hub(settings, relay) as running:
        async with running.sessions() as session, session.begin():
            session.add(Inbox(channel="sms", address=SMS_INBOX, name="Support SMS"))
        yield running


async def customer_with(
    hub: Hub, *addresses: tuple[str, str], opted_out: bool = False, served_by: str = "alice"
) -> int:
    """A customer the agent served before (an agent opens only those customers' pages)."""
    async with hub.sessions() as session, session.begin():
        customer = Customer(name="Jane Doe")
        session.add(customer)
        agent_id = await session.scalar(select(Agent.id).where(Agent.username == served_by))
        inbox = await session.scalar(select(Inbox.id).where(Inbox.channel == "email"))
        await session.flush()
        session.add(
            Conversation(
                customer_id=customer.id,
                inbox_id=inbox,
                channel="email",
                status="closed",
                agent_id=agent_id,
                subject="Last month's order",
            )
        )
        for channel, address in addresses:
            session.add(
                CustomerAddress(
                    customer_id=customer.id,
                    channel=channel,
                    address=address,
                    opted_out_at=utcnow() if opted_out else None,
                )
            )
        return customer.id


async def inbox_id(hub: Hub, channel: str) -> int:
    async with hub.sessions() as session:
        found = await session.scalar(select(Inbox.id).where(Inbox.channel == channel))
        assert found is not None
        return found


OPEN = Conversation.status != "closed"


async def count(hub: Hub, model: Any, *where: Any) -> int:
    async with hub.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_an_agent_emails_a_customer_and_the_answer_threads_back(
    hub: Hub, relay: CapturingRelay
) -> None:
    alice_id = await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    customer_id = await customer_with(hub, ("email", JANE))
    options = await alice.get(f"/api/customers/{customer_id}/outreach")
    email = next(c for c in options["channels"] if c["channel"] == "email")
    assert email["addresses"] == [{"address": JANE, "opted_out": False}]
    assert [i["address"] for i in email["inboxes"]] == [SUPPORT]
    assert email["needs_subject"] and email["copies"]

    status, started = await alice.post(
        f"/api/customers/{customer_id}/conversations",
        {
            "channel": "email",
            "address": JANE,
            "inbox_id": email["inboxes"][0]["id"],
            "subject": "Your refund",
            "text": "Your refund went out today.",
        },
    )
    assert status == 201 and started["delivery_status"] == "sent", started
    conversation_id = started["conversation_id"]
    envelope, sent = await relay.next()
    assert envelope.rcpt_tos == [JANE] and sent["To"] == JANE and SUPPORT in str(sent["From"])
    # A new email, not an answer: no "Re:", no In-Reply-To; the tag threads the answer.
    assert sent["Subject"] == f"Your refund [#{conversation_id}]"
    assert sent["In-Reply-To"] is None
    assert sent.get_content().strip() == "Your refund went out today."

    # Alice holds it, counted against her email capacity as a routed one would be.
    mine = await alice.get("/api/conversations")
    assert [c["id"] for c in mine] == [conversation_id]
    assert await hub.app[QUEUE].load(alice_id) == {"email": 1}
    page = await alice.get(f"/api/customers/{customer_id}")
    assert conversation_id in [c["id"] for c in page["conversations"]]
    kinds = [e["kind"] for e in page["timeline"]["events"]]
    assert "conversation.started" in kinds and "reply.sent" in kinds

    answer = customer_mail(
        "Re: Your refund", "Thanks, got it!", In_Reply_To=str(sent["Message-ID"])
    )
    await deliver_mail(hub, answer)
    view = await eventually(
        lambda: _with_incoming(alice, conversation_id),
    )
    assert view["messages"][-1]["text"] == "Thanks, got it!"
    assert await count(hub, Conversation, OPEN) == 1
    await alice.close()


async def _with_incoming(alice: AgentClient, conversation_id: int) -> dict[str, Any] | None:
    view: dict[str, Any] = await alice.get(f"/api/conversations/{conversation_id}")
    return view if view["messages"][-1]["direction"] == "incoming" else None


async def test_an_agent_texts_a_number_that_called_and_the_answer_lands_in_that_conversation(
    hub: Hub, twilio: FakeTwilio
) -> None:
    await hub.add_agent("alice")  # away from the queue, yet free to write to a customer
    alice = await hub.login("alice")
    customer_id = await customer_with(hub, ("voice", NUMBER))
    options = await alice.get(f"/api/customers/{customer_id}/outreach")
    sms = next(c for c in options["channels"] if c["channel"] == "sms")
    assert sms["addresses"] == [{"address": NUMBER, "opted_out": False}]
    assert not sms["needs_subject"] and not sms["copies"]

    status, started = await alice.post(
        f"/api/customers/{customer_id}/conversations",
        {
            "channel": "sms",
            "address": NUMBER,
            "inbox_id": sms["inboxes"][0]["id"],
            "text": "Sorry we missed your call. How can we help?",
        },
    )
    assert status == 201, started
    (request,) = twilio.requests
    assert request["form"]["To"] == [NUMBER] and request["form"]["From"] == [SMS_INBOX]
    assert request["form"]["Body"] == ["Sorry we missed your call. How can we help?"]

    code, _, _ = await Webhook(hub).post(
        "/webhooks/twilio/sms", sms_form("My card was charged twice", From=NUMBER)
    )
    assert code == 200
    view = await eventually(lambda: _with_incoming(alice, started["conversation_id"]))
    assert view["messages"][-1]["text"] == "My card was charged twice"
    assert view["status"] == "assigned" and view["subject"].startswith("Sorry we missed")
    assert await count(hub, Conversation, OPEN) == 1
    await alice.close()


async def test_an_opted_out_number_is_refused_before_anything_is_stored_or_sent(
    hub: Hub, twilio: FakeTwilio
) -> None:
    alice_id = await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    customer_id = await customer_with(hub, ("sms", NUMBER), opted_out=True)
    options = await alice.get(f"/api/customers/{customer_id}/outreach")
    sms = next(c for c in options["channels"] if c["channel"] == "sms")
    assert sms["addresses"] == [{"address": NUMBER, "opted_out": True}]

    status, body = await alice.post(
        f"/api/customers/{customer_id}/conversations",
        {
            "channel": "sms",
            "address": NUMBER,
            "inbox_id": await inbox_id(hub, "sms"),
            "text": "Hello",
        },
    )
    assert status == 409
    assert body["error"] == f"{NUMBER} replied STOP: it gets no texts until it sends START."
    assert twilio.requests == []
    assert await count(hub, Conversation, OPEN) == 0 and await count(hub, Message) == 0
    assert await hub.app[QUEUE].load(alice_id) == {}
    await alice.close()


async def test_a_full_agent_starts_nothing_until_one_closes(
    hub: Hub, relay: CapturingRelay
) -> None:
    alice_id = await hub.add_agent("alice", status="available", capacities={"email": 1})
    alice = await hub.login("alice")
    customer_id = await customer_with(hub, ("email", JANE))
    new = {
        "channel": "email",
        "address": JANE,
        "inbox_id": await inbox_id(hub, "email"),
        "subject": "About your order",
        "text": "Your order shipped.",
    }
    status, first = await alice.post(f"/api/customers/{customer_id}/conversations", new)
    assert status == 201, first
    await relay.next()
    status, body = await alice.post(f"/api/customers/{customer_id}/conversations", new)
    assert status == 409
    assert body["error"] == (
        "You already hold 1 Email conversations, your capacity: close one before starting another."
    )
    assert await count(hub, Conversation, OPEN) == 1
    assert await hub.app[QUEUE].load(alice_id) == {"email": 1}

    status, _ = await alice.post(f"/api/conversations/{first['conversation_id']}/close")
    assert status == 200
    status, second = await alice.post(f"/api/customers/{customer_id}/conversations", new)
    assert status == 201, second
    assert await hub.app[QUEUE].load(alice_id) == {"email": 1}
    await alice.close()


async def test_what_cannot_be_started_is_refused_saying_why(hub: Hub) -> None:
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    customer_id = await customer_with(hub, ("email", JANE), ("chat", "visitor-1"))
    other_id = await customer_with(hub, ("email", "someone@else.test"), served_by="nobody")
    email_inbox, sms_inbox = await inbox_id(hub, "email"), await inbox_id(hub, "sms")
    base = {"channel": "email", "address": JANE, "inbox_id": email_inbox, "subject": "Hi"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**base, "text": "  "}, 400, "The message is empty."),
        ({**base, "subject": "", "text": "x"}, 400, "A new Email needs a subject."),
        (
            {**base, "address": "someone@else.test", "text": "x"},
            400,
            "someone@else.test is not one of this customer's Email addresses.",
        ),
        (
            {**base, "inbox_id": sms_inbox, "text": "x"},
            400,
            "Choose one of the hub's Email inboxes.",
        ),
        (
            {**base, "channel": "chat", "address": "visitor-1", "text": "x"},
            400,
            "Agents start conversations by email or sms only.",
        ),
    ]
    for body, status, message in cases:
        got, answer = await alice.post(f"/api/customers/{customer_id}/conversations", body)
        assert (got, answer["error"]) == (status, message), body
    # A customer the agent never served is not theirs to open, nor to write to.
    for customer in (other_id, 999999):
        got, _ = await alice.post(f"/api/customers/{customer}/conversations", {**base, "text": "x"})
        assert got == 404
    assert await count(hub, Conversation, OPEN) == 0
    assert await count(hub, TimelineEvent) == 0
    await alice.close()
