"""The phone menu an admin writes, heard through Twilio's signed webhooks: nested steps,
spoken choices, wrong keys, and business hours sending callers to voicemail."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from hub.models import BusinessHours, Conversation, Inbox, Message, PhoneMenu, QueueHours
from tests.channels.twilio_side import PUBLIC_URL
from tests.channels.voice.test_voice import (
    INBOX,
    Twilio,
    call_form,
    calls_api,
    hub,
    new_call,
    store_menu,
    stored,
    voice_settings,
)
from tests.support import AgentClient, Hub

__all__ = ["calls_api", "hub", "voice_settings"]  # fixtures used here

MENU = PUBLIC_URL + "/webhooks/twilio/voice/menu"
BANK: dict[str, Any] = {
    "greeting": "Welcome to the bank.",
    "start": "main",
    "steps": {
        "main": {
            "prompt": "Press 1 for cards, 2 for mortgages, 3 for a voicemail.",
            "options": [
                {"key": "1", "words": ["card"], "to": "step", "step": "cards"},
                {"key": "2", "words": ["mortgage", "house"], "to": "queue", "queue": "mortgages"},
                {"key": "3", "words": ["voicemail"], "to": "voicemail"},
            ],
        },
        "cards": {
            "prompt": "Pour une carte perdue, tapez 1. For anything else, press 2.",
            "language": "fr-FR",
            "voice": "Polly.Celine",
            "options": [
                {
                    "key": "1",
                    "words": ["perdue", "lost"],
                    "to": "queue",
                    "queue": "lost-cards",
                    "skill": "cards",
                    "min_level": 6,
                    "language": "fr",
                },
                {"key": "2", "to": "queue", "queue": "cards"},
                {"key": "0", "words": ["back"], "to": "step", "step": "main"},
            ],
        },
    },
    "closed": {
        "prompt": "The bank is closed and opens {opening}. "
        "Press 1 for a voicemail or 2 for a callback.",
        "options": [
            {"key": "1", "to": "voicemail"},
            {"key": "2", "words": ["back"], "to": "callback"},
        ],
    },
}


def said(element: Any) -> str:
    return " ".join("".join(say.itertext()) for say in element.iter("Say"))


async def conversation_of_call(hub: Hub, sid: str) -> Conversation:
    async with hub.sessions() as session:
        found = await session.scalar(
            select(Conversation)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.external_id == sid)
        )
    assert found is not None
    return found


async def test_a_caller_goes_down_a_nested_step_in_its_language_to_a_skilled_queue(
    hub: Hub,
) -> None:
    await store_menu(hub, BANK)
    twilio, sid = Twilio(hub), new_call()

    answer = await twilio.twiml("/webhooks/twilio/voice", call_form(sid))
    assert said(answer).startswith("Welcome to the bank. Press 1 for cards")
    cards = await twilio.twiml("/webhooks/twilio/voice/menu?step=main", call_form(sid, Digits="1"))
    gather = cards.find("Gather")
    assert gather is not None and gather.get("action") == MENU + "?step=cards"
    assert gather.get("language") == "fr-FR"
    say = gather.find("Say")
    assert say is not None and (say.get("language"), say.get("voice")) == ("fr-FR", "Polly.Celine")
    assert "Welcome" not in said(cards)  # the greeting is said once, at the start

    queued = await twilio.twiml(
        "/webhooks/twilio/voice/menu?step=cards",
        call_form(sid, SpeechResult="j'ai une carte perdue"),
    )
    enqueue = queued.find("Enqueue")
    assert enqueue is not None and enqueue.text == "lost-cards"
    conversation = await conversation_of_call(hub, sid)
    assert (conversation.required_skill, conversation.min_level, conversation.language) == (
        "cards",
        6,
        "fr",
    )


async def test_a_spoken_word_chooses_at_the_first_step(hub: Hub) -> None:
    await store_menu(hub, BANK)
    sid = new_call()
    answer = await Twilio(hub).twiml(
        "/webhooks/twilio/voice/menu?step=main",
        call_form(sid, SpeechResult="We want to buy a house", Confidence="0.8"),
    )
    assert answer.find("Enqueue").text == "mortgages"  # type: ignore[union-attr]
    assert [m.text for m in await stored(hub)] == ["Phone call: mortgages"]


async def test_a_wrong_key_in_a_nested_step_asks_that_step_again(hub: Hub) -> None:
    await store_menu(hub, BANK)
    twilio, sid = Twilio(hub), new_call()
    answer = await twilio.twiml(
        "/webhooks/twilio/voice/menu?step=cards", call_form(sid, Digits="9")
    )
    assert "not one of the choices" in said(answer)
    redirect = answer.find("Redirect")
    assert redirect is not None
    assert redirect.text == PUBLIC_URL + "/webhooks/twilio/voice?step=cards"
    again = await twilio.twiml("/webhooks/twilio/voice?step=cards", call_form(sid))
    assert "carte perdue" in said(again) and "Welcome" not in said(again)
    assert await stored(hub) == []


async def a_schedule(hub: Hub, closed_days: int, **target: str) -> None:
    """Open 09:00-17:00 UTC every day, except holidays from today for `closed_days` days."""
    today = datetime.now(UTC).date()
    async with hub.sessions() as session, session.begin():
        schedule = BusinessHours(
            name=f"Hours {target}",
            timezone="UTC",
            weekly={
                d: [{"opens": "09:00", "closes": "17:00"}]
                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
            holidays=[
                {"day": (today + timedelta(days=n)).isoformat(), "name": "Closed"}
                for n in range(closed_days)
            ],
        )
        session.add(schedule)
        await session.flush()
        if "queue" in target:
            session.add(QueueHours(queue=target["queue"], schedule_id=schedule.id))
        else:
            session.add(
                Inbox(channel="voice", address=INBOX, name="Phone", schedule_id=schedule.id)
            )


async def test_out_of_hours_a_caller_hears_when_it_opens_and_leaves_a_voicemail(hub: Hub) -> None:
    await store_menu(hub, BANK)
    await a_schedule(hub, closed_days=3)
    twilio, sid = Twilio(hub), new_call()

    answer = await twilio.twiml("/webhooks/twilio/voice", call_form(sid))
    opening = datetime.now(UTC).date() + timedelta(days=3)
    assert f"opens on {opening.strftime('%A')} at 09:00" in said(answer)
    assert answer.find("Gather").get("action") == MENU + "?step=closed"  # type: ignore[union-attr]
    assert "Press 1 for cards" not in said(answer)

    voicemail = await twilio.twiml(
        "/webhooks/twilio/voice/menu?step=closed", call_form(sid, Digits="1")
    )
    record = voicemail.find("Record")
    assert (
        record is not None
        and record.get("action") == PUBLIC_URL + "/webhooks/twilio/voice/recorded"
    )
    callback = await twilio.twiml(
        "/webhooks/twilio/voice/menu?step=closed", call_form(sid, SpeechResult="call me back")
    )
    assert callback.find("Gather").get("action") == PUBLIC_URL + "/webhooks/twilio/voice/callback"  # type: ignore[union-attr]
    assert await stored(hub) == []


async def test_a_queue_closed_on_its_own_hours_sends_the_caller_to_the_closed_branch(
    hub: Hub,
) -> None:
    await store_menu(hub, BANK)
    await a_schedule(hub, closed_days=1, queue="mortgages")
    twilio = Twilio(hub)
    start = await twilio.twiml("/webhooks/twilio/voice", call_form(new_call()))
    assert "Press 1 for cards" in said(start)  # the number itself keeps no hours

    answer = await twilio.twiml(
        "/webhooks/twilio/voice/menu?step=main", call_form(new_call(), Digits="2")
    )
    assert answer.find("Enqueue") is None
    assert "The bank is closed" in said(answer)
    assert await stored(hub) == []


async def test_with_no_menu_callers_wait_in_the_general_queue(hub: Hub) -> None:
    async with hub.sessions() as session, session.begin():
        await session.execute(delete(PhoneMenu))
    answer = await Twilio(hub).twiml("/webhooks/twilio/voice", call_form(new_call()))
    assert answer.find("Enqueue").text == "general"  # type: ignore[union-attr]
    assert [m.text for m in await stored(hub)] == ["Phone call: general"]


async def put(client: AgentClient, body: Any) -> tuple[int, Any]:
    async with client.http.put("api/admin/phone-menu", json=body) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("backend", ["memory"])
async def test_an_admin_replaces_the_menu_and_the_next_call_hears_it(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("sam", role="supervisor")
    ada, sam = await hub.login("ada"), await hub.login("sam")

    dangling = copy.deepcopy(BANK)
    dangling["steps"]["main"]["options"][0]["step"] = "kards"
    status, body = await put(ada, dangling)
    assert status == 400 and "missing step" in body["error"]
    status, _ = await put(sam, BANK)
    assert status == 403
    status, body = await put(ada, BANK)
    assert status == 200 and body["menu"]["steps"]["cards"]["language"] == "fr-FR"
    assert (await sam.get("/api/admin/phone-menu"))["menu"]["greeting"] == "Welcome to the bank."

    answer = await Twilio(hub).twiml("/webhooks/twilio/voice", call_form(new_call()))
    assert said(answer).startswith("Welcome to the bank.")
    await ada.close()
    await sam.close()
