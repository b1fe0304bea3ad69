"""/api/v1/reports: a data warehouse reads what supervisors see in the console, the
queue statistics and CSAT, with a token holding `reports:read`, and the figures are the
console's own."""

from __future__ import annotations

from typing import Any

import pytest

from tests.agent_console.api_client import ApiClient, issue_token
from tests.agent_console.test_csat import rated
from tests.support import ChatCustomer, Hub


async def reports_api(hub: Hub, scopes: list[str]) -> ApiClient:
    return ApiClient(hub, (await issue_token(hub, scopes, name="Warehouse"))["token"])


async def test_the_warehouse_reads_queue_statistics_and_csat(hub: Hub) -> None:
    alice = await hub.add_agent("alice")
    bob = await hub.add_agent("bob")
    await hub.add_agent("sam", role="supervisor")
    for rating in (5, 4, 2):
        await rated(hub, alice, rating, channel="email")
    await rated(hub, bob, 5, channel="sms")
    visitor = await ChatCustomer.connect(hub)
    await visitor.say("Is anyone there?")
    api = await reports_api(hub, ["reports:read"])
    sam = await hub.login("sam")
    try:
        stats = await api.get("/api/v1/reports/queues", window=600, target=30)
        assert stats["window_seconds"] == 600 and stats["target_seconds"] == 30
        assert ("chat", 1) in [(line["channel"], line["waiting"]) for line in stats["lines"]]
        async with sam.http.get("api/supervisor/stats?window=600&target=30") as response:
            seen = await response.json()

        # The same figures, read a moment apart: waits have grown meanwhile.
        def counts(lines: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
            return [(line["queue"], line["channel"], line["waiting"]) for line in lines]

        assert counts(stats["lines"]) == counts(seen["lines"])
        assert stats["agents_by_state"] == seen["agents_by_state"]

        by_agent = await api.get("/api/v1/reports/csat")
        rows = {row["label"]: row for row in by_agent["rows"]}
        assert rows["Alice"]["answers"] == 3 and rows["Alice"]["satisfied"] == 2
        assert rows["Bob"]["csat"] == 1.0
        assert by_agent["total"]["answers"] == 4 and by_agent["total"]["csat"] == 0.75
        by_channel = await api.get("/api/v1/reports/csat", by="channel")
        assert {row["key"]: row["answers"] for row in by_channel["rows"]} == {"email": 3, "sms": 1}

        async with sam.http.get("api/supervisor/csat?by=channel") as response:
            console = await response.json()
        assert console["rows"] == by_channel["rows"]
    finally:
        await api.close()
        await sam.close()
        await visitor.close()


@pytest.mark.parametrize("backend", ["memory"])
async def test_reports_need_their_scope_and_a_good_query(hub: Hub) -> None:
    api = await reports_api(hub, ["reports:read"])
    other = await reports_api(hub, ["conversations:read", "admin"])
    try:
        status, body = await other.call("GET", "/api/v1/reports/csat")
        assert status == 403 and "reports:read" in body["error"]
        assert (await other.call("GET", "/api/v1/reports/queues"))[0] == 403
        status, body = await api.call("GET", "/api/v1/reports/csat", by="weekday")
        assert status == 400 and body["field"] == "by"
        status, body = await api.call(
            "GET", "/api/v1/reports/csat", since="2026-02-01", until="2026-01-01"
        )
        assert status == 400 and "since must come before until" in body["error"]
        status, body = await api.call("GET", "/api/v1/reports/queues", window="a while")
        assert status == 400 and body["field"] == "window"
    finally:
        await api.close()
        await other.close()
