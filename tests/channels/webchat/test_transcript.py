"""A visitor asks for a copy of the chat by email: it leaves through the real SMTP relay,
holds the chat's messages and never the private notes, and lands on the timeline."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from channels.webchat._emailed import PER_HOUR
from hub.models import TimelineEvent
from hub.settings import Settings
from tests.channels.email_side import SUPPORT, capturing_relay, email_hub, logged_in_agent
from tests.channels.webchat.test_webchat import accept_next_offer, chat, chat_settings
from tests.support import ChatCustomer, Hub, eventually


async def ask_copy(customer: ChatCustomer, **frame: Any) -> dict[str, Any]:
    await customer.ws.send(json.dumps({"type": "transcript", **frame}))
    return await customer.expect("transcript_sent")


async def test_a_visitor_gets_the_chat_by_email_without_the_private_notes(
    settings_for: Settings,
) -> None:
    async with capturing_relay() as relay, email_hub(chat_settings(settings_for), relay) as hub:
        async with logged_in_agent(hub, "alice") as alice:
            customer, _ = await chat(hub)
            await customer.say("My parcel <b>never</b> came")
            conversation_id = await accept_next_offer(alice)
            status, _ = await alice.post(
                f"/api/conversations/{conversation_id}/reply", {"text": "I'll resend it today."}
            )
            assert status == 200
            status, _ = await alice.post(
                f"/api/conversations/{conversation_id}/note", {"text": "Courier lost it again"}
            )
            assert status == 200

            sent = await ask_copy(customer, email="Jane@Customer.test")
            assert sent == {"type": "transcript_sent", "email": "jane@customer.test"}
            envelope, mail = await relay.next()
            assert envelope.rcpt_tos == ["jane@customer.test"]
            assert mail["From"].addresses[0].addr_spec == SUPPORT
            assert mail["Auto-Submitted"] == "auto-generated"
            body = mail.get_content().replace("\r\n", "\n")
            assert "You:\nMy parcel <b>never</b> came" in body
            assert "I'll resend it today." in body
            assert "Courier lost it" not in body
            assert body.index("My parcel") < body.index("Alice:\nI'll resend it")
            assert "Times are in UTC." in body

            async def logged() -> TimelineEvent | None:
                async with hub.sessions() as session:
                    found: TimelineEvent | None = await session.scalar(
                        select(TimelineEvent).where(TimelineEvent.kind == "chat.transcript_emailed")
                    )
                    return found

            event = await eventually(logged)
            assert event.conversation_id == conversation_id
            assert "jane@customer.test" in event.summary
            await customer.close()


async def test_the_email_given_before_is_used_and_bad_requests_are_refused(
    settings_for: Settings,
) -> None:
    async with capturing_relay() as relay, email_hub(chat_settings(settings_for), relay) as hub:
        customer, _ = await chat(hub)
        nothing_yet = await ask_copy(customer, email="jane@customer.test")
        assert nothing_yet["code"] == "no_chat"
        await customer.say("Hello")
        assert (await ask_copy(customer))["code"] == "email_required"
        assert (await ask_copy(customer, email="jane@"))["code"] == "invalid_email"
        assert (await ask_copy(customer, email=["x"]))["code"] == "invalid_email"

        await customer.ws.send(json.dumps({"type": "details", "email": "jane@customer.test"}))
        assert (await customer.expect("details"))["type"] == "details"
        for _ in range(PER_HOUR):
            assert (await ask_copy(customer))["email"] == "jane@customer.test"
            await relay.next()
        limited = await ask_copy(customer)
        assert limited["code"] == "rate_limited" and limited["retry_after"] > 0
        assert relay.received.empty()
        await customer.close()


async def test_with_no_email_inbox_the_visitor_is_told_it_cannot_be_sent(hub: Hub) -> None:
    customer, _ = await chat(hub)
    await customer.say("Hello")
    refused = await ask_copy(customer, email="jane@customer.test")
    assert refused["code"] == "transcript_unavailable"
    await customer.close()
