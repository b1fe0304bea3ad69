"""The voice-of-customer report joins customers' satisfaction ratings to its topics."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.keys import INTAKE
from hub.models import Conversation, Message, Survey
from insights.contacts import load_contacts
from insights.export import report_csv
from insights.page import render_html
from insights.report import VocOptions, build_report
from insights.taxonomy import Taxonomy
from tests.insights.corpus import store, theme_texts
from tests.support import Hub

TAXONOMY = Taxonomy.from_dict(
    {
        "topics": [
            {"name": "Refunds", "keywords": ["refund"]},
            {"name": "Account access", "keywords": ["password", "locked out"]},
        ]
    }
)


async def rate_by_theme(hub: Hub) -> None:
    """Refund conversations rated 2 (one of them 4), password ones 5; every third unrated."""
    async with hub.sessions() as session, session.begin():
        rows = (
            await session.execute(
                select(Conversation.id, Conversation.customer_id, Message.text)
                .join(Message, Message.conversation_id == Conversation.id)
                .order_by(Conversation.id)
            )
        ).all()
        refunds = 0
        for n, (conversation_id, customer_id, text) in enumerate(rows):
            if n % 3 == 2:
                continue
            if "refund" in text.lower():
                refunds += 1
            rating = (4 if refunds == 1 else 2) if "refund" in text.lower() else 5
            session.add(
                Survey(
                    conversation_id=conversation_id,
                    customer_id=customer_id,
                    channel="email",
                    address="someone",
                    rating=rating,
                    answered_at=datetime.now(UTC),
                )
            )


async def test_the_report_shows_csat_by_topic(hub: Hub) -> None:
    texts = theme_texts("refund", 9) + theme_texts("password", 9)
    await store(hub.app[INTAKE], texts)
    await rate_by_theme(hub)
    now = datetime.now(UTC)
    since = now - timedelta(days=30)

    contacts = await load_contacts(hub.sessions, since)
    report = build_report(
        contacts, VocOptions(since=since, until=now, n_topics=3, taxonomy=TAXONOMY)
    )
    by_name = {t.name: t for t in report.topics}

    refunds, access = by_name["Refunds"].csat, by_name["Account access"].csat
    assert refunds.answers == 6 and access.answers == 6
    assert refunds.satisfied_share == 1 / 6
    assert refunds.average == (4 + 2 * 5) / 6
    assert (access.satisfied_share, access.average) == (1.0, 5.0)
    topics = report.as_json()["topics"]
    assert isinstance(topics, list) and topics[0]["csat"]["answers"] == 6

    page = render_html(report)
    assert "Satisfaction by topic" in page
    assert '<td>Refunds</td><td class="num">17%</td><td class="num">2.33</td>' in page
    rows = list(csv.DictReader(io.StringIO(report_csv(report, "topics"))))
    exported = {r["topic"]: r for r in rows}
    assert exported["Account access"]["csat_satisfied_share"] == "1.0000"
    assert exported["Refunds"]["csat_answers"] == "6"


async def test_a_window_without_ratings_says_so(hub: Hub) -> None:
    await store(hub.app[INTAKE], theme_texts("refund", 6))
    now = datetime.now(UTC)
    contacts = await load_contacts(hub.sessions, now - timedelta(days=30))
    report = build_report(
        contacts, VocOptions(since=now - timedelta(days=30), until=now, taxonomy=TAXONOMY)
    )
    assert all(t.csat.answers == 0 and t.csat.average is None for t in report.topics)
    assert "No customer rated a conversation in this window." in render_html(report)
