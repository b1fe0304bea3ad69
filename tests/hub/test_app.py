"""Operations endpoints and settings."""

from __future__ import annotations

import os
import socket
from dataclasses import replace

import aiohttp
import pytest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from hub.keys import METRICS
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import ChatCustomer, Hub, eventually


async def test_healthz_reports_database_and_queue(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http, http.get(hub.url + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": "ok", "queue": "ok"}


async def scrape(hub: Hub) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample of the hub's /metrics, by name and then by its labels."""
    async with aiohttp.ClientSession() as http, http.get(hub.url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
        body = await response.text()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


async def test_metrics_count_contacts_and_time_intake_offers_and_routing(hub: Hub) -> None:
    await hub.add_agent("alice", status="available", capacities={"chat": 1})
    alice = await hub.login("alice")
    customer = await ChatCustomer.connect(hub)
    await customer.say("first")
    await customer.say("second")
    offers = await eventually(lambda: alice.get("/api/offers"))
    await customer.close()
    await alice.close()
    process = hub.app[METRICS].process
    assert process == f"{socket.gethostname()}:{os.getpid()}"
    chat = (("channel", "chat"), ("process", process))

    samples = await scrape(hub)
    assert samples["switchboard_contacts_accepted_total"] == {chat: 2}
    assert samples["switchboard_intake_seconds_count"] == {chat: 2}
    assert samples["switchboard_intake_seconds_sum"][chat] > 0
    assert samples["switchboard_arrival_to_offer_seconds_count"] == {chat: len(offers)} == {chat: 1}
    assert samples["switchboard_offers_total"] == {(("process", process),): 1}
    passes = samples["switchboard_routing_pass_seconds_count"][(("process", process),)]
    assert passes >= 1
    assert samples["switchboard_queue_waiting"] == {(("process", process),): 0}
    later = await eventually(lambda: _more_passes(hub, passes))
    assert later > passes  # the router keeps routing, and each pass is counted


async def _more_passes(hub: Hub, than: float) -> float | None:
    samples = await scrape(hub)
    counted = sum(samples["switchboard_routing_pass_seconds_count"].values())
    return counted if counted > than else None


async def test_each_hub_counts_only_its_own_traffic_under_the_process_it_is_given(
    settings_for: Settings,
) -> None:
    async with (
        start_hub(replace(settings_for, metrics_process="hub-a"), clean=True) as first,
        start_hub(replace(settings_for, metrics_process="hub-b")) as b,
    ):
        customer = await ChatCustomer.connect(first)
        await customer.say("hello")
        await customer.close()
        counted_a, counted_b = await scrape(first), await scrape(b)
    assert counted_a["switchboard_intake_seconds_count"] == {
        (("channel", "chat"), ("process", "hub-a")): 1
    }
    assert "switchboard_intake_seconds_count" not in counted_b


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SWITCHBOARD_DATABASE_URL": "postgresql+asyncpg://db/x",
            "SWITCHBOARD_PORT": "9000",
            "SWITCHBOARD_OFFER_TIMEOUT": "12.5",
            "SWITCHBOARD_COOKIE_SECURE": "yes",
            "SWITCHBOARD_SECRET_KEY": "s3cret",
        }
    )
    assert settings.database_url == "postgresql+asyncpg://db/x"
    assert settings.port == 9000 and settings.offer_timeout == 12.5
    assert settings.cookie_secure is True and settings.secret_key == "s3cret"
    assert settings.redis_url is None


def test_overrides_win_and_a_missing_secret_is_generated() -> None:
    first = Settings.from_env({"SWITCHBOARD_PORT": "9000"}, port=7000)
    second = Settings.from_env({})
    assert first.port == 7000
    assert first.secret_key and second.secret_key and first.secret_key != second.secret_key


def test_a_bad_number_names_the_variable() -> None:
    with pytest.raises(ValueError, match="SWITCHBOARD_PORT"):
        Settings.from_env({"SWITCHBOARD_PORT": "eighty"})
