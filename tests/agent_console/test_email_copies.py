"""CC and BCC on an agent's email: the relay (a real aiosmtpd server) gets every recipient
in the envelope, the mail names the CC ones and never the BCC ones, and the thread shows
both to agents."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from hub.models import Conversation, Customer, CustomerAddress, Inbox, Message
from hub.settings import Settings
from tests.agent_console.test_outreach import customer_with
from tests.channels.email_side import (
    JANE,
    SUPPORT,
    CapturingRelay,
    accept_next_offer,
    capturing_relay,
    email_hub,
    mail,
    send,
)
from tests.support import AgentClient, Hub

BOSS = "boss@customer.test"
LAWYER = "lawyer@firm.test"
AUDIT = "audit@acme.test"


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as running:
        yield running


@pytest.fixture
async def hub(settings_for: Settings, relay: CapturingRelay) -> AsyncIterator[Hub]:
    async with email_hub(settings_for, relay) as running:
        yield running


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


async def outgoing(hub: Hub) -> int:
    async with hub.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Message).where(Message.direction == "outgoing")
            )
            or 0
        )


async def test_a_reply_goes_to_cc_and_bcc_but_only_cc_is_named_in_the_mail(
    hub: Hub, relay: CapturingRelay, alice: AgentClient
) -> None:
    await send(hub, mail("Invoice 42 is wrong", "Please correct invoice 42."))
    conversation_id = await accept_next_offer(alice)
    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply",
        {
            "text": "Corrected, see the new invoice.",
            # Jane herself and a repeat are dropped; an address in both stays CC only.
            "cc": [BOSS, " lawyer@firm.test ", JANE, BOSS],
            "bcc": [AUDIT, BOSS],
        },
    )
    assert status == 200 and sent["delivery_status"] == "sent", sent

    envelope, received = await relay.next()
    assert envelope.rcpt_tos == [JANE, BOSS, LAWYER, AUDIT]
    assert received["To"] == JANE and received["Cc"] == f"{BOSS}, {LAWYER}"
    assert received["Bcc"] is None and AUDIT not in envelope.original_content.decode()
    assert received.get_content().strip() == "Corrected, see the new invoice."

    view = await alice.get(f"/api/conversations/{conversation_id}")
    reply = view["messages"][-1]
    assert reply["cc"] == [BOSS, LAWYER] and reply["bcc"] == [AUDIT]
    # The customer's own message keeps no copies.
    assert view["messages"][0]["cc"] == [] and view["messages"][0]["bcc"] == []


async def test_a_new_email_carries_cc_and_bcc(hub: Hub, relay: CapturingRelay) -> None:
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    async with hub.sessions() as session, session.begin():
        customer = Customer(name="Jane Doe")
        session.add(customer)
        await session.flush()
        session.add(CustomerAddress(customer_id=customer.id, channel="email", address=JANE))
        inbox = await session.scalar(select(Inbox.id).where(Inbox.address == SUPPORT))
    status, started = await sam.post(
        f"/api/customers/{customer.id}/conversations",
        {
            "channel": "email",
            "address": JANE,
            "inbox_id": inbox,
            "subject": "Your contract",
            "text": "Here is the contract.",
            "cc": [LAWYER],
            "bcc": [AUDIT],
        },
    )
    assert status == 201, started
    envelope, received = await relay.next()
    assert envelope.rcpt_tos == [JANE, LAWYER, AUDIT]
    assert received["Cc"] == LAWYER and received["Bcc"] is None
    view = await sam.get(f"/api/conversations/{started['conversation_id']}")
    assert view["messages"][-1]["cc"] == [LAWYER] and view["messages"][-1]["bcc"] == [AUDIT]
    await sam.close()


async def test_bad_copies_are_refused_and_nothing_is_sent(
    hub: Hub, relay: CapturingRelay, alice: AgentClient
) -> None:
    await send(hub, mail("Question", "Hello?"))
    conversation_id = await accept_next_offer(alice)
    reply = f"/api/conversations/{conversation_id}/reply"
    for body, message in [
        ({"cc": ["Boss <boss@customer.test>"]}, "cc.0: Boss <boss@customer.test> is not"),
        ({"bcc": ["audit@acme"]}, "bcc.0: audit@acme is not an email address."),
        ({"cc": ["a@b.test, c@d.test"]}, "cc.0: a@b.test, c@d.test is not"),
        ({"cc": "boss@customer.test"}, "cc: "),
        ({"cc": [f"x{n}@b.test" for n in range(21)]}, "cc: "),
    ]:
        status, answer = await alice.post(reply, {"text": "Hi", **body})
        assert status == 400 and answer["error"].startswith(message), (body, answer)
    assert await outgoing(hub) == 0 and relay.received.empty()


async def test_a_text_takes_no_copies(settings_for: Settings) -> None:
    async with capturing_relay() as relay, email_hub(settings_for, relay) as hub:
        await hub.add_agent("alice", status="available")
        alice = await hub.login("alice")
        async with hub.sessions() as session, session.begin():
            session.add(Inbox(channel="sms", address="+14155550100"))
        customer_id = await customer_with(hub, ("sms", "+14155550123"))
        async with hub.sessions() as session:
            sms_inbox = await session.scalar(select(Inbox.id).where(Inbox.channel == "sms"))
        status, answer = await alice.post(
            f"/api/customers/{customer_id}/conversations",
            {
                "channel": "sms",
                "address": "+14155550123",
                "inbox_id": sms_inbox,
                "text": "Hi",
                "cc": [BOSS],
            },
        )
        assert status == 400
        assert answer["error"] == "SMS goes to the customer alone: CC and BCC are for email."
        async with hub.sessions() as session:
            open_ones = await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.status != "closed")
            )
        # Refused before the conversation is opened: nothing stored, nothing sent.
        assert open_ones == 0 and await outgoing(hub) == 0
        await alice.close()
