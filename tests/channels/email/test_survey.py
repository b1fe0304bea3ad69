"""Satisfaction by email: a closed email conversation gets one automatic mail with a signed
link to a small public page, where a plain form POST records the rating.

Mail goes both ways through real SMTP (aiosmtpd servers), the page through real HTTP.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage

import aiohttp
import pytest
from sqlalchemy import select

from hub.keys import SURVEYS
from hub.models import Conversation, Survey, TimelineEvent
from hub.settings import Settings
from tests.channels.email_side import (
    JANE,
    CapturingRelay,
    accept_next_offer,
    capturing_relay,
    email_hub,
    logged_in_agent,
    mail,
    send,
)
from tests.support import AgentClient, Hub

PUBLIC = "https://help.acme.test"


@pytest.fixture
async def relay() -> AsyncIterator[CapturingRelay]:
    async with capturing_relay() as running:
        yield running


@pytest.fixture
async def hub(settings_for: Settings, relay: CapturingRelay) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(
        settings_for, smtp_port=0, survey_channels="email", public_url=PUBLIC, cookie_secure=False
    )
    async with email_hub(settings, relay) as running:
        yield running


@pytest.fixture
async def alice(hub: Hub) -> AsyncIterator[AgentClient]:
    async with logged_in_agent(hub, "alice") as agent:
        yield agent


async def closed_by_email(hub: Hub, alice: AgentClient, subject: str) -> int:
    assert (await send(hub, mail(subject, "My invoice is wrong."))).startswith("2.0.0")
    conversation_id = await accept_next_offer(alice)
    status, _ = await alice.post(f"/api/conversations/{conversation_id}/close")
    assert status == 200
    return conversation_id


def survey_link(question: EmailMessage) -> str:
    body = question.get_content()
    link, unsubscribe = re.findall(re.escape(PUBLIC) + r"/survey/[A-Za-z0-9_.-]+[/a-z]*", body)
    assert unsubscribe == link + "/unsubscribe"
    return str(link)


async def fetch(
    hub: Hub, method: str, link: str, form: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, link.replace(PUBLIC, hub.url, 1), data=form) as response,
    ):
        return response.status, dict(response.headers), await response.text()


async def surveys(hub: Hub) -> list[Survey]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Survey).order_by(Survey.id)))


async def test_the_emailed_link_rates_the_conversation_once_without_javascript(
    hub: Hub, alice: AgentClient, relay: CapturingRelay
) -> None:
    conversation_id = await closed_by_email(hub, alice, "Invoice")
    envelope, question = await relay.next()
    assert envelope.rcpt_tos == [JANE]
    assert question["Auto-Submitted"] == "auto-generated"
    link = survey_link(question)
    assert question["List-Unsubscribe"] == f"<{link}/unsubscribe>"
    assert question["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    status, headers, page = await fetch(hub, "GET", link)
    assert status == 200
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none'
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert '<form method="post"' in page and "<script" not in page
    assert page.count('type="radio" name="rating"') == 5

    status, _, _ = await fetch(hub, "POST", link, {"rating": "6", "comment": "too good"})
    assert status == 400
    status, _, _ = await fetch(hub, "POST", link, {"comment": "no rating"})
    assert status == 400
    status, _, page = await fetch(hub, "POST", link, {"rating": "5", "comment": "<b>Fast</b>"})
    assert status == 200 and "Thank you" in page
    status, _, page = await fetch(hub, "POST", link, {"rating": "1", "comment": "changed"})
    assert status == 409

    [survey] = await surveys(hub)
    assert (survey.conversation_id, survey.rating, survey.comment) == (
        conversation_id,
        5,
        "<b>Fast</b>",
    )
    async with hub.sessions() as session:
        answered = await session.scalar(
            select(TimelineEvent).where(TimelineEvent.kind == "survey.answered")
        )
    assert answered is not None and answered.summary == "Rated 5/5: <b>Fast</b>"
    status, _, page = await fetch(hub, "GET", link)
    assert status == 200 and "recorded" in page


async def test_a_forged_or_tampered_link_is_not_found(
    hub: Hub, alice: AgentClient, relay: CapturingRelay
) -> None:
    await closed_by_email(hub, alice, "Invoice")
    link = survey_link((await relay.next())[1])
    number, _, signature = link.rpartition("/")[2].partition(".")
    other = "A" if signature[0] != "A" else "B"
    for forged in (
        f"{PUBLIC}/survey/{number}.{other}{signature[1:]}",
        f"{PUBLIC}/survey/{int(number) + 1}.{signature}",
        f"{PUBLIC}/survey/{number}",
        f"{PUBLIC}/survey/x.y",
    ):
        assert (await fetch(hub, "GET", forged))[0] == 404
        assert (await fetch(hub, "POST", forged, {"rating": "5"}))[0] == 404
    assert [s.rating for s in await surveys(hub)] == [None]
    # Signed, but for a conversation nobody was asked about.
    unasked = hub.app[SURVEYS].page_url(10_000)
    assert (await fetch(hub, "POST", unasked, {"rating": "5"}))[0] == 404


async def test_an_automatic_answer_to_the_survey_is_never_answered(
    hub: Hub, alice: AgentClient, relay: CapturingRelay
) -> None:
    await closed_by_email(hub, alice, "Invoice")
    _, question = await relay.next()

    out_of_office = mail(
        "Automatic reply: " + str(question["Subject"]),
        "I am out of the office until Monday.",
        Auto_Submitted="auto-replied",
        In_Reply_To=str(question["Message-ID"]),
    )
    out_of_office.replace_header("To", str(question["Reply-To"]))
    assert (await send(hub, out_of_office)).startswith("2.0.0")

    async with hub.sessions() as session:
        statuses = list(await session.scalars(select(Conversation.status)))
    assert "queued" not in statuses and "assigned" not in statuses
    assert [s.rating for s in await surveys(hub)] == [None]
    assert relay.received.empty()  # no second question, no answer to the machine


async def test_unsubscribing_in_one_click_stops_further_questions(
    hub: Hub, alice: AgentClient, relay: CapturingRelay
) -> None:
    await closed_by_email(hub, alice, "Invoice")
    _, question = await relay.next()
    unsubscribe = str(question["List-Unsubscribe"]).strip("<>")
    # RFC 8058: the mail program POSTs List-Unsubscribe=One-Click to the address.
    status, _, _ = await fetch(hub, "POST", unsubscribe, {"List-Unsubscribe": "One-Click"})
    assert status == 200

    second = await closed_by_email(hub, alice, "Another matter")
    assert await hub.app[SURVEYS].ask(second) is None
    assert len(await surveys(hub)) == 1
    assert relay.received.empty()
