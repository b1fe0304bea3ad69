"""Webhooks through a crash: two `switchboard serve` processes on a private PostgreSQL and
Redis deliver to a slow receiver while SMS arrive; both are killed with -9 while
deliveries are in flight, then restarted. Every event the hubs stored must reach the
receiver at least once, signed, each customer's in order; the only duplicates allowed are
the deliveries cut off by the kill.

The figures (emitted, delivered, attempts, retried, duplicates, lost) are printed for
the record: `pytest tests/hub/test_webhook_faults.py -s`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from hub.db import open_engine
from hub.migrate import upgrade
from hub.models import WebhookSubscription, utcnow
from hub.outbox import new_secret
from tests.hub.test_faults import ACCOUNT, AUTH_TOKEN, PUBLIC_URL, Cluster, Round
from tests.hub.webhook_receiver import Receiver
from tests.servers import PrivatePostgres, PrivateRedis, free_port, healthy, serve, stop

pytestmark = pytest.mark.timeout(180)  # a PostgreSQL cluster and four hub starts
DELIVERY_LIMIT = 60.0  # seconds after the restart by which every event must have landed
SMS = 60
CUSTOMERS = 20


class WebhookCluster(Cluster):
    def start_hub(self, port: int) -> None:
        settings = {
            "SWITCHBOARD_DATABASE_URL": self.postgres.url,
            "SWITCHBOARD_REDIS_URL": self.redis.url,
            "SWITCHBOARD_SECRET_KEY": "webhook-fault-secret",
            "SWITCHBOARD_PORT": str(port),
            "SWITCHBOARD_SMTP_PORT": "0",
            "SWITCHBOARD_PUBLIC_URL": PUBLIC_URL,
            "SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT,
            "SWITCHBOARD_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SWITCHBOARD_KNOWLEDGE_EMBEDDINGS": "false",
            "SWITCHBOARD_MIGRATE_ON_START": "false",
            "SWITCHBOARD_ROUTING_KEYWORDS": "",
            "SWITCHBOARD_WEBHOOK_INTERVAL": "0.1",
            "SWITCHBOARD_WEBHOOK_LEASE": "3",
            "SWITCHBOARD_WEBHOOK_FIRST_RETRY": "0.2",
            "SWITCHBOARD_WEBHOOK_TIMEOUT": "5",
        }
        self.hubs[port] = serve(settings, self.folder / f"hub-{port}.log")


@pytest.fixture
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    folder = tmp_path_factory.mktemp("webhook-faults")
    postgres, redis = PrivatePostgres(), PrivateRedis(folder / "redis")
    postgres.init()
    postgres.start()
    redis.start()
    try:
        yield postgres, redis
    finally:
        redis.stop()
        postgres.remove()


async def _subscribe(url: str, receiver_url: str) -> str:
    engine = open_engine(url)
    await upgrade(engine)
    secret = new_secret()
    async with engine.begin() as connection:
        await connection.execute(
            WebhookSubscription.__table__.insert().values(
                url=receiver_url,
                description="fault test",
                event_types=["contact.queued", "message.received"],
                secret=secret,
                active=True,
                created_at=utcnow(),
            )
        )
    await engine.dispose()
    return secret


@dataclass
class Tracking(Receiver):
    """Says when a delivery arrives after ten, so the kill lands while one is being made."""

    in_flight: int = 0
    busy: asyncio.Event = field(default_factory=asyncio.Event)

    async def _receive(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        if len(self.received) >= 10:
            self.busy.set()  # ten made, and this one in flight
        try:
            return await super()._receive(request)
        finally:
            self.in_flight -= 1


async def test_every_event_lands_at_least_once_across_a_kill_of_every_hub(
    servers: tuple[PrivatePostgres, PrivateRedis], tmp_path: Any
) -> None:
    postgres, redis = servers
    arrivals = iter(range(1_000_000))

    def answer(body: dict[str, Any]) -> int:
        return 503 if next(arrivals) % 7 == 3 else 200  # every seventh answer fails

    async with Tracking(delay=1.0, answer=answer) as receiver:
        receiver.secret = await _subscribe(postgres.url, receiver.url)
        cluster = WebhookCluster(postgres, redis, tmp_path, [free_port(), free_port()])
        figures = Round("webhooks: kill -9 of every hub mid-delivery")
        try:
            for port in cluster.ports:
                cluster.start_hub(port)
            for port in cluster.ports:
                await healthy(port)
            # Twenty customers writing three times each: order per customer is tested.
            await _send_sms(cluster, figures)
            receiver.busy.clear()
            await receiver.busy.wait()  # a delivery has just reached the slow receiver
            for port in list(cluster.hubs):
                cluster.kill_hub(port)
            cut_off = await _in_flight(postgres)
            for port in cluster.ports:
                cluster.start_hub(port)
            for port in cluster.ports:
                await healthy(port)
            restarted = time.monotonic()
            emitted, retried = await _wait_all_delivered(postgres, restarted)
        finally:
            stop(cluster.hubs.values())
    delivered = [r for r in receiver.received if r.answered < 300]
    ids = [r.webhook_id for r in delivered]
    unique = set(ids)
    duplicates = len(ids) - len(unique)
    lost = len(set(emitted) - unique)
    attempts = len(receiver.received)
    failed_answers = attempts - len(ids)
    print(
        f"\n| {figures.fault} | SMS acknowledged {len(figures.acknowledged)} |"
        f" events emitted {len(emitted)} | delivered {len(unique)} | attempts {attempts} |"
        f" answered 503 {failed_answers} | retried {retried} | duplicates {duplicates} |"
        f" cut off by the kill {cut_off} |"
        f" lost {lost} | forged {receiver.forged} |"
    )
    assert lost == 0 and receiver.forged == 0
    assert retried > 0 and failed_answers > 0  # failed answers were tried again (and landed)
    assert duplicates <= cut_off  # only what the kill cut off went twice
    assert len(emitted) == SMS + CUSTOMERS  # each SMS received, each customer's chat queued
    first_seen: dict[int, list[int]] = {}
    seen: set[str] = set()
    for r in delivered:
        if r.webhook_id not in seen:
            seen.add(r.webhook_id)
            first_seen.setdefault(r.data["customer_id"], []).append(int(r.webhook_id[4:]))
    assert all(events == sorted(events) for events in first_seen.values())


async def _in_flight(postgres: PrivatePostgres) -> int:
    """Deliveries a hub held (claimed, not yet settled) when it died."""
    connection = await asyncpg.connect(_dsn(postgres))
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM webhook_deliveries"
                " WHERE status = 'pending' AND lease_until IS NOT NULL"
            )
        )
    finally:
        await connection.close()


def _dsn(postgres: PrivatePostgres) -> str:
    return f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres"


async def _send_sms(cluster: Cluster, figures: Round) -> None:
    """SMS from twenty numbers, three each, signed as Twilio signs them, all acknowledged."""
    validator = RequestValidator(AUTH_TOKEN)
    path = "/webhooks/twilio/sms"
    async with aiohttp.ClientSession() as http:
        for n in range(SMS):
            sid = f"SM{n:032d}"
            form = {
                "MessageSid": sid,
                "AccountSid": ACCOUNT,
                "From": f"+1415{n % CUSTOMERS:07d}",
                "To": "+14155550199",
                "Body": f"Message {n}",
                "NumMedia": "0",
            }
            signature = validator.compute_signature(PUBLIC_URL + path, form)
            port = cluster.ports[n % len(cluster.ports)]
            async with http.post(
                f"http://127.0.0.1:{port}{path}",
                data=form,
                headers={"X-Twilio-Signature": signature},
            ) as answer:
                assert answer.status == 200
            figures.sent += 1
            figures.acknowledged.add(sid)


async def _wait_all_delivered(postgres: PrivatePostgres, since: float) -> tuple[list[str], int]:
    """The ids of every stored event, once each one's delivery is made, and how many
    deliveries took more than one attempt."""
    connection = await asyncpg.connect(_dsn(postgres))
    try:
        while True:
            pending = await connection.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
            )
            if pending == 0:
                break
            if time.monotonic() - since > DELIVERY_LIMIT:
                raise AssertionError(f"{pending} deliveries still not made")
            await asyncio.sleep(0.2)
        received = await connection.fetchval(
            "SELECT count(*) FROM messages WHERE direction = 'incoming'"
        )
        announced = await connection.fetchval(
            "SELECT count(*) FROM outbox_events WHERE event_type = 'message.received'"
        )
        assert received == announced  # stored with its event, or neither
        retried = await connection.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE attempts > 1"
        )
        events = await connection.fetch("SELECT id FROM outbox_events")
        return [f"msg_{r['id']}" for r in events], int(retried)
    finally:
        await connection.close()
