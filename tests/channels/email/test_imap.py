"""Email from a mailbox kept elsewhere: the hub polls a real IMAP server (a private Dovecot)
and treats what it finds exactly like mail that arrived by SMTP."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from channels.email import IMAP_POLLER
from channels.email._imap import MailboxPoller
from channels.email._reply_token import ReplyAddresses
from hub.keys import SETTINGS
from hub.models import Message
from hub.settings import Settings
from tests.channels.email.imap_side import DOVECOT, PASSWORD, USER, Dovecot, running_dovecot
from tests.channels.email_side import (
    SUPPORT,
    CapturingRelay,
    capturing_relay,
    conversation_of,
    email_hub,
    is_queued,
    mail,
    send,
    stored,
)
from tests.conftest import start_hub
from tests.support import Hub, eventually

pytestmark = pytest.mark.skipif(
    not Path(DOVECOT).exists(), reason="dovecot is not installed (scripts/services.sh does it)"
)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
async def mailbox(dovecot: Dovecot) -> str:
    """A fresh folder on the server for each test."""
    name = f"support-{uuid.uuid4().hex[:10]}"
    await dovecot.create(name)
    return name


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as relay:
        yield relay


def polling(settings: Settings, dovecot: Dovecot, mailbox: str, interval: float) -> Settings:
    return dataclasses.replace(
        settings,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_user=USER,
        imap_password=PASSWORD,
        imap_mailbox=mailbox,
        imap_tls=False,
        imap_interval=interval,
    )


@pytest.fixture
async def hub(
    settings_for: Settings, relay: CapturingRelay, dovecot: Dovecot, mailbox: str
) -> AsyncIterator[Hub]:
    """A hub polling the mailbox several times a second."""
    async with email_hub(polling(settings_for, dovecot, mailbox, 0.1), relay) as running:
        yield running


@pytest.fixture
async def hand_polled_hub(
    settings_for: Settings, relay: CapturingRelay, dovecot: Dovecot, mailbox: str
) -> AsyncIterator[Hub]:
    """A hub that polls once at start, then only when the test says so."""
    async with email_hub(polling(settings_for, dovecot, mailbox, 3600), relay) as running:
        yield running


def delivered(message: EmailMessage, to: str = SUPPORT) -> bytes:
    """The message as the company's mail server files it: with its envelope headers."""
    return f"Return-Path: <jane@customer.test>\r\nDelivered-To: {to}\r\n".encode() + bytes(
        message
    ).replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")


async def test_mail_in_the_mailbox_becomes_a_contact_and_is_flagged_seen(
    hub: Hub, dovecot: Dovecot, mailbox: str
) -> None:
    body = "My card was declined.\n\nOn Mon, Alice <support@acme.test> wrote:\n> Hello"
    await dovecot.append(mailbox, delivered(mail("Card declined", body)))

    (message,) = await eventually(lambda: stored(hub))
    assert message.sender == "jane@customer.test"
    assert message.text == "My card was declined."  # the same reading as mail by SMTP
    assert message.full_text == body
    conversation = await conversation_of(hub, message)
    assert conversation.subject == "Card declined"
    assert await is_queued(hub, conversation.id)
    assert await eventually(lambda: _none_unseen(dovecot, mailbox))


async def test_an_answer_in_the_mailbox_threads_by_its_reply_address(
    hub: Hub, dovecot: Dovecot, mailbox: str
) -> None:
    await send(hub, mail("Card declined", "My card was declined."))
    (first,) = await stored(hub)
    token = ReplyAddresses(hub.app[SETTINGS].secret_key).address(SUPPORT, first.conversation_id)
    # A fresh message (no threading headers) to the reply address, filed in the mailbox.
    await dovecot.append(mailbox, delivered(mail("card", "It ends in 4242."), to=token))

    messages = await eventually(lambda: _at_least(hub, 2))
    assert [m.conversation_id for m in messages] == [first.conversation_id] * 2


async def test_a_message_stored_before_is_not_stored_again_and_is_flagged_seen(
    hub: Hub, dovecot: Dovecot, mailbox: str
) -> None:
    """As when the hub died after storing a message but before flagging it."""
    message = mail("Card declined", "My card was declined.")
    await send(hub, message)
    await dovecot.append(mailbox, delivered(message))
    await dovecot.append(mailbox, delivered(message))  # and a second copy of it

    assert await eventually(lambda: _none_unseen(dovecot, mailbox))
    assert len(await stored(hub)) == 1


async def test_a_message_that_cannot_be_stored_stays_unseen_until_it_can(
    hand_polled_hub: Hub, dovecot: Dovecot, mailbox: str
) -> None:
    hub = hand_polled_hub
    poller = hub.app[IMAP_POLLER]
    attachments = Path(hub.app[SETTINGS].attachments_dir)
    await asyncio.to_thread(attachments.write_text, "a file where the attachment folder goes")
    message = mail("Receipt", "The receipt is attached.")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="r.pdf")
    await dovecot.append(mailbox, delivered(message))

    failed = await poller.poll()
    assert (failed.stored, failed.left) == (0, 1)
    assert await dovecot.unseen(mailbox) == 1
    assert await stored(hub) == []

    await asyncio.to_thread(attachments.unlink)  # the disk is fixed
    retried = await poller.poll()
    assert (retried.stored, retried.left) == (1, 0)
    assert await dovecot.unseen(mailbox) == 0
    (kept,) = await stored(hub)
    assert [a["name"] for a in kept.attachments] == ["r.pdf"]


async def test_mail_with_nobody_to_answer_is_flagged_seen_and_left_in_the_mailbox(
    hand_polled_hub: Hub, dovecot: Dovecot, mailbox: str
) -> None:
    await dovecot.append(mailbox, b"Subject: who am I\r\n\r\nno From, no Return-Path\r\n")
    done = await hand_polled_hub.app[IMAP_POLLER].poll()
    assert (done.stored, done.left) == (1, 0)
    assert await dovecot.unseen(mailbox) == 0
    assert await stored(hand_polled_hub) == []


async def test_a_bounce_found_in_the_mailbox_is_recorded_but_never_queued(
    hand_polled_hub: Hub, dovecot: Dovecot, mailbox: str
) -> None:
    bounce = mail("Undelivered Mail Returned to Sender", "Could not deliver.")
    raw = b"Return-Path: <>\r\n" + bytes(bounce).replace(b"\n", b"\r\n")
    await dovecot.append(mailbox, raw)
    await hand_polled_hub.app[IMAP_POLLER].poll()
    (message,) = await stored(hand_polled_hub)
    conversation = await conversation_of(hand_polled_hub, message)
    assert (conversation.status, conversation.disposition) == ("closed", "automatic")


async def test_a_wrong_password_is_reported_and_nothing_is_fetched(
    settings_for: Settings, relay: CapturingRelay
) -> None:
    # A server of its own: Dovecot slows down every login from an address that failed one.
    with running_dovecot() as dovecot:
        await dovecot.create("INBOX.support")
        await dovecot.append("INBOX.support", delivered(mail("Card declined", "Declined.")))
        settings = dataclasses.replace(
            polling(settings_for, dovecot, "INBOX.support", 3600), imap_password="wrong"
        )
        async with email_hub(settings, relay) as hub:
            poller = hub.app[IMAP_POLLER]
            assert "AUTHENTICATIONFAILED" in await eventually(lambda: _error_of(poller))
            assert await stored(hub) == []  # without a login, nothing was fetched or flagged


async def _error_of(poller: MailboxPoller) -> str:
    return poller.last_error


async def _none_unseen(dovecot: Dovecot, mailbox: str) -> bool | None:
    return (await dovecot.unseen(mailbox) == 0) or None


async def _at_least(hub: Hub, count: int) -> list[Message] | None:
    messages = await stored(hub)
    return messages if len(messages) >= count else None


async def test_mail_read_elsewhere_is_still_fetched_and_a_restart_goes_on_from_there(
    settings_for: Settings, relay: CapturingRelay, dovecot: Dovecot, mailbox: str
) -> None:
    """The hub keeps its place in the mailbox (the last UID it handled), not the \\Seen
    flags a person in a mail client may set first; mail read before the hub first
    looked is left alone."""
    read = "(\\Seen)"
    await dovecot.append(mailbox, delivered(mail("Old", "Read long ago.")), flags=read)
    settings = polling(settings_for, dovecot, mailbox, 3600)
    async with email_hub(settings, relay) as hub:
        poller = hub.app[IMAP_POLLER]
        await poller.poll()
        assert await stored(hub) == []  # read before the hub first looked

        await dovecot.append(mailbox, delivered(mail("Card declined", "Declined.")), flags=read)
        assert (await poller.poll()).stored == 1
        assert [m.subject for m in await stored(hub)] == ["Card declined"]
        assert (await poller.poll()).stored == 0  # nothing new since
        settings = hub.app[SETTINGS]

    await dovecot.append(mailbox, delivered(mail("While down", "Anyone?")), flags=read)
    async with start_hub(settings) as restarted:  # the same database, so the same place
        await restarted.app[IMAP_POLLER].poll()  # after the round it runs as it starts
        assert sorted(m.subject for m in await stored(restarted)) == ["Card declined", "While down"]


async def test_a_mailbox_made_anew_is_looked_at_afresh(
    hand_polled_hub: Hub, dovecot: Dovecot, mailbox: str
) -> None:
    """New UIDVALIDITY, new UIDs from 1: the old place means nothing there. The hub reads
    it as on its first look, taking only the unseen mail."""
    hub = hand_polled_hub
    poller = hub.app[IMAP_POLLER]
    for n in range(3):
        await dovecot.append(mailbox, delivered(mail(f"Before {n}", "Hello.")))
    await poller.poll()
    assert len(await stored(hub)) == 3

    await dovecot.recreate(mailbox)
    await dovecot.append(mailbox, delivered(mail("Archived", "Old.")), flags="(\\Seen)")
    await dovecot.append(mailbox, delivered(mail("After", "New.")))
    assert (await poller.poll()).stored == 1
    subjects = [m.subject for m in await stored(hub)]
    assert subjects == ["Before 0", "Before 1", "Before 2", "After"]
