"""/api/v1/reports/voice-of-customer: a data warehouse reads the voice-of-customer report
(topics, their sentiment, rising topics and CSAT by topic) with a `reports:read` token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.keys import INTAKE
from tests.agent_console.api_client import ApiClient, issue_token
from tests.insights.corpus import store, theme_texts
from tests.insights.test_csat import rate_by_theme
from tests.support import Hub

PATH = "/api/v1/reports/voice-of-customer"


async def token_for(hub: Hub, scopes: list[str]) -> ApiClient:
    return ApiClient(hub, (await issue_token(hub, scopes, name="Warehouse"))["token"])


async def test_the_warehouse_reads_topics_sentiment_and_csat_by_topic(hub: Hub) -> None:
    await store(hub.app[INTAKE], theme_texts("refund", 9) + theme_texts("password", 9))
    await rate_by_theme(hub)
    api = await token_for(hub, ["reports:read"])
    try:
        report = await api.get(PATH, since="30d", topics=2)
        assert report["contacts"] == 18
        topics = report["topics"]
        assert sum(topic["count"] for topic in topics) == 18
        assert sum(topic["share"] for topic in topics) == pytest.approx(1.0, abs=1e-3)
        # Refund conversations rated 2 (one of them 4), password ones 5, every third unrated.
        by_theme = {
            "refund" if "refund" in " ".join(t["key_phrases"]) else "password": t for t in topics
        }
        refunds, access = by_theme["refund"], by_theme["password"]
        assert (refunds["count"], refunds["share"]) == (9, 0.5)
        assert refunds["csat"] == {"answers": 6, "csat": round(1 / 6, 4), "average": 2.3333}
        assert access["csat"] == {"answers": 6, "csat": 1.0, "average": 5.0}
        assert all(-1 <= topic["sentiment"] <= 1 for topic in topics)
        assert report["rising"] == [t["name"] for t in topics if t["rising"]]

        # A window before any contact holds none.
        early = (datetime.now(UTC) - timedelta(days=60)).date().isoformat()
        until = (datetime.now(UTC) - timedelta(days=45)).isoformat()
        empty = await api.get(PATH, since=early, until=until)
        assert empty["contacts"] == 0 and empty["topics"] == []
    finally:
        await api.close()


@pytest.mark.parametrize("backend", ["memory"])
async def test_the_report_needs_its_scope_and_a_readable_window(hub: Hub) -> None:
    api = await token_for(hub, ["reports:read"])
    other = await token_for(hub, ["conversations:read", "admin"])
    try:
        status, body = await other.call("GET", PATH)
        assert status == 403 and "reports:read" in body["error"]
        status, body = await api.call("GET", PATH, since="last tuesday")
        assert status == 400 and body["field"] == "since"
        assert "try 30d, 12w, 48h or 2026-01-31" in body["error"]
        status, body = await api.call("GET", PATH, since="2000-01-01")
        assert status == 400 and body["field"] == "since"
        status, body = await api.call("GET", PATH, until="2999-01-01")
        assert status == 400 and body["field"] == "until"
        status, body = await api.call("GET", PATH, topics=0)
        assert status == 400 and body["field"] == "topics"
    finally:
        await api.close()
        await other.close()
