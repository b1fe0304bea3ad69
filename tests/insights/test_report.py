"""The report from a real hub's storage: HTML that is safe to open, and an API for supervisors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import select, update

from hub.keys import INTAKE
from hub.models import AuditEntry, Conversation
from insights.contacts import Contact, load_contacts
from insights.export import report_csv
from insights.page import render_html
from insights.report import VocOptions, build_report
from tests.insights.corpus import corpus, store
from tests.support import PASSWORD, Hub

HOSTILE = "<script>alert('pwned')</script> my refund never came, mail me at eve@example.com"


async def stored_corpus(hub: Hub) -> None:
    texts = [text for _, text in corpus(per_theme=12)] + [HOSTILE]
    await store(hub.app[INTAKE], texts)


async def test_the_report_reads_contacts_from_storage_and_escapes_them(hub: Hub) -> None:
    await stored_corpus(hub)
    async with hub.sessions() as session, session.begin():  # agents closed them with a code
        await session.execute(update(Conversation).values(disposition="resolved"))
    now = datetime.now(UTC)
    since = now - timedelta(days=30)

    contacts = await load_contacts(hub.sessions, since)
    report = build_report(contacts, VocOptions(since=since, until=now, n_topics=3))
    page = render_html(report)

    assert report.contacts == 37
    assert set(report.volume_by_channel) == {"email", "sms"}
    assert sum(map(sum, report.volume_by_channel.values())) == 37
    assert report.sentiment_model.startswith("VADER")
    assert "<script>" not in page
    assert "eve@example.com" not in page
    assert page.count("<svg") >= 3
    assert sum(t.dispositions.get("resolved", 0) for t in report.topics) == 37
    assert "outcomes: resolved" in page


async def test_a_quote_with_markup_is_shown_as_text(hub: Hub) -> None:
    await store(hub.app[INTAKE], [HOSTILE] * 3 + ["Where is my parcel, the courier is late."] * 3)
    now = datetime.now(UTC)
    contacts = await load_contacts(hub.sessions, now - timedelta(days=30))
    report = build_report(
        contacts, VocOptions(since=now - timedelta(days=30), until=now, n_topics=2)
    )
    page = render_html(report)

    assert any("<script>" in quote for topic in report.topics for quote in topic.quotes)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert "[email]" in page


async def test_the_api_serves_supervisors_and_refuses_agents(hub: Hub) -> None:
    await stored_corpus(hub)
    await hub.add_agent("ann", role="agent")
    await hub.add_agent("sue", role="supervisor")

    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(hub.url + "/api/reports/voc") as response:
            assert response.status == 401

    agent = await hub.login("ann")
    try:
        async with agent.http.get("api/reports/voc") as response:
            assert response.status == 403
            assert "supervisors" in (await response.json())["error"]
    finally:
        await agent.close()

    supervisor = await hub.login("sue", PASSWORD)
    try:
        data = await supervisor.get("/api/reports/voc?since=30d&topics=3")
        assert data["contacts"] == 37
        assert {t["name"] for t in data["topics"]} and data["sentiment_model"].startswith("VADER")
        async with supervisor.http.get("api/reports/voc?format=csv&table=topics") as response:
            assert response.status == 200
            assert response.content_type == "text/csv"
            rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert sum(int(row["contacts"]) for row in rows) == 37
        async with hub.sessions() as session:
            exports = list(
                await session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "report.exported")
                )
            )
        assert [(e.actor, e.target) for e in exports] == [("sue", "voice-of-customer topics")]
        async with supervisor.http.get("api/reports/voc?format=xml") as response:
            assert response.status == 400
    finally:
        await supervisor.close()


def test_an_empty_window_still_makes_a_report() -> None:
    now = datetime.now(UTC)
    report = build_report([], VocOptions(since=now - timedelta(days=7), until=now))

    assert report.contacts == 0 and report.topics == ()
    assert "No topic rose above its baseline" in render_html(report)
    assert report_csv(report, "volume").strip() == "day,channel,contacts"


def test_csv_cells_never_start_a_formula() -> None:
    now = datetime.now(UTC)
    contacts = [
        Contact(n, n, "email", now - timedelta(hours=n + 1), "=HYPERLINK(evil) refund please")
        for n in range(5)
    ]
    report = build_report(contacts, VocOptions(since=now - timedelta(days=2), until=now))

    quotes = list(csv.DictReader(io.StringIO(report_csv(report, "quotes"))))
    assert quotes and all(row["quote"].startswith("'=HYPERLINK") for row in quotes)
