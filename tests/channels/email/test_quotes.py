"""Agents read what the customer wrote now, not the thread their mail program quoted under
it; the whole message stays on record."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.settings import Settings
from tests.channels.email_side import (
    CapturingRelay,
    accept_next_offer,
    capturing_relay,
    email_hub,
    logged_in_agent,
    mail,
    send,
    stored,
)
from tests.support import Hub

ENGLISH = """Thanks, that worked.

Jane

On Mon, 23 Nov 2026 at 10:00, Alice <support@acme.test> wrote:
> Please try the payment again.
>
> Alice
"""
ENGLISH_WRAPPED = """Thanks, that worked.

On Mon, 23 Nov 2026 at 10:00, Alice from Acme Support
<support@acme.test> wrote:
> Please try the payment again.
"""
GERMAN = """Danke, das hat geklappt.

Am Mo., 23. Nov. 2026 um 10:00 Uhr schrieb Alice <support@acme.test>:
> Bitte versuchen Sie die Zahlung noch einmal.
"""
GERMAN_SHORT = """Danke, das hat geklappt.

Am 23.11.2026 um 10:00 schrieb Alice:
> Bitte noch einmal versuchen.
"""
ANGLE_QUOTED = """Yes, a refund please.

> Do you want a refund or a replacement?
> > My card was declined.
"""
OUTLOOK_ORIGINAL = """It is the card ending 4242.

-----Original Message-----
From: Alice <support@acme.test>
Sent: Monday, November 23, 2026 10:00 AM
To: Jane Doe <jane@customer.test>
Subject: RE: Card declined

Which card is it?
"""
OUTLOOK_FROM_BLOCK = """It is the card ending 4242.

________________________________
From: Alice <support@acme.test>
Sent: Monday, November 23, 2026 10:00 AM
To: Jane Doe <jane@customer.test>
Subject: Re: Card declined [#1]

Which card is it?
"""
OUTLOOK_GERMAN = """Die Karte endet auf 4242.

Von: Alice <support@acme.test>
Gesendet: Montag, 23. November 2026 10:00
An: Jane Doe <jane@customer.test>
Betreff: AW: Karte abgelehnt

Welche Karte ist es?
"""


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as relay:
        yield relay


@pytest.fixture
async def hub(settings_for: Settings, relay: CapturingRelay) -> AsyncIterator[Hub]:
    async with email_hub(settings_for, relay) as running:
        yield running


@pytest.mark.parametrize(
    ("body", "new"),
    [
        (ENGLISH, "Thanks, that worked.\n\nJane"),
        (ENGLISH_WRAPPED, "Thanks, that worked."),
        (GERMAN, "Danke, das hat geklappt."),
        (GERMAN_SHORT, "Danke, das hat geklappt."),
        (ANGLE_QUOTED, "Yes, a refund please."),
        (OUTLOOK_ORIGINAL, "It is the card ending 4242."),
        (OUTLOOK_FROM_BLOCK, "It is the card ending 4242."),
        (OUTLOOK_GERMAN, "Die Karte endet auf 4242."),
    ],
    ids=[
        "on-wrote",
        "on-wrote-wrapped",
        "am-schrieb",
        "am-schrieb-short",
        "angle-quoted",
        "outlook-original-message",
        "outlook-from-block",
        "outlook-von-block",
    ],
)
async def test_the_quoted_thread_is_cut_and_kept(hub: Hub, body: str, new: str) -> None:
    await send(hub, mail("Re: Card declined", body))
    (message,) = await stored(hub)
    assert message.text == new
    assert message.full_text == body.strip()


@pytest.mark.parametrize(
    "body",
    [
        "On Mon, 23 Nov 2026 at 10:00, Alice <support@acme.test> wrote:\n> Please try again.",
        "> Please try again.\n> Alice",
        "-----Original Message-----\nFrom: Alice <support@acme.test>\nSent: Monday\n\nHello",
    ],
    ids=["only-header-and-quote", "only-angle-quote", "only-outlook-block"],
)
async def test_a_message_that_is_all_quote_keeps_its_text(hub: Hub, body: str) -> None:
    await send(hub, mail("Re: Card declined", body))
    (message,) = await stored(hub)
    assert message.text == body
    assert message.full_text is None


async def test_an_inline_answer_keeps_the_questions_it_answers(hub: Hub) -> None:
    body = "> Which card?\nThe one ending 4242.\n> Since when?\nSince Monday."
    await send(hub, mail("Re: Card declined", body))
    (message,) = await stored(hub)
    assert message.text == body
    assert message.full_text is None


async def test_a_forward_keeps_what_was_forwarded(hub: Hub) -> None:
    body = (
        "See below.\n\n-----Original Message-----\nFrom: My Bank <bank@bank.test>\n"
        "Sent: Monday\nTo: Jane\n\nYour card is blocked."
    )
    await send(hub, mail("Fwd: Your card", body))
    (message,) = await stored(hub)
    assert message.text == body
    assert message.full_text is None


async def test_an_html_only_reply_is_cut_at_its_quote_header_too(hub: Hub) -> None:
    message = mail("Re: Card declined", "")
    message.set_content(
        '<div dir="ltr">Thanks, that worked!<div><br></div><div>Jane</div></div><br>'
        '<div class="gmail_quote"><div class="gmail_attr">On Mon, 23 Nov 2026 at 10:00, '
        "Alice &lt;support@acme.test&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote">Please try again.<br>Alice</blockquote></div>',
        subtype="html",
    )
    await send(hub, message)
    (stored_message,) = await stored(hub)
    assert stored_message.text == "Thanks, that worked!\n\nJane"
    assert stored_message.full_text is not None
    assert stored_message.full_text.endswith("Please try again.\nAlice")


async def test_the_agent_reads_the_new_part_and_can_open_the_whole(hub: Hub) -> None:
    await send(hub, mail("Re: Card declined", GERMAN))
    async with logged_in_agent(hub, "alice") as alice:
        conversation_id = await accept_next_offer(alice)
        conversation = await alice.get(f"/api/conversations/{conversation_id}")
    (message,) = conversation["messages"]
    assert message["text"] == "Danke, das hat geklappt."
    assert message["full_text"] == GERMAN.strip()
