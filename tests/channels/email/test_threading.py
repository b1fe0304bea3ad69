"""Which conversation an email answer lands in, when mail programs and people do what they
do: rewrite headers, reply-all, forward, write from another address, or forge a token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from channels.email._reply_token import ReplyAddresses
from hub.keys import SETTINGS
from hub.models import Conversation, CustomerAddress, Inbox, TimelineEvent
from hub.settings import Settings
from tests.channels.email_side import (
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
    stored,
)
from tests.support import AgentClient, Hub

JANE_AT_WORK = "jane.doe@work.test"


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


def reply_address(hub: Hub, conversation_id: int) -> str:
    return ReplyAddresses(hub.app[SETTINGS].secret_key).address(SUPPORT, conversation_id)


def addressed_to(message: EmailMessage, address: str) -> EmailMessage:
    message.replace_header("To", address)
    return message


async def first_mail(hub: Hub) -> tuple[EmailMessage, int]:
    """Jane writes in; the message and the conversation it opened."""
    first = mail("Card declined", "My card was declined.")
    await send(hub, first)
    (message,) = await stored(hub)
    return first, message.conversation_id


async def test_an_answer_to_the_reply_address_threads_even_without_any_headers(
    hub: Hub, alice: AgentClient, relay: CapturingRelay
) -> None:
    await send(hub, mail("Card declined", "My card was declined."))
    conversation_id = await accept_next_offer(alice)
    await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Which card?"})
    _envelope, reply = await relay.next()
    reply_to = reply["Reply-To"].addresses[0].addr_spec

    # A mail program that starts a fresh message to the Reply-To, new subject and all.
    answer = addressed_to(mail("card", "The one ending 4242."), reply_to)
    assert "Stored" in await send(hub, answer)
    latest = (await stored(hub))[-1]
    assert latest.conversation_id == conversation_id
    assert not await is_queued(hub, conversation_id)
    async with hub.sessions() as session:
        inboxes = list(await session.scalars(select(Inbox.address)))
    assert inboxes == [SUPPORT]  # the reply address is the inbox, not a new one


async def test_a_changed_in_reply_to_still_threads_by_references_or_token(hub: Hub) -> None:
    first, conversation_id = await first_mail(hub)
    by_references = mail(
        "Re: Card declined",
        "Any news?",
        In_Reply_To="<rewritten-by-a-gateway@customer.test>",
        References=first["Message-ID"],
    )
    await send(hub, by_references)
    by_token = addressed_to(
        mail(
            "Re: Card declined",
            "Hello?",
            In_Reply_To="<rewritten-again@customer.test>",
        ),
        reply_address(hub, conversation_id),
    )
    await send(hub, by_token)
    assert [m.conversation_id for m in await stored(hub)] == [conversation_id] * 3


async def test_a_subject_tag_threads_when_nothing_else_does(hub: Hub) -> None:
    _first, conversation_id = await first_mail(hub)
    tagged = mail(f"Re: Card declined [#{conversation_id}]", "Still declined.")
    await send(hub, tagged)
    assert [m.conversation_id for m in await stored(hub)] == [conversation_id] * 2


def altered_signature(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:-1]}{'b' if local.endswith('a') else 'a'}@{domain}"


async def test_the_reply_address_wins_over_references_and_references_over_the_tag(
    hub: Hub,
) -> None:
    card = mail("Card declined", "My card was declined.")
    address = mail("Change of address", "I moved house.")
    await send(hub, card)
    await send(hub, address)
    card_id, address_id = [m.conversation_id for m in await stored(hub)]
    assert card_id != address_id

    # Written to the card conversation's reply address, but quoting the address thread.
    crossed = addressed_to(
        mail("Re: both", "About the card.", References=address["Message-ID"]),
        reply_address(hub, card_id),
    )
    await send(hub, crossed)
    # Quoting the address thread, with the card conversation's tag in the subject.
    tagged = mail(f"Re: [#{card_id}]", "About my address.", References=address["Message-ID"])
    await send(hub, tagged)
    *_, by_token, by_references = await stored(hub)
    assert by_token.conversation_id == card_id
    assert by_references.conversation_id == address_id


@pytest.mark.parametrize(
    "tamper",
    [
        lambda address: address.replace("+", "+9", 1),  # another conversation, same signature
        altered_signature,
        lambda address: address.split(".")[0] + ".aaaaaaaaaaaaaaaa@acme.test",
        lambda address: "support+1@acme.test",
        lambda address: "support+x.y.z@acme.test",
    ],
    ids=["other-id", "altered-signature", "invented-signature", "no-signature", "garbage"],
)
async def test_a_forged_or_tampered_reply_address_is_ignored(
    hub: Hub, tamper: Callable[[str], str]
) -> None:
    _first, conversation_id = await first_mail(hub)
    forged = tamper(reply_address(hub, conversation_id))
    # From Jane herself, so only the token could have threaded it: it must not.
    assert "Stored" in await send(hub, addressed_to(mail("New question", "Hi"), forged))
    first, second = await stored(hub)
    assert second.conversation_id != first.conversation_id
    assert await is_queued(hub, second.conversation_id)
    async with hub.sessions() as session:
        assert list(await session.scalars(select(Inbox.address))) == [SUPPORT]


async def test_a_valid_token_for_someone_elses_conversation_does_not_hijack_it(hub: Hub) -> None:
    """A colleague CC'd on the thread answers with reply-all: token, References, tag."""
    first, conversation_id = await first_mail(hub)
    cc_reply = addressed_to(
        mail(
            f"Re: Card declined [#{conversation_id}]",
            "I am her manager; please hurry.",
            sender="Bob Boss <bob@customer.test>",
            In_Reply_To=first["Message-ID"],
            References=first["Message-ID"],
        ),
        reply_address(hub, conversation_id),
    )
    await send(hub, cc_reply)
    janes, bobs = await stored(hub)
    assert bobs.sender == "bob@customer.test"
    assert bobs.conversation_id != conversation_id
    janes_conversation = await conversation_of(hub, janes)
    bobs_conversation = await conversation_of(hub, bobs)
    assert bobs_conversation.customer_id != janes_conversation.customer_id
    assert bobs_conversation.subject == f"Re: Card declined [#{conversation_id}]"
    assert await is_queued(hub, bobs.conversation_id)
    # Jane's record says someone else answered in her thread, and where that went.
    async with hub.sessions() as session:
        note = await session.scalar(
            select(TimelineEvent).where(TimelineEvent.kind == "thread.answered_by_other")
        )
    assert note is not None
    assert note.customer_id == janes_conversation.customer_id
    assert note.conversation_id == conversation_id
    assert note.data["other_conversation_id"] == bobs.conversation_id
    assert "bob@customer.test" in note.summary

    # Bob's next answer in the same thread stays with Bob; Jane's stays with Jane.
    await send(
        hub,
        mail(
            "Re: Card declined", "Well?", sender="bob@customer.test", References=first["Message-ID"]
        ),
    )
    await send(hub, mail("Re: Card declined", "Me again.", References=first["Message-ID"]))
    *_, bobs_second, janes_second = await stored(hub)
    assert bobs_second.conversation_id == bobs.conversation_id
    assert janes_second.conversation_id == conversation_id


async def test_a_forwarded_mail_starts_a_new_conversation(
    hub: Hub, alice: AgentClient, relay: CapturingRelay
) -> None:
    await send(hub, mail("Card declined", "My card was declined."))
    conversation_id = await accept_next_offer(alice)
    await alice.post(f"/api/conversations/{conversation_id}/reply", {"text": "Fixed."})
    _envelope, reply = await relay.next()
    # Jane forwards the bank's letter, her client carrying along the thread it came from.
    forward = mail(
        f"Fwd: {reply['Subject']}",
        "---------- Forwarded message ---------\nFrom: My Bank\nYour card is blocked.",
        In_Reply_To=reply["Message-ID"],
        References=reply["Message-ID"],
    )
    await send(hub, forward)
    latest = (await stored(hub))[-1]
    assert latest.conversation_id != conversation_id
    assert await is_queued(hub, latest.conversation_id)


async def test_a_second_address_of_the_same_customer_threads_once_it_is_on_record(
    hub: Hub,
) -> None:
    first, conversation_id = await first_mail(hub)
    from_work = mail(
        "Re: Card declined",
        "Writing from work.",
        sender=f"Jane Doe <{JANE_AT_WORK}>",
        References=first["Message-ID"],
    )
    await send(hub, from_work)
    assert (await stored(hub))[-1].conversation_id != conversation_id  # a stranger, so far

    janes = await conversation_of(hub, (await stored(hub))[0])
    async with hub.sessions() as session, session.begin():
        # The work address moves to Jane's record (as an agent's merge would do).
        address = await session.scalar(
            select(CustomerAddress).where(CustomerAddress.address == JANE_AT_WORK)
        )
        assert address is not None
        address.customer_id = janes.customer_id
    again = mail(
        "Re: Card declined",
        "Writing from work again.",
        sender=f"Jane Doe <{JANE_AT_WORK}>",
        References=first["Message-ID"],
    )
    await send(hub, again)
    by_token = addressed_to(
        mail("Card", "And once more.", sender=JANE_AT_WORK), reply_address(hub, conversation_id)
    )
    await send(hub, by_token)
    *_, second, third = await stored(hub)
    assert second.conversation_id == conversation_id
    assert third.conversation_id == conversation_id


async def test_a_closed_conversation_is_not_reopened_by_its_token(hub: Hub) -> None:
    _first, conversation_id = await first_mail(hub)
    async with hub.sessions() as session, session.begin():
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.status = "closed"
    answer = addressed_to(mail("Re: Card declined", "Again?"), reply_address(hub, conversation_id))
    await send(hub, answer)
    latest = (await stored(hub))[-1]
    assert latest.conversation_id != conversation_id
    assert await is_queued(hub, latest.conversation_id)


def test_reply_addresses_verify_only_under_their_own_key() -> None:
    ours, theirs = ReplyAddresses("one key"), ReplyAddresses("another key")
    address = ours.address("Support@Acme.test", 42)
    assert address.startswith("support+42.") and address.endswith("@acme.test")
    assert ours.conversation(address) == 42
    assert ours.conversation(address.upper()) == 42  # servers may change the case
    assert theirs.conversation(address) is None
    assert ours.conversation("support@acme.test") is None
