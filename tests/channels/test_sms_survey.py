"""Satisfaction by text: a closed SMS conversation asks "reply 1-5" once, and the
customer's next text, when it is a rating, is recorded instead of opening a contact.

Twilio is the local fake Messages API and webhooks signed as Twilio signs them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.keys import BUS, SETTINGS, SURVEYS
from hub.models import Conversation, Message, Survey, TimelineEvent, utcnow
from hub.settings import Settings
from tests.channels.test_sms import CUSTOMER, Webhook, accept_next_offer, sms_form
from tests.channels.test_whatsapp import CUSTOMER as WHATSAPP_CUSTOMER
from tests.channels.test_whatsapp import WhatsApp
from tests.channels.twilio_side import MessagesApi as FakeTwilio
from tests.channels.twilio_side import with_twilio
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually


@pytest.fixture
async def hub(settings_for: Settings, twilio: tuple[FakeTwilio, str]) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(
        with_twilio(settings_for, twilio[1]), smtp_port=0, survey_channels="sms,whatsapp,email,chat"
    )
    async with start_hub(settings, clean=True) as running:
        yield running


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    await hub.add_agent("alice", skills={"support": 5}, status="available")
    agent = await hub.login("alice")
    yield agent
    await agent.close()


async def questions(fake: FakeTwilio) -> list[str]:
    return [r["form"]["Body"][0] for r in fake.requests if "1 (poor)" in r["form"]["Body"][0]]


async def closed_conversation(hub: Hub, alice: AgentClient, text: str = "Parcel late") -> int:
    await Webhook(hub).text(text)
    conversation_id = await accept_next_offer(alice)
    status, _ = await alice.post(f"/api/conversations/{conversation_id}/close")
    assert status == 200
    return conversation_id


async def surveys(hub: Hub) -> list[Survey]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Survey).order_by(Survey.id)))


async def conversations(hub: Hub) -> list[Conversation]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Conversation).order_by(Conversation.id)))


async def timeline(hub: Hub, kind: str) -> list[TimelineEvent]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(TimelineEvent).where(TimelineEvent.kind == kind)))


async def test_a_closed_text_conversation_asks_once_and_a_digit_reply_is_the_rating(
    hub: Hub, alice: AgentClient, twilio: tuple[FakeTwilio, str]
) -> None:
    fake = twilio[0]
    events = await hub.app[BUS].subscribe()
    conversation_id = await closed_conversation(hub, alice)

    await eventually(lambda: questions(fake))
    [asked] = fake.requests
    assert asked["form"]["To"] == [CUSTOMER]
    # Hearing the close again, on this or another hub process, asks nobody twice.
    again = await asyncio.gather(*(hub.app[SURVEYS].ask(conversation_id) for _ in range(3)))
    assert again == [None, None, None]
    assert len(await questions(fake)) == 1

    answer = sms_form("4 - quick, but I had to ask twice")
    for _retry in range(2):  # Twilio retries when it did not hear back in time
        status, content_type, body = await Webhook(hub).post("/webhooks/twilio/sms", answer)
        assert (status, content_type) == (200, "application/xml"), body

    [survey] = await surveys(hub)
    assert (survey.rating, survey.comment) == (4, "quick, but I had to ask twice")
    assert survey.answer_id == answer["MessageSid"]
    assert len(await conversations(hub)) == 1  # the rating opened no contact
    [answered] = await timeline(hub, "survey.answered")
    assert answered.conversation_id == conversation_id
    assert answered.data["rating"] == 4
    received = await _next(events, "csat.received")
    assert received["rating"] == 4 and received["channel"] == "sms"
    assert received["conversation_id"] == conversation_id
    assert received["agent_id"] is not None
    await events.close()

    # A second rating is not waited for: it is the customer writing again.
    await Webhook(hub).text("5")
    assert len(await eventually(lambda: _at_least(conversations(hub), 2))) == 2


async def test_anything_but_a_rating_is_a_contact_as_today_and_the_question_lapses(
    hub: Hub, alice: AgentClient, twilio: tuple[FakeTwilio, str]
) -> None:
    await closed_conversation(hub, alice)
    await eventually(lambda: questions(twilio[0]))

    await Webhook(hub).text("Still no parcel, where is it?!")
    await Webhook(hub).text("3")  # no longer the next answer: they wrote in between

    first, second = await conversations(hub)
    assert second.status in ("queued", "offered")  # a contact like any other
    async with hub.sessions() as session:
        texts = await session.scalars(
            select(Message.text).where(Message.conversation_id == second.id).order_by(Message.id)
        )
        assert list(texts) == ["Still no parcel, where is it?!", "3"]
    assert first.status == "closed"
    [survey] = await surveys(hub)
    assert survey.rating is None
    assert not await timeline(hub, "survey.answered")


async def test_whatsapp_asks_the_same_way_from_the_whatsapp_sender(
    hub: Hub, alice: AgentClient, twilio: tuple[FakeTwilio, str]
) -> None:
    await WhatsApp(hub).message("Can I pay my bill in two parts?")
    conversation_id = await accept_next_offer(alice)
    status, _ = await alice.post(f"/api/conversations/{conversation_id}/close")
    assert status == 200

    [asked] = await eventually(lambda: _requests_to(twilio[0], f"whatsapp:{WHATSAPP_CUSTOMER}"))
    assert "1 (poor) to 5 (great)" in asked["form"]["Body"][0]
    assert asked["form"]["From"][0].startswith("whatsapp:+")
    assert await WhatsApp(hub).message("2 the first agent did not know") == (
        200,
        "application/xml",
        _empty_twiml(),
    )
    [survey] = await surveys(hub)
    assert (survey.channel, survey.rating) == ("whatsapp", 2)
    assert len(await conversations(hub)) == 1


async def _requests_to(fake: FakeTwilio, to: str) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["form"]["To"] == [to]]


async def test_two_hub_processes_asking_at_once_send_one_question(
    hub: Hub, alice: AgentClient, twilio: tuple[FakeTwilio, str]
) -> None:
    await Webhook(hub).text("Is the branch open on Sunday?")
    conversation_id = await accept_next_offer(alice)
    # Closed without the close event, so that nothing has asked yet: the two processes race.
    async with hub.sessions() as session, session.begin():
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(status="closed", closed_at=utcnow())
        )
    async with start_hub(hub.app[SETTINGS]) as other:
        asked = await asyncio.gather(
            hub.app[SURVEYS].ask(conversation_id), other.app[SURVEYS].ask(conversation_id)
        )
    assert asked.count(None) == 1
    assert [a for a in asked if a is not None] == [s.id for s in await surveys(hub)]
    assert len(await questions(twilio[0])) == 1


async def test_a_number_that_sent_stop_is_never_asked(
    hub: Hub, alice: AgentClient, twilio: tuple[FakeTwilio, str]
) -> None:
    await Webhook(hub).text("My card is blocked")
    conversation_id = await accept_next_offer(alice)
    await Webhook(hub).text("STOP")
    status, _ = await alice.post(f"/api/conversations/{conversation_id}/close")
    assert status == 200

    assert await hub.app[SURVEYS].ask(conversation_id) is None
    assert not await surveys(hub)
    assert twilio[0].requests == []
    assert await Webhook(hub).text("5") == (200, "application/xml", _empty_twiml())
    assert len(await conversations(hub)) == 2  # with no question pending, a 5 is a contact


async def test_a_channel_with_surveys_off_asks_nothing(
    settings_for: Settings, twilio: tuple[FakeTwilio, str]
) -> None:
    settings = dataclasses.replace(
        with_twilio(settings_for, twilio[1]), smtp_port=0, survey_channels="email"
    )
    async with start_hub(settings, clean=True) as off:
        await off.add_agent("bob", skills={"support": 5}, status="available")
        bob = await off.login("bob")
        try:
            conversation_id = await closed_conversation(off, bob)
            assert await off.app[SURVEYS].ask(conversation_id) is None
        finally:
            await bob.close()
    assert twilio[0].requests == []


def _empty_twiml() -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def _at_least(pending: Any, n: int) -> Any:
    found = await pending
    return found if len(found) >= n else None


async def _next(events: Any, kind: str) -> dict[str, Any]:
    while True:
        event = await asyncio.wait_for(events.get(), 10)
        if event["type"] == kind:
            return dict(event)
