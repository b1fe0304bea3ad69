"""Email as mail servers meet it: customers' mail arrives over real SMTP, replies leave
through a real relay (a local aiosmtpd server standing in for the company's smarthost)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import smtplib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import select

from channels.email import SMTP_PORT
from hub.keys import SETTINGS
from hub.models import Message, TimelineEvent
from hub.settings import Settings
from tests.channels.email_side import (
    JANE,
    MAX_SIZE,
    SUPPORT,
    CapturingRelay,
    accept_next_offer,
    capturing_relay,
    conversation_of,
    email_hub,
    is_queued,
    logged_in_agent,
    mail,
    send,
    send_raw,
    stored,
)
from tests.conftest import start_hub
from tests.support import AgentClient, Hub


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as relay:
        yield relay


@pytest.fixture
async def hub(settings_for: Settings, relay: CapturingRelay) -> AsyncIterator[Hub]:
    async with email_hub(settings_for, relay) as running:
        yield running


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    async with logged_in_agent(hub, "alice") as agent:
        yield agent


async def test_a_customer_email_reaches_an_agent_whose_reply_threads_both_ways(
    hub: Hub, alice: AgentClient, relay: CapturingRelay
) -> None:
    first = mail("Card declined", "Hello, my card was declined.")
    assert "Stored" in await send(hub, first)

    conversation_id = await accept_next_offer(alice)
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["customer"]["name"] == "Jane Doe"
    assert [m["text"] for m in conversation["messages"]] == ["Hello, my card was declined."]

    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Let me check that for you."}
    )
    assert status == 200 and sent["delivery_status"] == "sent"
    envelope, reply = await relay.next()
    assert envelope.rcpt_tos == [JANE]
    assert reply["From"].addresses[0].addr_spec == SUPPORT
    assert reply["Subject"] == f"Re: Card declined [#{conversation_id}]"
    assert reply["Reply-To"].addresses[0].addr_spec.startswith(f"support+{conversation_id}.")
    assert reply["In-Reply-To"] == first["Message-ID"]
    assert reply["References"] == first["Message-ID"]
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply["Message-ID"].endswith("@acme.test>")
    assert reply.get_content().strip() == "Let me check that for you."
    outgoing = (await stored(hub))[-1]
    assert outgoing.provider_id == reply["Message-ID"]

    answer = mail(
        "Re: Card declined",
        "Thanks, it is the card ending 4242.",
        In_Reply_To=reply["Message-ID"],
        References=f"{first['Message-ID']} {reply['Message-ID']}",
    )
    await send(hub, answer)
    messages = await stored(hub)
    assert [m.conversation_id for m in messages] == [conversation_id] * 3
    assert not await is_queued(hub, conversation_id)

    await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Found it."})
    _envelope, second_reply = await relay.next()
    assert second_reply["In-Reply-To"] == answer["Message-ID"]
    assert second_reply["References"].split() == [
        first["Message-ID"],
        reply["Message-ID"],
        answer["Message-ID"],
    ]
    assert second_reply["Subject"] == f"Re: Card declined [#{conversation_id}]"


async def test_a_new_subject_from_the_same_customer_starts_a_new_conversation(hub: Hub) -> None:
    await send(hub, mail("Card declined", "My card was declined."))
    await send(hub, mail("Change of address", "I moved house."))
    first, second = await stored(hub)
    assert first.conversation_id != second.conversation_id
    assert await is_queued(hub, first.conversation_id)
    assert await is_queued(hub, second.conversation_id)


async def test_a_reply_from_someone_else_does_not_join_the_thread(hub: Hub) -> None:
    original = mail("Card declined", "My card was declined.")
    await send(hub, original)
    intruder = mail(
        "Re: Card declined",
        "Me too!",
        sender="Mallory <mallory@elsewhere.test>",
        In_Reply_To=original["Message-ID"],
    )
    await send(hub, intruder)
    first, second = await stored(hub)
    assert first.conversation_id != second.conversation_id


async def test_multipart_alternative_is_read_from_its_plain_text(hub: Hub) -> None:
    message = mail("Invoice", "The invoice total is wrong.")
    message.add_alternative("<p>The <b>HTML</b> version</p>", subtype="html")
    await send(hub, message)
    (stored_message,) = await stored(hub)
    assert stored_message.text == "The invoice total is wrong."


async def test_html_only_mail_is_converted_to_readable_text(hub: Hub) -> None:
    message = mail("Invoice", "")
    message.set_content(
        "<html><head><style>p {color: red}</style></head><body>"
        "<p>Hello,</p><p>the total is &pound;40 &amp; wrong.</p>"
        "<script>alert(1)</script><div>Jane</div></body></html>",
        subtype="html",
    )
    await send(hub, message)
    (stored_message,) = await stored(hub)
    assert stored_message.text == "Hello,\n\nthe total is £40 & wrong.\n\nJane"


async def test_encoded_headers_and_a_latin1_body_are_decoded(hub: Hub) -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <Juergen@Customer.TEST>\r\n"
        b"To: support@acme.test\r\n"
        b"Subject: =?utf-8?b?w4RyZ2VyIG1pdCBkZXIgUmVjaG51bmc=?=\r\n"
        b"Message-ID: <latin1@customer.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Gr\xfc\xdfe, die Rechnung ist zu hoch.\r\n"
    )
    refused = await asyncio.to_thread(send_raw, hub, raw, "juergen@customer.test")
    assert refused == {}
    (stored_message,) = await stored(hub)
    assert stored_message.sender == "juergen@customer.test"
    assert stored_message.subject == "Ärger mit der Rechnung"
    assert stored_message.text == "Grüße, die Rechnung ist zu hoch."
    assert (await conversation_of(hub, stored_message)).subject == "Ärger mit der Rechnung"


async def test_attachments_are_kept_by_reference_with_their_metadata(hub: Hub) -> None:
    message = mail("Receipt", "The receipt is attached.")
    pdf = b"%PDF-1.4 not really a pdf" * 100
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename="Quittung Nr. 7.pdf"
    )
    await send(hub, message)
    (stored_message,) = await stored(hub)
    assert stored_message.text == "The receipt is attached."
    (attachment,) = stored_message.attachments
    assert attachment["name"] == "Quittung Nr. 7.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert attachment["size"] == len(pdf)
    digest = attachment["ref"].removeprefix("sha256:")
    folder = Path(hub.app[SETTINGS].attachments_dir)
    assert (folder / digest[:2] / digest).read_bytes() == pdf


async def test_the_same_message_id_is_stored_once(hub: Hub) -> None:
    message = mail("Card declined", "My card was declined.")
    await send(hub, message)
    await send(hub, message)
    assert len(await stored(hub)) == 1


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ({"Auto-Submitted": "auto-replied"}, None),
        ({"Precedence": "bulk"}, None),
        ({"List-Id": "<news.customer.test>"}, None),
        ({"X-Autoreply": "yes"}, None),
        ({}, ""),
    ],
    ids=["auto-submitted", "precedence", "list-id", "x-autoreply", "null-sender"],
)
async def test_auto_replies_are_recorded_but_never_queued(
    hub: Hub, headers: dict[str, str], sender: str | None
) -> None:
    message = mail("Out of office", "I am away until Monday.")
    for name, value in headers.items():
        message[name] = value
    assert "Stored" in await send(hub, message, sender=sender)
    await assert_recorded_not_queued(hub)


async def test_a_bounce_from_mailer_daemon_is_recorded_but_never_queued(hub: Hub) -> None:
    bounce = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>\r\n"
        b"To: support@acme.test\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce-1@mx.customer.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        b"\r\n"
        b"--b\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"Your message could not be delivered.\r\n"
        b"--b\r\n"
        b"Content-Type: message/delivery-status\r\n"
        b"\r\n"
        b"Reporting-MTA: dns; mx.customer.test\r\n"
        b"\r\n"
        b"Final-Recipient: rfc822; nobody@customer.test\r\n"
        b"Status: 5.1.1\r\n"
        b"--b--\r\n"
    )
    assert await asyncio.to_thread(send_raw, hub, bounce, "") == {}
    message = await assert_recorded_not_queued(hub)
    assert message.sender == "mailer-daemon@mx.customer.test"
    assert message.text == "Your message could not be delivered."


async def assert_recorded_not_queued(hub: Hub) -> Message:
    (message,) = await stored(hub)
    conversation = await conversation_of(hub, message)
    assert conversation.status == "closed" and conversation.disposition == "automatic"
    assert not await is_queued(hub, conversation.id)
    async with hub.sessions() as session:
        kinds = set(
            await session.scalars(
                select(TimelineEvent.kind).where(
                    TimelineEvent.customer_id == conversation.customer_id
                )
            )
        )
    assert "contact.received" in kinds and "conversation.queued" not in kinds
    return message


async def test_malformed_mime_is_stored_with_what_could_be_read(hub: Hub) -> None:
    raw = (
        b"From: jane@customer.test\r\n"
        b"To: support@acme.test\r\n"
        b"Subject: broken\r\n"
        b"Message-ID: <broken@customer.test>\r\n"
        b"Content-Type: multipart/mixed; boundary=XYZ\r\n"
        b"\r\n"
        b"--XYZ\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n"
        b"\r\n"
        b"The readable part.\r\n"
        b"--XYZ\r\n"
        b"Content-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"!!!not base64\r\n"
    )
    refused = await asyncio.to_thread(send_raw, hub, raw)
    assert refused == {}
    (message,) = await stored(hub)
    assert message.text == "The readable part."
    assert [a["name"] for a in message.attachments] == ["a.pdf"]


async def test_mail_with_nobody_to_answer_is_refused_with_the_reason(hub: Hub) -> None:
    raw = b"Subject: who am I\r\n\r\nno From header and a null envelope sender\r\n"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(send_raw, hub, raw, "")
    assert refused.value.smtp_code == 550
    assert b"no From address" in refused.value.smtp_error
    assert await stored(hub) == []


async def test_oversized_mail_is_refused_with_552(hub: Hub) -> None:
    message = mail("Huge", "x" * (MAX_SIZE * 2))
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await send(hub, message)
    assert refused.value.code == 552
    assert await stored(hub) == []


async def test_mail_for_a_stranger_domain_is_refused_at_rcpt(hub: Hub) -> None:
    message = mail("Hello", "Is this the right address?")
    message.replace_header("To", "someone@elsewhere.test")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(hub, message)
    assert refused.value.recipients[0].code == 550
    assert await stored(hub) == []


async def test_an_answer_to_a_closed_conversation_starts_a_new_one_in_the_queue(
    hub: Hub, alice: AgentClient, relay: CapturingRelay
) -> None:
    first = mail("Card declined", "My card was declined.")
    await send(hub, first)
    conversation_id = await accept_next_offer(alice)
    await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Fixed it."})
    _envelope, reply = await relay.next()
    status, _ = await alice.post(f"/api/conversations/{conversation_id}/close")
    assert status == 200

    answer = mail("Re: Card declined", "It is broken again.", In_Reply_To=reply["Message-ID"])
    await send(hub, answer)
    latest = (await stored(hub))[-1]
    assert latest.conversation_id != conversation_id
    assert (await conversation_of(hub, latest)).thread_key == reply["Message-ID"]


async def test_a_reply_the_relay_cannot_take_is_marked_failed(settings_for: Settings) -> None:
    unreachable = socket.socket()
    unreachable.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
    settings = dataclasses.replace(
        settings_for,
        smtp_relay_host="127.0.0.1",
        smtp_relay_port=unreachable.getsockname()[1],
    )
    try:
        async with start_hub(settings, clean=True) as hub:
            await hub.add_agent("alice", status="available")
            alice = await hub.login("alice")
            await send(hub, mail("Card declined", "My card was declined."))
            conversation_id = await accept_next_offer(alice)
            status, sent = await alice.post(
                f"/api/conversations/{conversation_id}/reply", {"text": "Checking."}
            )
            await alice.close()
            assert status == 200 and sent["delivery_status"] == "failed"
            reply = (await stored(hub))[-1]
            assert reply.delivery_status == "failed"
            assert reply.delivery_detail is not None
            assert reply.delivery_detail.startswith("relay 127.0.0.1: Error connecting")
    finally:
        unreachable.close()


async def test_the_agent_sees_why_the_relay_refused_a_reply(
    hub: Hub, alice: AgentClient, relay: CapturingRelay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.conversations")
    relay.refused.add(JANE)
    await send(hub, mail("Card declined", "My card was declined."))
    conversation_id = await accept_next_offer(alice)
    status, sent = await alice.post(
        f"/api/conversations/{conversation_id}/reply", {"text": "Checking."}
    )
    assert status == 200 and sent["delivery_status"] == "failed"
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    reply = conversation["messages"][-1]
    assert reply["delivery_status"] == "failed"
    why = f"relay 127.0.0.1: {JANE} refused: 550 5.1.1 no such user here"
    assert reply["delivery_detail"] == why
    assert [r.getMessage() for r in caplog.records] == [
        f"reply {reply['id']} on email not delivered: {why}"
    ]

    relay.refused.clear()
    await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Again."})
    conversation = await alice.get(f"/api/conversations/{conversation_id}")
    assert conversation["messages"][-1]["delivery_detail"] == "relay 127.0.0.1 answered: OK"
    # The timeline says which reply went and which did not, and why.
    timeline = await alice.get(f"/api/customers/{conversation['customer']['id']}/timeline")
    replies = [(e["kind"], e["summary"], e["data"].get("reason")) for e in timeline]
    replies = [r for r in replies if r[0].startswith("reply.")]
    assert sorted(replies) == [("reply.failed", "Checking.", why), ("reply.sent", "Again.", None)]


async def test_an_internationalized_address_arrives_with_smtputf8(hub: Hub) -> None:
    raw = (
        "From: Jürgen <jürgen@customer.test>\r\n"
        "To: support@acme.test\r\n"
        "Subject: Grüße\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Hallo aus München.\r\n"
    ).encode()

    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", hub.app[SMTP_PORT], timeout=10) as client:
            client.sendmail("jürgen@customer.test", [SUPPORT], raw, mail_options=["SMTPUTF8"])

    await asyncio.to_thread(deliver)
    (message,) = await stored(hub)
    assert (message.sender, message.subject, message.text) == (
        "jürgen@customer.test",
        "Grüße",
        "Hallo aus München.",
    )


async def test_an_overlong_subject_and_name_are_shortened_not_refused(hub: Hub) -> None:
    message = mail("Help " * 100, "Long subject.", sender=f"{'Jane ' * 60}<{JANE}>")
    assert "Stored" in await send(hub, message)
    (stored_message,) = await stored(hub)
    assert stored_message.subject == ("Help " * 100)[:300]
    assert (await conversation_of(hub, stored_message)).subject == stored_message.subject
