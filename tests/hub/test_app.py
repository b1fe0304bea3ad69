"""Operations endpoints and settings."""

from __future__ import annotations

import aiohttp
import pytest

from hub.settings import Settings
from tests.support import ChatCustomer, Hub


async def test_healthz_reports_database_and_queue(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http, http.get(hub.url + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": "ok", "queue": "ok"}


async def test_metrics_count_contacts_in_prometheus_format(hub: Hub) -> None:
    customer = await ChatCustomer.connect(hub)
    await customer.say("first")
    await customer.say("second")
    await customer.close()
    async with aiohttp.ClientSession() as http, http.get(hub.url + "/metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        body = await response.text()
    assert "# TYPE switchboard_contacts_accepted_total counter" in body
    assert 'switchboard_contacts_accepted_total{channel="chat"} 2' in body
    assert "# TYPE switchboard_queue_waiting gauge" in body


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
