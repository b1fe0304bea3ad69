"""Reconciler benchmark: what one pass costs when nothing is wrong, at 10,000 waiting.

A scratch PostgreSQL database with 10,000 queued conversations, 50 agents holding 200
offers and 100 conversations between them, and the live queue on Redis built from it.
Each reconciler pass (lease, database read of what waits and of every agent's load,
live read of the same, comparison) is timed beside two baselines in the same run: a
plain read of the waiting conversations' ids (the least any check must read), and a
full rebuild (what a hub without a reconciler does when Redis is lost).

    python -m bench.reconcile [--waiting 10000] [--passes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy import insert, select

from bench._scratch import scratch_database, scratch_prefix
from hub.db import Sessions, open_engine, session_factory
from hub.migrate import upgrade
from hub.models import Agent, Conversation, Customer, Inbox, Offer, QueueEntry, utcnow
from hub.queue import RedisQueue
from hub.recovery import Reconciler, rebuild

POSTGRES = os.environ.get("SWITCHBOARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("SWITCHBOARD_TEST_REDIS", "redis://127.0.0.1:6379/0")
AGENTS = 50
OFFERED = 200
ASSIGNED = 100


async def populate(sessions: Sessions, waiting: int) -> None:
    now = utcnow()
    total = waiting + OFFERED + ASSIGNED
    async with sessions() as session, session.begin():
        inbox = Inbox(channel="chat", address="website", name="website")
        session.add(inbox)
        await session.flush()
        await session.execute(
            insert(Agent),
            [
                {"username": f"agent{i}", "display_name": f"Agent {i}", "password_hash": "x"}
                for i in range(1, AGENTS + 1)
            ],
        )
        await session.execute(insert(Customer), [{"name": f"c{i}"} for i in range(total)])
        customers = list(await session.scalars(select(Customer.id).order_by(Customer.id)))
        statuses = ["queued"] * waiting + ["offered"] * OFFERED + ["assigned"] * ASSIGNED
        await session.execute(
            insert(Conversation),
            [
                {
                    "customer_id": customer,
                    "inbox_id": inbox.id,
                    "channel": "chat",
                    "status": status,
                    "agent_id": 1 + i % AGENTS if status == "assigned" else None,
                    "subject": "hello",
                    "created_at": now - timedelta(seconds=i),
                    "updated_at": now,
                }
                for i, (customer, status) in enumerate(zip(customers, statuses, strict=True))
            ],
        )
        rows = (await session.execute(select(Conversation.id, Conversation.status))).all()
        await session.execute(
            insert(QueueEntry),
            [
                {
                    "conversation_id": cid,
                    "channel": "chat",
                    "priority": 0,
                    "enqueued_at": now,
                    "declined_by": [],
                }
                for cid, status in rows
                if status in ("queued", "offered")
            ],
        )
        offered = [cid for cid, status in rows if status == "offered"]
        await session.execute(
            insert(Offer),
            [
                {
                    "conversation_id": cid,
                    "agent_id": 1 + i % AGENTS,
                    "created_at": now,
                    "expires_at": now + timedelta(hours=1),
                }
                for i, cid in enumerate(offered)
            ],
        )


async def timed(passes: int, work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Median wall and CPU milliseconds of one call."""
    walls, cpus = [], []
    for _ in range(passes):
        wall, cpu = time.perf_counter(), time.process_time()
        await work()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


async def run(waiting: int, passes: int, postgres: str, redis_url: str) -> None:
    async with scratch_database(postgres) as url, scratch_prefix(redis_url) as prefix:
        engine = open_engine(url)
        await upgrade(engine)
        sessions = session_factory(engine)
        redis = Redis.from_url(redis_url)
        try:
            await populate(sessions, waiting)
            queue = RedisQueue(redis, prefix)
            reconciler = Reconciler(sessions, queue, interval=5.0)

            async def read_ids() -> None:
                async with sessions() as session:
                    await session.scalars(
                        select(QueueEntry.conversation_id)
                        .join(Conversation, Conversation.id == QueueEntry.conversation_id)
                        .where(Conversation.status == "queued")
                    )

            async def a_pass() -> None:
                if await reconciler.reconcile():
                    raise AssertionError("the reconciler repaired a consistent state")

            await rebuild(sessions, queue)
            assert not await reconciler.compare(), "rebuilt state should agree"
            results = {
                "plain read of the waiting ids": await timed(passes, read_ids),
                "reconciler pass (nothing wrong)": await timed(passes, a_pass),
                "full rebuild": await timed(max(3, passes // 4), lambda: rebuild(sessions, queue)),
            }
        finally:
            await redis.aclose()
            await engine.dispose()
    base_wall, base_cpu = results["plain read of the waiting ids"]
    print(f"{waiting:,} waiting, {AGENTS} agents, {OFFERED} offers, {ASSIGNED} assigned")
    for name, (wall, cpu) in results.items():
        print(
            f"  {name:34} {wall:8.1f} ms wall ({wall / base_wall:4.1f}x)"
            f"  {cpu:8.1f} ms CPU ({cpu / base_cpu:4.1f}x)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--redis", default=REDIS)
    args = parser.parse_args(argv)
    asyncio.run(run(args.waiting, args.passes, args.postgres, args.redis))


if __name__ == "__main__":
    main()
