"""Two `switchboard serve` processes behind HAProxy with deploy/haproxy.cfg, as
docker-compose.yml runs them: the public URL reaches both hubs over HTTP, websockets and
SMTP, each client is told apart by its own address (not the balancer's), and a hub killed
behind the balancer costs no request.

The hubs share a private PostgreSQL and redis-server (tests/servers.py). Clients connect
from their own loopback addresses (127.0.0.3, 127.0.0.4) so that the hubs can tell them
apart; the balancer reaches the hubs from 127.0.0.1, the one address they trust.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
import asyncpg
import pytest
import websockets

from hub.auth import hash_password
from hub.db import open_engine
from hub.migrate import upgrade
from hub.models import Agent, Inbox
from tests.conftest import run_blocking
from tests.servers import (
    PrivatePostgres,
    PrivateRedis,
    balancer,
    free_port,
    healthy,
    serve,
    stop,
)

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough secret"
SUPPORT = "support@acme.test"
ALICE, BOB = "127.0.0.3", "127.0.0.4"  # two clients, each on its own address
WRONG_LOGINS = 3  # per client address, before the login answers 429


@dataclass
class Balanced:
    postgres: PrivatePostgres
    redis: PrivateRedis
    folder: Path
    url: str = ""
    smtp_port: int = 0
    balancer: subprocess.Popen[bytes] | None = None
    hubs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres.port}/postgres"

    def start_hub(self, name: str) -> None:
        http, smtp = self.ports[name]
        settings = {
            "SWITCHBOARD_DATABASE_URL": self.postgres.url,
            "SWITCHBOARD_REDIS_URL": self.redis.url,
            "SWITCHBOARD_SECRET_KEY": "balancer-test-secret",
            "SWITCHBOARD_PORT": str(http),
            "SWITCHBOARD_SMTP_PORT": str(smtp),
            "SWITCHBOARD_PUBLIC_URL": self.url,
            "SWITCHBOARD_TRUSTED_PROXIES": "127.0.0.1",
            "SWITCHBOARD_LOGIN_FAILURES_PER_ADDRESS": str(WRONG_LOGINS),
            "SWITCHBOARD_KNOWLEDGE_EMBEDDINGS": "false",
            "SWITCHBOARD_MIGRATE_ON_START": "false",
        }
        self.hubs[name] = serve(settings, self.folder / f"{name}.log")

    def start_balancer(self) -> None:
        self.balancer = balancer(
            self.url.removeprefix("http://"),
            f"127.0.0.1:{self.smtp_port}",
            [(f"127.0.0.1:{http}", f"127.0.0.1:{smtp}") for http, smtp in self.ports.values()],
            self.folder / "balancer.log",
        )


@pytest.fixture(scope="module")
def balanced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Balanced]:
    folder = tmp_path_factory.mktemp("balancer")
    postgres, redis = PrivatePostgres(), PrivateRedis(folder / "redis")
    postgres.init()
    postgres.start()
    redis.start()
    running = Balanced(postgres, redis, folder, f"http://127.0.0.1:{free_port()}", free_port())
    running.ports = {name: (free_port(), free_port()) for name in ("hub1", "hub2")}
    try:
        run_blocking(_prepare(postgres.url))
        for name in running.ports:
            running.start_hub(name)
        for http, _smtp in running.ports.values():
            run_blocking(healthy(http))
        running.start_balancer()
        run_blocking(_answers(running.url))
        yield running
    finally:
        stop(running.hubs.values())
        if running.balancer is not None:
            stop([running.balancer])
        redis.stop()
        postgres.remove()


async def _prepare(url: str) -> None:
    engine = open_engine(url)
    await upgrade(engine)
    async with engine.begin() as connection:
        await connection.execute(
            Inbox.__table__.insert().values(channel="email", address=SUPPORT, name="Support")
        )
        await connection.execute(
            Agent.__table__.insert().values(
                username="bob",
                display_name="Bob",
                password_hash=hash_password(PASSWORD),
                role="agent",
                status="away",
                capacities={},
                languages=["en"],
                missed_offers=0,
                team="",
            )
        )
    await engine.dispose()


async def _answers(url: str) -> None:
    """Wait until the balancer has found both hubs healthy."""
    for _ in range(100):
        served = await _served_by(url, 6)
        if served == {"hub1", "hub2"}:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the balancer never sent requests to both hubs")


async def _served_by(url: str, count: int) -> set[str]:
    seen = set()
    async with aiohttp.ClientSession() as http:
        for _ in range(count):
            try:
                async with http.get(url + "/healthz") as answer:
                    if answer.status == 200:
                        seen.add(answer.headers["X-Switchboard-Hub"])
            except aiohttp.ClientError:
                pass
    return seen


def client_from(address: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))


async def _stored(balanced: Balanced, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(balanced.dsn)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def _login(http: aiohttp.ClientSession, url: str, username: str, password: str) -> int:
    async with http.post(
        url + "/console/login",
        data={"username": username, "password": password},
        allow_redirects=False,
    ) as answer:
        return answer.status


async def test_the_public_url_spreads_requests_over_both_hubs(balanced: Balanced) -> None:
    assert await _served_by(balanced.url, 10) == {"hub1", "hub2"}


async def test_a_chat_over_the_balancer_is_stored_once(balanced: Balanced) -> None:
    ws_url = balanced.url.replace("http://", "ws://") + "/chat/ws"
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "hello", "name": "Jane"}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert welcome["type"] == "welcome"
        await ws.send(json.dumps({"type": "message", "id": "lb-1", "text": "Through the LB"}))
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "ack":
            pass
        assert frame["id"] == "lb-1"

    rows = await _stored(balanced, "SELECT text FROM messages WHERE text = 'Through the LB'")
    assert len(rows) == 1


async def test_mail_to_the_balancer_reaches_a_hub_and_is_stored(balanced: Balanced) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "jane@customer.test", SUPPORT, "Hi"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@customer.test>"
    message.set_content("Sent to the public SMTP address")
    refused, _answer = await aiosmtplib.send(
        message, hostname="127.0.0.1", port=balanced.smtp_port, timeout=10
    )

    assert refused == {}  # 250: the hub behind the balancer committed it
    rows = await _stored(
        balanced, "SELECT text FROM messages WHERE external_id = $1", message["Message-ID"]
    )
    assert [r["text"] for r in rows] == ["Sent to the public SMTP address"]


async def test_login_limits_count_each_client_not_the_balancer(balanced: Balanced) -> None:
    async with client_from(ALICE) as alice, client_from(BOB) as bob:
        for n in range(WRONG_LOGINS):
            assert await _login(alice, balanced.url, f"guess{n}", "wrong") == 401
        assert await _login(alice, balanced.url, "guess", "wrong") == 429
        # A forwarded address of her own choosing does not free her: the balancer drops it.
        alice.headers["X-Forwarded-For"] = BOB
        assert await _login(alice, balanced.url, "guess", "wrong") == 429

        # Bob, behind the same balancer, has his own count.
        assert await _login(bob, balanced.url, "bob", PASSWORD) in (302, 303)


async def test_a_hub_is_not_reachable_around_the_balancer(balanced: Balanced) -> None:
    http_port, _smtp = balanced.ports["hub1"]
    async with client_from(ALICE) as alice:
        async with alice.get(
            f"http://127.0.0.1:{http_port}/console/login", headers={"X-Forwarded-For": BOB}
        ) as answer:
            assert answer.status == 400
            assert "load balancer" in await answer.text()
        async with alice.get(f"http://127.0.0.1:{http_port}/healthz") as answer:
            assert answer.status == 200  # health checks and metrics scrapes go direct


async def test_a_hub_killed_behind_the_balancer_costs_no_request(balanced: Balanced) -> None:
    victim = balanced.hubs.pop("hub1")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    try:
        statuses = []
        async with aiohttp.ClientSession() as http:
            for _ in range(20):
                async with http.get(balanced.url + "/healthz") as answer:
                    statuses.append((answer.status, answer.headers.get("X-Switchboard-Hub")))
        assert statuses == [(200, "hub2")] * 20
    finally:
        balanced.start_hub("hub1")
        await healthy(balanced.ports["hub1"][0])
    await _answers(balanced.url)  # back in the rotation
