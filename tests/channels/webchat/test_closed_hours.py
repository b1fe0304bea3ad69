"""A chat out of business hours: the widget hears the team is closed and when it opens,
even with an agent signed in, and the chat goes on by email like one nobody is online for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from hub.models import BusinessHours, Conversation
from hub.settings import Settings
from tests.channels.email.test_after_hours import keep_hours
from tests.channels.email_side import JANE, capturing_relay, email_hub, logged_in_agent
from tests.channels.webchat.test_webchat import chat, chat_settings, give_details
from tests.channels.webchat.test_widget_browser import browser, open_chat, page

__all__ = ["browser", "page"]  # fixtures used here


async def test_a_visitor_out_of_hours_is_told_when_we_open_and_answered_by_email(
    settings_for: Settings,
) -> None:
    async with capturing_relay() as relay, email_hub(chat_settings(settings_for), relay) as hub:
        opening = await keep_hours(hub, "chat", "web", closed_days=2)
        async with logged_in_agent(hub, "alice") as alice:
            async with alice.http.ws_connect("console/ws") as console:
                assert (await console.receive_json(timeout=10))["type"] == "hello"

                customer, welcome = await chat(hub)
                # Alice's console is open, and still: the team is closed.
                assert welcome["online"] is False and welcome["offline_email"] is True
                assert welcome["closed"] == {"opens": opening.isoformat()}
                assert datetime.fromisoformat(welcome["closed"]["opens"]) == opening.astimezone(UTC)

                await give_details(customer, email=JANE)
                ack = await customer.say("Can I raise my card limit?")
                assert ack["by_email"] is True
                async with hub.sessions() as session:
                    conversation = await session.scalar(select(Conversation))
                assert conversation is not None
                # Waiting from the opening (an agent signed in may still take it).
                assert conversation.status in ("queued", "offered")
                assert conversation.waits_from == opening
                await customer.close()


async def test_a_visitor_in_hours_hears_nothing_of_closing(settings_for: Settings) -> None:
    async with capturing_relay() as relay, email_hub(chat_settings(settings_for), relay) as hub:
        await keep_hours(hub, "chat", "web", closed_days=0)
        async with hub.sessions() as session, session.begin():
            schedule = await session.scalar(select(BusinessHours))
            assert schedule is not None
            schedule.weekly = {
                d: [{"opens": "00:00", "closes": "00:00"}]
                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            }
        customer, welcome = await chat(hub)
        assert welcome["closed"] is None
        await customer.close()


@pytest.mark.parametrize("backend", ["memory"])  # the socket tests above cover both
async def test_the_widget_says_we_are_closed_and_offers_email(
    settings_for: Settings, page: Page
) -> None:
    async with capturing_relay() as relay, email_hub(chat_settings(settings_for), relay) as hub:
        await keep_hours(hub, "chat", "web", closed_days=1)
        chat_box = await open_chat(page, hub)
        await expect(chat_box.locator("header .status")).to_have_text("We're closed")
        away = chat_box.locator(".away p").first
        await expect(away).to_contain_text("We're closed right now and open again")
        await expect(away).to_contain_text("leave your email; we'll reply there.")
        await expect(chat_box.locator(".away").get_by_label("Your email")).to_be_visible()
