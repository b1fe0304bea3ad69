"""Fixtures: a real hub on a real port, on either backend pair.

`memory`: SQLite file + in-process queue and bus (the embedded default).
`redis`: PostgreSQL (a database created for this run) + Redis (a key prefix per test).
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from sqlalchemy import text

from hub.app import create_app
from hub.db import open_engine
from hub.migrate import upgrade
from hub.settings import Settings
from tests.channels.twilio_side import MessagesApi
from tests.support import Hub

T = TypeVar("T")
POSTGRES = os.environ.get("SWITCHBOARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("SWITCHBOARD_TEST_REDIS", "redis://127.0.0.1:6379/0")
TABLES = (
    "timeline_events, offers, queue_entries, messages, conversations, customer_addresses,"
    " customers, agent_skills, agents, inboxes, knowledge_articles, article_versions,"
    " article_feedback, knowledge_gaps, canned_responses, chat_visitors, routing_queues,"
    " customer_merges, customer_links, business_hours, queue_hours, phone_menus, audit_log,"
    " customer_attributes, webhook_attempts, webhook_deliveries, outbox_events,"
    " webhook_subscriptions, surveys, survey_channels, wrap_up_codes, api_tokens, macros,"
    " conversation_sla, sla_policies, whatsapp_templates"
)
# What a new database holds (migration 0031), put back after emptying it.
FIRST_WRAP_UP_CODES = (
    "INSERT INTO wrap_up_codes (code, label, created_at) VALUES"
    " ('resolved', 'Resolved', now()), ('follow-up', 'Needs follow-up', now()),"
    " ('escalated', 'Escalated', now()), ('no-response', 'No response from customer', now()),"
    " ('spam', 'Spam or abuse', now())"
)


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own loop, even from inside a running one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of our own for this test run, dropped at the end."""
    name = f"switchboard_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = POSTGRES

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_blocking(run(f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    run_blocking(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings_for(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Settings]:
    prefix = f"sbtest:{uuid.uuid4().hex[:10]}:"
    if backend == "memory":
        url, redis_url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", None
    else:
        url, redis_url = request.getfixturevalue("postgres_url"), REDIS
    yield Settings.from_env(
        {},
        database_url=url,
        redis_url=redis_url,
        redis_prefix=prefix,
        secret_key="test-secret-" + prefix,
        routing_tick=0.05,
        offer_timeout=30.0,
        knowledge_embeddings=False,  # tests that want the model build their own index
        smtp_port=0,  # a free port per hub, so hubs and test runs side by side never collide
        attachments_dir=str(tmp_path / "attachments"),
    )
    if redis_url:
        run_blocking(_drop_keys(redis_url, prefix))


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[MessagesApi, str]]:
    """Twilio's Messages API, as the local fake that speaks its wire format, and its URL."""
    api = MessagesApi()
    async with api.serving() as url:
        yield api, url


@pytest.fixture
async def hub(settings_for: Settings) -> AsyncIterator[Hub]:
    """A running hub; on PostgreSQL every table starts empty."""
    async with start_hub(settings_for, clean=True) as running:
        yield running


class start_hub:  # noqa: N801 - used like a function
    """`async with start_hub(settings) as hub:` runs a hub on a free port."""

    def __init__(self, settings: Settings, clean: bool = False) -> None:
        self.settings = settings
        self.clean = clean
        self.server: TestServer | None = None

    async def __aenter__(self) -> Hub:
        if self.clean and self.settings.database_url.startswith("postgresql"):
            await empty_database(self.settings.database_url)
        app: web.Application = create_app(self.settings)
        # A handler still running at teardown gets 5 s, not aiohttp's default 60.
        self.server = TestServer(app, host="127.0.0.1", shutdown_timeout=5)
        await self.server.start_server()
        return Hub(app, str(self.server.make_url("")).rstrip("/"))

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        await self.server.close()
        await _sqlite_threads_done()


async def _sqlite_threads_done(limit: float = 2.0) -> None:
    """Let aiosqlite's worker threads finish before the test's event loop closes.

    A database call cancelled at shutdown (a timer, a router pass) leaves its worker
    thread finishing the statement; if the loop closed first, the thread's answer would
    fail as "Event loop is closed" in whichever test runs next.
    """
    deadline = asyncio.get_running_loop().time() + limit
    while any(
        t.is_alive() and "_connection_worker_thread" in t.name for t in threading.enumerate()
    ):
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.01)


async def empty_database(url: str) -> None:
    """Migrate, then empty every table, before any hub touches the database."""
    engine = open_engine(url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        await conn.execute(text(FIRST_WRAP_UP_CODES))
    await engine.dispose()


async def _drop_keys(url: str, prefix: str) -> None:
    redis = Redis.from_url(url)
    keys = [k async for k in redis.scan_iter(match=prefix + "*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
