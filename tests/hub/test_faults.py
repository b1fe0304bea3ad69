"""Faults injected into real processes: stored means served, whatever breaks.

Two `switchboard serve` processes share a private PostgreSQL cluster and a private
redis-server (tests/servers.py), never the machine's shared ones. Signed SMS webhooks
arrive at both processes, retried on failure as a provider would, while one fault at a
time strikes: a hub killed with -9, Redis shut down and restarted, Redis restarted from
an older snapshot, Redis flushed, Redis frozen, PostgreSQL stopped during a routing
pass. After each, within a bounded time: no acknowledged contact lost, none stored
twice, none stored but never offered, no agent capacity leaked.

Agents here never answer, so every stored contact must end up offered (they have room
for all of them); their load on Redis must equal what the database gives them.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from twilio.request_validator import RequestValidator

from hub.db import open_engine
from hub.migrate import upgrade
from hub.models import Agent
from tests.conftest import run_blocking
from tests.servers import PrivatePostgres, PrivateRedis, free_port, healthy, serve, stop

PUBLIC_URL = "https://hub.example.test"
AUTH_TOKEN = "fault-test-twilio-token"
ACCOUNT = "AC" + "0" * 32
AGENTS = ("alice", "bob")
RECOVERY_LIMIT = 30.0  # seconds after a fault ends by which everything must be right again


@dataclass
class Round:
    """One fault's figures."""

    fault: str
    sent: int = 0
    acknowledged: set[str] = field(default_factory=set)
    lost: int = 0
    duplicated: int = 0
    stranded: int = 0
    leaked: int = 0
    recovered_in: float = 0.0

    def row(self) -> str:
        return (
            f"| {self.fault} | {self.sent} | {len(self.acknowledged)} | {self.lost} |"
            f" {self.duplicated} | {self.stranded} | {self.leaked} | {self.recovered_in:.1f} s |"
        )


@dataclass
class Cluster:
    postgres: PrivatePostgres
    redis: PrivateRedis
    folder: Path
    ports: list[int]
    hubs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres.port}/postgres"

    def start_hub(self, port: int) -> None:
        settings = {
            "SWITCHBOARD_DATABASE_URL": self.postgres.url,
            "SWITCHBOARD_REDIS_URL": self.redis.url,
            "SWITCHBOARD_SECRET_KEY": "fault-test-secret",
            "SWITCHBOARD_PORT": str(port),
            "SWITCHBOARD_SMTP_PORT": "0",
            "SWITCHBOARD_PUBLIC_URL": PUBLIC_URL,
            "SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT,
            "SWITCHBOARD_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SWITCHBOARD_KNOWLEDGE_EMBEDDINGS": "false",
            "SWITCHBOARD_MIGRATE_ON_START": "false",
            "SWITCHBOARD_ROUTING_TICK": "0.1",
            "SWITCHBOARD_RECONCILE_INTERVAL": "1",
            "SWITCHBOARD_REDIS_TIMEOUT": "0.5",
            "SWITCHBOARD_DATABASE_TIMEOUT": "3",
            "SWITCHBOARD_OFFER_TIMEOUT": "3600",
            "SWITCHBOARD_ROUTING_KEYWORDS": "",
        }
        self.hubs[port] = serve(settings, self.folder / f"hub-{port}.log")

    def kill_hub(self, port: int) -> None:
        process = self.hubs.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        stop(self.hubs.values())
        self.hubs.clear()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("faults")
    postgres = PrivatePostgres()
    redis = PrivateRedis(folder / "redis")
    postgres.init()
    postgres.start()
    redis.start()
    running = Cluster(postgres, redis, folder, [free_port(), free_port()])
    try:
        run_blocking(_prepare(postgres.url))
        for port in running.ports:
            running.start_hub(port)
        for port in running.ports:
            run_blocking(healthy(port))
        yield running
    finally:
        running.stop_all()
        redis.stop()
        postgres.remove()


async def _prepare(url: str) -> None:
    """The schema, and two agents with room for every contact the faults send (away
    until the first fault makes them available)."""
    engine = open_engine(url)
    await upgrade(engine)
    async with engine.begin() as connection:
        for name in AGENTS:
            await connection.execute(
                Agent.__table__.insert().values(
                    username=name,
                    display_name=name.title(),
                    password_hash="-",
                    role="agent",
                    status="away",
                    capacities={"sms": 1000},
                    languages=["en"],
                    missed_offers=0,
                    team="",
                )
            )
    await engine.dispose()


class Provider:
    """Sends signed SMS webhooks to the hubs, and retries what was not acknowledged."""

    def __init__(self, cluster: Cluster, figures: Round) -> None:
        self._cluster = cluster
        self._figures = figures
        self._validator = RequestValidator(AUTH_TOKEN)
        self._tasks: list[asyncio.Task[None]] = []

    async def send(self, count: int, per_second: float = 20.0) -> None:
        for _ in range(count):
            number = next(self._cluster.numbers)
            self._tasks.append(asyncio.create_task(self._deliver(number)))
            self._figures.sent += 1
            await asyncio.sleep(1 / per_second)

    async def settle(self) -> None:
        await asyncio.gather(*self._tasks)
        self._tasks.clear()

    async def _deliver(self, number: int) -> None:
        sid = f"SM{number:032d}"
        form = {
            "MessageSid": sid,
            "AccountSid": ACCOUNT,
            "From": f"+1415{number:07d}",
            "To": "+14155550199",
            "Body": f"Message {number}",
            "NumMedia": "0",
        }
        path = "/webhooks/twilio/sms"
        headers = {"X-Twilio-Signature": self._validator.compute_signature(PUBLIC_URL + path, form)}
        timeout = aiohttp.ClientTimeout(total=3)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for attempt in range(4):  # a provider retries for a while, then gives up
                port = random.choice(self._cluster.ports)
                try:
                    async with http.post(
                        f"http://127.0.0.1:{port}{path}", data=form, headers=headers
                    ) as answer:
                        if answer.status == 200:
                            self._figures.acknowledged.add(sid)
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.5 * (attempt + 1))


async def _check(cluster: Cluster, figures: Round) -> bool:
    """Count what is wrong now; True when nothing is."""
    connection = await asyncpg.connect(cluster.dsn, timeout=2)
    try:
        stored = [
            r["external_id"] for r in await connection.fetch("SELECT external_id FROM messages")
        ]
        stranded = await connection.fetchval(
            "SELECT count(*) FROM conversations WHERE status = 'queued'"
        )
        loads = {
            (r["agent_id"]): r["n"]
            for r in await connection.fetch(
                "SELECT agent_id, count(*) AS n FROM offers WHERE status = 'pending'"
                " GROUP BY agent_id"
            )
        }
        agents = [r["id"] for r in await connection.fetch("SELECT id FROM agents")]
    finally:
        await connection.close()
    redis = Redis.from_url(cluster.redis.url, socket_timeout=2)
    try:
        live = {a: int(await redis.hget(f"sb:load:{a}", "sms") or 0) for a in agents}  # type: ignore[misc]
    finally:
        await redis.aclose()
    figures.lost = len(figures.acknowledged - set(stored))
    figures.duplicated = len(stored) - len(set(stored))
    figures.stranded = int(stranded)
    figures.leaked = sum(abs(live[a] - loads.get(a, 0)) for a in agents)
    return not (figures.lost or figures.duplicated or figures.stranded or figures.leaked)


async def _recovered(cluster: Cluster, figures: Round, since: float) -> None:
    deadline = since + RECOVERY_LIMIT
    while True:
        try:
            if await _check(cluster, figures):
                figures.recovered_in = time.monotonic() - since
                print(f"\n{figures.row()}")
                return
        except (OSError, asyncpg.PostgresError, RedisError):
            pass  # the servers are still coming back
        if time.monotonic() > deadline:
            raise AssertionError(f"not recovered in {RECOVERY_LIMIT} s: {figures.row()}")
        await asyncio.sleep(0.2)


async def _available(cluster: Cluster) -> None:
    connection = await asyncpg.connect(cluster.dsn)
    try:
        await connection.execute("UPDATE agents SET status = 'available'")
    finally:
        await connection.close()


async def test_two_hubs_start_on_a_fresh_cluster(cluster: Cluster) -> None:
    # First, so that the faults below each have their whole time for themselves.
    for port in cluster.ports:
        await healthy(port, limit=5)


async def test_postgresql_stopped_during_a_routing_pass(cluster: Cluster) -> None:
    figures = Round("PostgreSQL stopped (immediate) during a routing pass, 4 s")
    provider = Provider(cluster, figures)
    await provider.send(40, per_second=40)
    await provider.settle()
    await _available(cluster)  # a pass starts offering 40 contacts...
    await asyncio.sleep(0.15)
    cluster.postgres.stop("immediate")  # ...and the database goes away under it
    try:
        await asyncio.sleep(4)
    finally:
        cluster.postgres.start()
    await _recovered(cluster, figures, time.monotonic())


async def test_a_hub_killed_under_load(cluster: Cluster) -> None:
    await _available(cluster)  # whichever faults ran before, or none
    figures = Round("kill -9 of one hub under load")
    provider = Provider(cluster, figures)
    sending = asyncio.create_task(provider.send(40))
    await asyncio.sleep(1.5)
    victim = cluster.ports[0]
    cluster.kill_hub(victim)
    await sending
    cluster.start_hub(victim)
    await healthy(victim)
    await provider.settle()
    await _recovered(cluster, figures, time.monotonic())


async def test_redis_shut_down_and_restarted(cluster: Cluster) -> None:
    await _available(cluster)  # whichever faults ran before, or none
    figures = Round("Redis SHUTDOWN SAVE, 3 s, restart")
    provider = Provider(cluster, figures)
    sending = asyncio.create_task(provider.send(40))
    await asyncio.sleep(1)
    cluster.redis.shutdown(save=True)
    try:
        await asyncio.sleep(3)
    finally:
        cluster.redis.start()
    await sending
    await provider.settle()
    await _recovered(cluster, figures, time.monotonic())


async def test_redis_restarted_from_an_older_snapshot(cluster: Cluster) -> None:
    await _available(cluster)  # whichever faults ran before, or none
    figures = Round("Redis restarted from an older snapshot")
    provider = Provider(cluster, figures)
    snapshot = cluster.redis.snapshot()
    await provider.send(40)
    await provider.settle()
    cluster.redis.restart_from(snapshot)  # forgets those contacts and their offers
    await _recovered(cluster, figures, time.monotonic())


async def test_redis_flushed(cluster: Cluster) -> None:
    await _available(cluster)  # whichever faults ran before, or none
    figures = Round("Redis FLUSHALL under load")
    provider = Provider(cluster, figures)
    sending = asyncio.create_task(provider.send(40))
    await asyncio.sleep(1)
    cluster.redis.cli("FLUSHALL")
    await sending
    await provider.settle()
    await _recovered(cluster, figures, time.monotonic())


async def test_redis_frozen_and_thawed(cluster: Cluster) -> None:
    await _available(cluster)  # whichever faults ran before, or none
    figures = Round("Redis SIGSTOP 3 s, SIGCONT")
    provider = Provider(cluster, figures)
    sending = asyncio.create_task(provider.send(40))
    await asyncio.sleep(1)
    cluster.redis.freeze()
    try:
        await asyncio.sleep(3)
    finally:
        cluster.redis.thaw()
    await sending
    await provider.settle()
    await _recovered(cluster, figures, time.monotonic())
