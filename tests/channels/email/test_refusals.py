"""What the SMTP door refuses, and what a 250 promises: stored, in a known inbox."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from collections.abc import AsyncIterator

import aiosmtplib
import pytest
from sqlalchemy import select

from hub.models import Conversation, Inbox
from hub.settings import Settings
from tests.channels.email_side import (
    SUPPORT,
    CapturingRelay,
    capturing_relay,
    email_hub,
    mail,
    send,
    send_raw,
    stored,
)
from tests.conftest import start_hub
from tests.support import Hub


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as relay:
        yield relay


@pytest.fixture
async def hub(settings_for: Settings, relay: CapturingRelay) -> AsyncIterator[Hub]:
    async with email_hub(settings_for, relay) as running:
        yield running


async def inbox_addresses(hub: Hub) -> set[str]:
    async with hub.sessions() as session:
        return set(await session.scalars(select(Inbox.address).where(Inbox.channel == "email")))


async def test_another_sender_reusing_a_message_id_is_stored_too(hub: Hub) -> None:
    first = mail("Card declined", "My card was declined.")
    await send(hub, first)
    await send(hub, first)  # the same mail again (a retry): stored once
    forged = mail("Refund", "Please refund me.", sender="Mallory <mallory@evil.test>")
    forged.replace_header("Message-ID", first["Message-ID"])
    answer = await send(hub, forged)
    again = await send(hub, forged)  # its own retry is still one message

    messages = await stored(hub)
    assert [(m.sender, m.text) for m in messages] == [
        ("jane@customer.test", "My card was declined."),
        ("mallory@evil.test", "Please refund me."),
    ]
    assert answer == again
    assert f"Stored as message {messages[1].id}" in answer


async def test_a_made_up_address_at_the_company_domain_is_refused(hub: Hub) -> None:
    message = mail("Hello", "Is this the right address?")
    message.replace_header("To", "ceo-urgent@acme.test")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(hub, message)
    assert refused.value.recipients[0].code == 550
    assert await stored(hub) == []
    assert await inbox_addresses(hub) == {SUPPORT}

    # A customer's mail to the inbox itself, and to its +tagged form, still arrives.
    await send(hub, mail("Hello", "Right address."))
    tagged = mail("Hello", "Tagged address.")
    tagged.replace_header("To", "support+orders@acme.test")
    await send(hub, tagged)
    assert len(await stored(hub)) == 2
    assert await inbox_addresses(hub) == {SUPPORT}


@pytest.fixture
async def catch_all_hub(settings_for: Settings, relay: CapturingRelay) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(settings_for, email_catch_all=SUPPORT)
    async with email_hub(settings, relay) as running:
        yield running


async def test_with_a_catch_all_unknown_addresses_land_in_its_inbox(catch_all_hub: Hub) -> None:
    message = mail("Hello", "Sent to an old address.")
    message.replace_header("To", "sales-2019@acme.test")
    await send(catch_all_hub, message)
    (stored_message,) = await stored(catch_all_hub)
    async with catch_all_hub.sessions() as session:
        conversation = await session.get(Conversation, stored_message.conversation_id)
        assert conversation is not None
        inbox = await session.get(Inbox, conversation.inbox_id)
    assert inbox is not None and inbox.address == SUPPORT
    assert await inbox_addresses(catch_all_hub) == {SUPPORT}
    # Another domain stays refused.
    stranger = mail("Hello", "Wrong domain.")
    stranger.replace_header("To", "someone@elsewhere.test")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(catch_all_hub, stranger)


@pytest.fixture
async def roomy_hub(settings_for: Settings) -> AsyncIterator[Hub]:
    """The default size limit (25 MB): room for a message of 3,000 nested parts."""
    async with start_hub(settings_for, clean=True) as running:
        async with running.sessions() as session, session.begin():
            session.add(Inbox(channel="email", address=SUPPORT, name="Support"))
        yield running


async def test_mime_nested_too_deep_is_refused_for_good(roomy_hub: Hub) -> None:
    hub = roomy_hub
    depth = 3000
    lines = [b"From: jane@customer.test", b"To: " + SUPPORT.encode(), b"Subject: deep"]
    lines += [b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="b0"', b""]
    for level in range(1, depth):
        lines += [
            f"--b{level - 1}".encode(),
            f'Content-Type: multipart/mixed; boundary="b{level}"'.encode(),
            b"",
        ]
    lines += [f"--b{depth - 1}".encode(), b"Content-Type: text/plain", b"", b"deep down", b""]
    for level in reversed(range(depth)):
        lines.append(f"--b{level}--".encode())
    raw = b"\r\n".join(lines) + b"\r\n"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(send_raw, hub, raw)
    assert 500 <= refused.value.smtp_code < 600  # permanent: the sender stops retrying
    assert await stored(hub) == []
