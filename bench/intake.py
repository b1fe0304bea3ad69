"""Intake benchmark: contacts accepted per second over HTTP, beside a bare aiohttp handler.

N concurrent clients (in a separate process, so they do not share the server's
core) POST the JSON of a new customer's first chat message to a bench-only
endpoint that calls `Intake.accept`: deduplicate, store, thread, commit, queue,
publish. The same run measures a bare handler that only parses the same JSON
and answers 200, which is the ceiling aiohttp itself sets on this machine.
Backends: SQLite with the in-process queue and bus, then PostgreSQL (a fresh
database, dropped afterwards) with Redis (a key prefix of its own, deleted). Last, the
whole hub on PostgreSQL + Redis with nobody to answer, so every contact joins a backlog
and wakes the router: once with its passes back to back (the naive router), once spaced
as the hub runs them (`SWITCHBOARD_ROUTING_PASS_SPACING`).

    python -m bench.intake [--seconds 3] [--clients 16] [--postgres URL] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bench._scratch import scratch_database, scratch_prefix
from bench.console import hub_settings
from hub.app import channel_registry, create_app
from hub.bus import MemoryBus, RedisBus
from hub.contacts import InboundContact
from hub.db import open_engine, session_factory
from hub.intake import Intake
from hub.keys import INTAKE
from hub.metrics import Metrics
from hub.migrate import upgrade
from hub.queue import MemoryQueue, RedisQueue
from hub.settings import Settings

POSTGRES = os.environ.get("SWITCHBOARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("SWITCHBOARD_TEST_REDIS", "redis://127.0.0.1:6379/0")
WARMUP = 0.5
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    failures: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


# --- the client side, run in its own process ---------------------------------


def load(url: str, clients: int, seconds: float, tag: str) -> tuple[int, int, float]:
    """POST contacts from `clients` concurrent connections for `seconds`: (ok, failed, elapsed)."""
    return asyncio.run(_load(url, clients, seconds, tag))


async def _load(url: str, clients: int, seconds: float, tag: str) -> tuple[int, int, float]:
    counts = [0, 0]
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client(n: int, until: float, count: bool) -> None:
            sent = 0
            while time.monotonic() < until:
                sent += 1
                payload = {
                    "channel": "chat",
                    "inbox": "bench",
                    "external_id": f"{tag}-{n}-{sent}-{count}",
                    "sender": f"visitor-{tag}-{n}-{sent}-{count}",
                    "sender_name": "Bench Visitor",
                    "text": "Hello, I have a question about my last invoice.",
                }
                async with http.post(url, json=payload) as response:
                    await response.read()
                    if count or response.status != 200:  # a failure counts even warming up
                        counts[response.status != 200] += 1

        warm = time.monotonic() + WARMUP
        await asyncio.gather(*(client(n, warm, False) for n in range(clients)))
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(*(client(n, until, True) for n in range(clients)))
        elapsed = time.monotonic() - started
    return counts[0], counts[1], elapsed


# --- the server side ----------------------------------------------------------


async def bare(request: web.Request) -> web.Response:
    await request.json()
    return web.Response(status=200)


def accepting(intake: Intake) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        data = await request.json()
        accepted = await intake.accept(InboundContact(**data))
        return web.json_response({"message_id": accepted.message_id})

    return handle


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/contacts", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/contacts"
    finally:
        await runner.cleanup()


async def measure(
    name: str, handler: Handler, pool: ProcessPoolExecutor, clients: int, seconds: float
) -> Result:
    async with serving(handler) as url:
        loop = asyncio.get_running_loop()
        tag = uuid.uuid4().hex[:8]
        ok, failed, elapsed = await loop.run_in_executor(pool, load, url, clients, seconds, tag)
    return Result(name, ok, failed, elapsed)


@asynccontextmanager
async def sqlite_intake() -> AsyncIterator[Intake]:
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        try:
            await upgrade(engine)
            yield Intake(
                session_factory(engine), MemoryQueue(), MemoryBus(), Metrics(), channel_registry()
            )
        finally:
            await engine.dispose()


@asynccontextmanager
async def postgres_redis_intake(postgres: str, redis_url: str) -> AsyncIterator[Intake]:
    async with scratch_database(postgres) as url, scratch_prefix(redis_url) as prefix:
        engine = open_engine(url)
        redis = Redis.from_url(redis_url)
        try:
            await upgrade(engine)
            queue, bus = RedisQueue(redis, prefix), RedisBus(redis, prefix)
            yield Intake(session_factory(engine), queue, bus, Metrics(), channel_registry())
        finally:
            await engine.dispose()
            await redis.aclose()


@asynccontextmanager
async def whole_hub(postgres: str, redis_url: str, spacing: float) -> AsyncIterator[Intake]:
    """The real hub on PostgreSQL + Redis, router and all, with no agent signed in: every
    new customer joins a backlog, and wakes the router, whose passes read the backlog."""
    async with hub_settings("redis", postgres, redis_url) as settings:
        settings = dataclasses.replace(settings, routing_pass_spacing=spacing)
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()  # starts the router, the identity index and the rest
        try:
            yield runner.app[INTAKE]
        finally:
            await runner.cleanup()


async def run(clients: int, seconds: float, postgres: str, redis_url: str) -> list[Result]:
    spawn = multiprocessing.get_context("spawn")
    results: list[Result] = []
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        results.append(await measure("bare aiohttp handler", bare, pool, clients, seconds))
        async with sqlite_intake() as intake:
            name = "intake: SQLite + memory"
            results.append(await measure(name, accepting(intake), pool, clients, seconds))
        if postgres and redis_url:
            async with postgres_redis_intake(postgres, redis_url) as intake:
                name = "intake: PostgreSQL + Redis"
                results.append(await measure(name, accepting(intake), pool, clients, seconds))
            # The naive router runs its passes back to back while contacts pour in.
            for spacing, name in (
                (0.0, "backlog, passes back to back"),
                (Settings.routing_pass_spacing, "backlog, passes spaced"),
            ):
                async with whole_hub(postgres, redis_url, spacing) as intake:
                    results.append(await measure(name, accepting(intake), pool, clients, seconds))
    return results


def report(results: list[Result], clients: int) -> None:
    base = results[0].rate
    print(f"intake over HTTP: {clients} concurrent clients, loopback, {os.cpu_count()} CPUs")
    print(f"{'endpoint':<30}{'requests':>10}{'failed':>8}{'per second':>12}{'vs bare':>10}")
    for r in results:
        print(f"{r.name:<30}{r.requests:>10}{r.failures:>8}{r.rate:>12,.0f}{r.rate / base:>9.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--postgres", default=POSTGRES, help="'' to skip PostgreSQL + Redis")
    parser.add_argument("--redis", default=REDIS, help="'' to skip PostgreSQL + Redis")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.clients, args.seconds, args.postgres, args.redis))
    report(results, args.clients)


if __name__ == "__main__":
    main()
