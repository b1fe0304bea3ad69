"""Signatures: an agent's own (set by them or by an admin) and the inbox's (set by an
admin) end what the customer receives by email, and not a text unless the hub is told to
sign texts too. The relay (aiosmtpd) and Twilio's Messages API (the local fake) show
what the customer got."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select

from hub.models import Inbox
from hub.settings import Settings
from tests.agent_console.test_outreach import customer_with
from tests.channels.email_side import (
    SUPPORT,
    CapturingRelay,
    accept_next_offer,
    capturing_relay,
    email_hub,
    mail,
    send,
)
from tests.channels.twilio_side import MessagesApi as FakeTwilio
from tests.channels.twilio_side import with_twilio
from tests.support import AgentClient, Hub

SMS_INBOX = "+14155550100"
NUMBER = "+14155550123"


async def call(agent: AgentClient, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with agent.http.request(method, path.lstrip("/"), json=body) as response:
        return response.status, await response.json()


@pytest.fixture
async def served_twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    async with fake.serving() as url:
        yield fake, url


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as running:
        yield running


@asynccontextmanager
async def signed_hub(
    settings: Settings, twilio_url: str, relay: CapturingRelay, signed: str
) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(with_twilio(settings, twilio_url), signed_channels=signed)
    async with email_hub(settings, relay) as running:
        async with running.sessions() as session, session.begin():
            session.add(Inbox(channel="sms", address=SMS_INBOX, name="Support SMS"))
        yield running


async def set_up_signatures(hub: Hub) -> tuple[AgentClient, AgentClient]:
    """Alice signs her own email; the admin signs the support inbox."""
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    await hub.add_agent("root", role="admin")
    alice, root = await hub.login("alice"), await hub.login("root")
    status, body = await call(
        alice, "PUT", "/api/me/signature", {"signature": "Alice Smith\nCustomer care\n"}
    )
    assert status == 200 and body == {"signature": "Alice Smith\nCustomer care"}
    assert (await alice.get("/api/me"))["signature"] == "Alice Smith\nCustomer care"
    async with hub.sessions() as session:
        inbox = await session.scalar(select(Inbox.id).where(Inbox.address == SUPPORT))
    status, body = await call(
        root, "PATCH", f"/api/admin/queues/{inbox}", {"signature": "Acme · acme.test"}
    )
    assert status == 200 and body["signature"] == "Acme · acme.test"
    return alice, root


async def test_email_ends_with_the_agents_then_the_inboxs_signature_and_a_text_does_not(
    settings_for: Settings,
    served_twilio: tuple[FakeTwilio, str],
    relay: CapturingRelay,
) -> None:
    fake, url = served_twilio
    async with signed_hub(settings_for, url, relay, "email") as hub:
        alice, root = await set_up_signatures(hub)
        await send(hub, mail("Where is my order?", "Order 7 has not come."))
        conversation_id = await accept_next_offer(alice)
        status, _ = await alice.post(
            f"/api/conversations/{conversation_id}/reply", {"text": "It ships today."}
        )
        assert status == 200
        _envelope, received = await relay.next()
        assert received.get_content().replace("\r\n", "\n") == (
            "It ships today.\n\n-- \nAlice Smith\nCustomer care\n\nAcme · acme.test\n"
        )
        # The thread keeps what Alice wrote, and what the customer got beside it.
        reply = (await alice.get(f"/api/conversations/{conversation_id}"))["messages"][-1]
        assert reply["text"] == "It ships today."
        assert reply["full_text"].endswith("Customer care\n\nAcme · acme.test")

        # A text from the same agent goes unsigned.
        customer_id = await customer_with(hub, ("sms", NUMBER))
        async with hub.sessions() as session:
            sms_inbox = await session.scalar(select(Inbox.id).where(Inbox.channel == "sms"))
        status, _ = await alice.post(
            f"/api/customers/{customer_id}/conversations",
            {"channel": "sms", "address": NUMBER, "inbox_id": sms_inbox, "text": "On its way."},
        )
        assert status == 201
        assert fake.requests[-1]["form"]["Body"] == ["On its way."]

        # The admin changes Alice's signature; her next email carries it.
        agents = await root.get("/api/admin/agents")
        alice_id = next(a["id"] for a in agents if a["username"] == "alice")
        status, body = await call(
            root, "PATCH", f"/api/admin/agents/{alice_id}", {"signature": "A. Smith"}
        )
        assert status == 200 and body["signature"] == "A. Smith"
        await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Tracking: 42."})
        _envelope, received = await relay.next()
        assert (
            received.get_content().replace("\r\n", "\n")
            == "Tracking: 42.\n\n-- \nA. Smith\n\nAcme · acme.test\n"
        )
        await alice.close()
        await root.close()


async def test_texts_are_signed_when_the_hub_signs_them(
    settings_for: Settings,
    served_twilio: tuple[FakeTwilio, str],
    relay: CapturingRelay,
) -> None:
    fake, url = served_twilio
    async with signed_hub(settings_for, url, relay, "email,sms") as hub:
        alice, root = await set_up_signatures(hub)
        status, _ = await call(alice, "PUT", "/api/me/signature", {"signature": "- Alice"})
        assert status == 200
        customer_id = await customer_with(hub, ("sms", NUMBER))
        async with hub.sessions() as session:
            sms_inbox = await session.scalar(select(Inbox.id).where(Inbox.channel == "sms"))
        status, _ = await alice.post(
            f"/api/customers/{customer_id}/conversations",
            {"channel": "sms", "address": NUMBER, "inbox_id": sms_inbox, "text": "On its way."},
        )
        assert status == 201
        assert fake.requests[-1]["form"]["Body"] == ["On its way.\n\n-- \n- Alice"]
        status, body = await call(alice, "PUT", "/api/me/signature", {"signature": "x" * 2001})
        assert status == 400 and body["field"] == "signature"
        await alice.close()
        await root.close()
