"""The operations report: a hand-made day of contacts whose every figure is worked out
here, per queue, agent and channel, by hour, day and week, in the company's time zone;
as JSON and CSV for supervisors, and as an HTML file from `switchboard report ops`."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.keys import SETTINGS
from hub.models import (
    Conversation,
    ConversationSla,
    Customer,
    Inbox,
    Message,
    Offer,
    Survey,
)
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import Hub

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
PERIOD = "since=2026-03-01T00:00:00Z&until=2026-03-10T00:00:00Z"
S = timedelta(seconds=1)


async def conversation(
    hub: Hub,
    created: datetime,
    *,
    skill: str | None = None,
    channel: str = "email",
    agent: int | None = None,
    status: str = "closed",
    closed: datetime | None = None,
    waits_from: datetime | None = None,
    offers: tuple[tuple[str, datetime], ...] = (),
    messages: tuple[tuple[str, datetime], ...] = (),
    breached: bool = False,
    rating: int | None = None,
) -> int:
    async with hub.sessions() as session, session.begin():
        customer = Customer(name="Pat")
        inbox = Inbox(channel=channel, address=f"{channel}-{created.timestamp()}")
        session.add_all([customer, inbox])
        await session.flush()
        c = Conversation(
            customer_id=customer.id,
            inbox_id=inbox.id,
            channel=channel,
            status=status,
            agent_id=agent,
            required_skill=skill,
            created_at=created,
            closed_at=closed,
            waits_from=waits_from,
        )
        session.add(c)
        await session.flush()
        for state, decided in offers:
            session.add(
                Offer(
                    conversation_id=c.id,
                    agent_id=agent,
                    status=state,
                    created_at=decided - 2 * S,
                    expires_at=decided + 30 * S,
                    decided_at=decided,
                )
            )
        for direction, at in messages:
            session.add(Message(conversation_id=c.id, channel=channel, direction=direction,
                                created_at=at))  # fmt: skip
        if breached:
            session.add(ConversationSla(conversation_id=c.id, first_response_breached_at=created))
        if rating is not None:
            session.add(Survey(conversation_id=c.id, customer_id=customer.id, channel=channel,
                               address="pat", rating=rating, answered_at=created))  # fmt: skip
        return c.id


async def a_week_of_contacts(hub: Hub) -> dict[str, int]:
    alice = await hub.add_agent("alice", team="north")
    bob = await hub.add_agent("bob", team="south")
    # Answered in 10 s, replied in 60 s, closed after an hour; rated 5.
    await conversation(
        hub, T0, skill="billing", agent=alice, closed=T0 + 3600 * S,
        offers=(("accepted", T0 + 10 * S),),
        messages=(("incoming", T0), ("outgoing", T0 + 60 * S), ("outgoing", T0 + 120 * S)),
        rating=5,
    )  # fmt: skip
    # An expired offer, then answered after 40 s (out of target); replied after 300 s
    # (a note before does not count); still open; its first response breached; rated 2.
    t1 = T0 + timedelta(hours=1)
    await conversation(
        hub, t1, skill="billing", channel="sms", agent=bob, status="assigned",
        offers=(("expired", t1 + 15 * S), ("accepted", t1 + 40 * S)),
        messages=(("note", t1 + 5 * S), ("incoming", t1), ("outgoing", t1 + 300 * S)),
        breached=True, rating=2,
    )  # fmt: skip
    # The customer left after 100 s of waiting.
    t2 = T0 + timedelta(hours=2)
    await conversation(
        hub, t2, skill="billing", channel="chat", status="abandoned", closed=t2 + 100 * S,
        messages=(("incoming", t2),),
    )  # fmt: skip
    # Next day, after hours: waits from the opening an hour later, answered 5 s into it;
    # the agent wrote first, the customer answered at +20 s, the reply came at +80 s.
    t3 = T0 + timedelta(days=1)
    opening = t3 + timedelta(hours=1)
    await conversation(
        hub, t3, agent=alice, closed=t3 + 7200 * S, waits_from=opening,
        offers=(("accepted", opening + 5 * S),),
        messages=(("outgoing", t3 + 10 * S), ("incoming", t3 + 20 * S), ("outgoing", t3 + 80 * S)),
        rating=4,
    )  # fmt: skip
    # Before the period.
    await conversation(hub, T0 - timedelta(days=10), skill="billing", rating=1)
    await hub.add_agent("sue", role="supervisor", team="north")
    await hub.add_agent("max", role="supervisor")
    await hub.add_agent("ann")
    await hub.add_agent("ida", role="analyst")
    return {"alice": alice, "bob": bob}


async def report(hub: Hub, username: str, query: str) -> tuple[int, Any]:
    client = await hub.login(username)
    try:
        async with client.http.get("api/supervisor/reports/ops?" + query) as response:
            if response.content_type == "text/csv":
                return response.status, await response.text()
            return response.status, await response.json()
    finally:
        await client.close()


def figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("bucket", "key")}


async def test_figures_per_queue_agent_and_channel_by_day_week_and_hour(hub: Hub) -> None:
    agents = await a_week_of_contacts(hub)
    status, by_queue = await report(hub, "max", PERIOD + "&by=queue&bucket=day")
    assert status == 200
    assert by_queue["time_zone"] == "UTC"
    assert [(r["bucket"], r["key"]) for r in by_queue["rows"]] == [
        ("2026-03-02T00:00:00+00:00", "billing"),
        ("2026-03-03T00:00:00+00:00", "general"),
    ]
    billing, general = (figures(r) for r in by_queue["rows"])
    assert billing == {
        "label": "billing",
        "contacts": 3,
        "answered": 2,
        "abandoned": 1,
        "service_level": 0.3333,  # 1 of 2 answered within 20 s, 1 abandoned
        "average_speed_of_answer": 25.0,  # (10 + 40) / 2
        "average_first_response": 180.0,  # (60 + 300) / 2
        "average_resolution": 3600.0,  # the one closed
        "average_handle": 3590.0,  # 3600 - 10
        "sla_breaches": 1,
        "csat_answers": 2,
        "csat_average": 3.5,
    }
    assert general == {
        "label": "general",
        "contacts": 1,
        "answered": 1,
        "abandoned": 0,
        "service_level": 1.0,
        "average_speed_of_answer": 5.0,  # from the opening, not from arrival
        "average_first_response": 60.0,  # from the customer's first message
        "average_resolution": 7200.0,
        "average_handle": 3595.0,  # 7200 - 3605
        "sla_breaches": 0,
        "csat_answers": 1,
        "csat_average": 4.0,
    }

    _, by_agent = await report(hub, "ida", PERIOD + "&by=agent&bucket=week")
    week = {r["label"]: r for r in by_agent["rows"]}
    assert {r["bucket"] for r in by_agent["rows"]} == {"2026-03-02T00:00:00+00:00"}
    assert week["Alice"]["key"] == agents["alice"]
    assert (week["Alice"]["contacts"], week["Alice"]["answered"]) == (2, 2)
    assert week["Alice"]["average_speed_of_answer"] == 7.5  # (10 + 5) / 2
    assert week["Alice"]["average_handle"] == 3592.5
    assert week["Alice"]["csat_average"] == 4.5
    assert (week["Bob"]["service_level"], week["Bob"]["sla_breaches"]) == (0.0, 1)
    assert (week["nobody"]["contacts"], week["nobody"]["abandoned"]) == (1, 1)
    assert week["nobody"]["average_speed_of_answer"] is None

    _, by_channel = await report(hub, "max", PERIOD + "&by=channel&bucket=hour&target=45")
    assert [(r["bucket"], r["key"], r["contacts"]) for r in by_channel["rows"]] == [
        ("2026-03-02T09:00:00+00:00", "email", 1),
        ("2026-03-02T10:00:00+00:00", "sms", 1),
        ("2026-03-02T11:00:00+00:00", "chat", 1),
        ("2026-03-03T09:00:00+00:00", "email", 1),
    ]
    assert by_channel["rows"][1]["service_level"] == 1.0  # 40 s is within 45


async def test_a_supervisor_reads_their_team_and_an_agent_nothing(hub: Hub) -> None:
    await a_week_of_contacts(hub)
    _, by_agent = await report(hub, "sue", PERIOD + "&by=agent&bucket=week")
    assert [r["label"] for r in by_agent["rows"]] == ["Alice"]
    # Per queue: her team's work and what nobody took (the abandoned chat), not Bob's.
    _, by_queue = await report(hub, "sue", PERIOD + "&by=queue&bucket=week")
    assert {r["label"]: r["contacts"] for r in by_queue["rows"]} == {"billing": 2, "general": 1}
    status, refusal = await report(hub, "ann", PERIOD)
    assert status == 403 and "supervisors" in refusal["error"]
    status, bad = await report(hub, "max", "by=mood")
    assert status == 400 and "by" in bad["error"]
    status, bad = await report(hub, "max", "since=2026-03-05T00:00:00Z&until=2026-03-01T00:00:00Z")
    assert status == 400 and "since" in bad["error"]


async def test_the_csv_has_a_header_and_a_row_per_bucket_and_key(hub: Hub) -> None:
    await a_week_of_contacts(hub)
    status, text = await report(hub, "max", PERIOD + "&by=queue&bucket=week&format=csv")
    assert status == 200
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:7] == [
        "bucket", "key", "label", "contacts", "answered", "abandoned", "service_level"
    ]  # fmt: skip
    assert rows[1:] == [
        ["2026-03-02T00:00:00+00:00", "billing", "billing", "3", "2", "1", "0.3333", "25.0",
         "180.0", "3600.0", "3590.0", "1", "2", "3.5"],
        ["2026-03-02T00:00:00+00:00", "general", "general", "1", "1", "0", "1.0", "5.0",
         "60.0", "7200.0", "3595.0", "0", "1", "4.0"],
    ]  # fmt: skip


@pytest.fixture
async def berlin(settings_for: Settings) -> AsyncIterator[Hub]:
    settings = dataclasses.replace(settings_for, timezone="Europe/Berlin")
    async with start_hub(settings, clean=True) as running:
        yield running


async def test_days_and_hours_follow_the_company_clock_across_the_summer_time_change(
    berlin: Hub,
) -> None:
    # Berlin moves from +01:00 to +02:00 at 01:00 UTC on Sunday 2026-03-29.
    for at in (
        datetime(2026, 3, 28, 22, 30, tzinfo=UTC),  # 23:30 on the 28th
        datetime(2026, 3, 28, 23, 30, tzinfo=UTC),  # 00:30 on the 29th, winter time
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # 03:30 on the 29th, summer time
        datetime(2026, 3, 29, 21, 30, tzinfo=UTC),  # 23:30 on the 29th
        datetime(2026, 3, 29, 22, 30, tzinfo=UTC),  # 00:30 on Monday the 30th
    ):
        await conversation(berlin, at)
    await berlin.add_agent("max", role="supervisor")
    period = "since=2026-03-27T00:00:00Z&until=2026-04-02T00:00:00Z&by=channel"
    _, days = await report(berlin, "max", period + "&bucket=day")
    assert days["time_zone"] == "Europe/Berlin"
    assert [(r["bucket"], r["contacts"]) for r in days["rows"]] == [
        ("2026-03-28T00:00:00+01:00", 1),
        ("2026-03-29T00:00:00+01:00", 3),
        ("2026-03-30T00:00:00+02:00", 1),
    ]
    _, hours = await report(berlin, "max", period + "&bucket=hour")
    assert [r["bucket"] for r in hours["rows"]][1:3] == [
        "2026-03-29T00:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
    ]
    _, weeks = await report(berlin, "max", period + "&bucket=week")
    assert [(r["bucket"], r["contacts"]) for r in weeks["rows"]] == [
        ("2026-03-23T00:00:00+01:00", 4),
        ("2026-03-30T00:00:00+02:00", 1),
    ]


async def test_the_command_writes_an_html_file_with_names_escaped(hub: Hub, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    await conversation(hub, now - timedelta(hours=2), skill="<script>alert(1)</script>")
    await conversation(hub, now - timedelta(days=1), skill="billing")
    await conversation(hub, now - timedelta(days=9), skill="billing")  # before --since 7d
    out = tmp_path / "ops.html"
    environment = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": hub.app[SETTINGS].database_url,
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub.cli", "report", "ops", "--since", "7d", "--out", str(out)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "2 contacts" in result.stdout
    page = out.read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<svg" in page and "queue: billing" in page


async def test_the_page_shows_filters_a_chart_and_escaped_names_to_readers_only(hub: Hub) -> None:
    await conversation(hub, T0, skill="<img src=x onerror=alert(1)>")
    await conversation(hub, T0 + timedelta(days=1), skill="billing")
    await hub.add_agent("max", role="supervisor")
    await hub.add_agent("ann")
    client = await hub.login("max")
    try:
        async with client.http.get("console/reports/ops?" + PERIOD + "&bucket=week") as page:
            assert page.status == 200
            assert "script-src" not in page.headers["Content-Security-Policy"]
            html = await page.text()
        async with client.http.get("console/reports/ops?bucket=fortnight") as bad:
            assert bad.status == 400 and "bucket" in await bad.text()
    finally:
        await client.close()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<select name="bucket">' in html and "<option selected>week</option>" in html
    assert "<svg" in html and "format=csv" in html
    assert "queue: billing" in html
    client = await hub.login("ann")
    try:
        async with client.http.get("console/reports/ops") as refused:
            assert refused.status == 403
    finally:
        await client.close()
