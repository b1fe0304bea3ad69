"""Operations report benchmark: 90 days on PostgreSQL, counted in the database.

    python -m bench.ops_report [--conversations 200000] [--messages 1000000] [--large]

Generates conversations over the last 100 days (queues, channels, 50 agents; closed,
open or abandoned; accepted and expired offers; alternating customer and agent
messages; SLA breaches; ratings), loads them with COPY into a scratch database, then
times hub.ops_report.ops_report over the last 90 days per queue by day, per agent by
week and per channel by hour. Beside it, in the same run, the naive way: fetch the
period's conversations, offers and messages and add them up in Python; the two must
agree. `--large` is 2,000,000 conversations with 10,000,000 messages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench._scratch import scratch_database
from hub.db import open_engine
from hub.migrate import upgrade
from hub.models import Agent, Conversation, Customer, Inbox, Message, Offer
from hub.ops_report import OpsOptions, ops_report

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
AGENTS = 50
QUEUES = ("billing", "support", "sales", "returns", None)
CHANNELS = ("chat", "email", "sms", "voice")
NOW = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
DAYS = 100


def conversations(count: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    for cid in range(1, count + 1):
        created = NOW - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        roll = rng.random()
        status = "abandoned" if roll < 0.08 else "assigned" if roll < 0.2 else "closed"
        agent = None if status == "abandoned" else rng.randint(1, AGENTS)
        closed = (
            created + timedelta(seconds=rng.uniform(60, 86400))
            if roll < 0.08 or roll >= 0.2
            else None
        )
        yield (
            cid, 1, 1 + cid % len(CHANNELS), CHANNELS[cid % len(CHANNELS)], status, agent,
            QUEUES[cid % len(QUEUES)], "en", 0, "", created, created, closed,
        )  # fmt: skip


COLUMNS = {
    "conversations": (
        "id", "customer_id", "inbox_id", "channel", "status", "agent_id", "required_skill",
        "language", "priority", "subject", "created_at", "updated_at", "closed_at",
    ),
    "offers": ("id", "conversation_id", "agent_id", "status", "created_at", "expires_at",
               "decided_at"),
    "messages": ("id", "conversation_id", "channel", "direction", "agent_id", "sender",
                 "subject", "text", "attachments", "delivery_status", "created_at"),
    "conversation_sla": ("conversation_id", "started_at", "closed",
                         "first_response_breached_at", "updated_at"),
    "surveys": ("id", "conversation_id", "customer_id", "channel", "address", "asked_at",
                "delivery_status", "rating", "answered_at"),
}  # fmt: skip


def related(count: int, messages: int, seed: int = 8) -> dict[str, Iterator[tuple[Any, ...]]]:
    """Offers, messages, SLA rows and surveys for the conversations, as generators
    (10,000,000 messages do not fit in memory as tuples twice)."""
    each, extra = divmod(messages, count)

    def offers() -> Iterator[tuple[Any, ...]]:
        rng, oid = random.Random(seed), 0
        for c in conversations(count):
            cid, agent, created = c[0], c[5], c[10]
            if agent is None:
                continue
            if rng.random() < 0.2:
                oid += 1
                at = created + timedelta(seconds=rng.uniform(1, 30))
                yield (oid, cid, agent, "expired", at, at, at)
            oid += 1
            at = created + timedelta(seconds=rng.expovariate(1 / 25))
            yield (oid, cid, agent, "accepted", at, at, at)

    def texts() -> Iterator[tuple[Any, ...]]:
        rng, mid = random.Random(seed + 1), 0
        for c in conversations(count):
            cid, channel, agent, at = c[0], c[3], c[5], c[10]
            for n in range(each + (1 if cid <= extra else 0)):
                mid += 1
                outgoing = n % 2 == 1 and agent is not None
                yield (
                    mid, cid, channel, "outgoing" if outgoing else "incoming",
                    agent if outgoing else None, "", "", "hello", "[]", "sent", at,
                )  # fmt: skip
                at += timedelta(seconds=rng.expovariate(1 / 300))

    def slas() -> Iterator[tuple[Any, ...]]:
        rng = random.Random(seed + 2)
        for c in conversations(count):
            if rng.random() < 0.3:
                created = c[10]
                breached = created + timedelta(hours=1) if rng.random() < 0.3 else None
                yield (c[0], created, c[4] == "closed", breached, created)

    def surveys() -> Iterator[tuple[Any, ...]]:
        rng, sid = random.Random(seed + 3), 0
        for c in conversations(count):
            if c[4] == "closed" and rng.random() < 0.25:
                sid += 1
                at = c[12]
                yield (sid, c[0], 1, c[3], "x", at, "sent", rng.randint(1, 5), at)

    return {
        "offers": offers(),
        "messages": texts(),
        "conversation_sla": slas(),
        "surveys": surveys(),
    }


async def load(url: str, count: int, messages: int) -> None:
    engine = open_engine(url)
    await upgrade(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        session.add(Customer(name="Pat"))
        for i, channel in enumerate(CHANNELS, start=1):
            session.add(Inbox(id=i, channel=channel, address=f"{channel}@example.com"))
        for i in range(1, AGENTS + 1):
            session.add(Agent(username=f"agent{i}", display_name=f"Agent {i}", password_hash="x",
                              languages=[], capacities={}))  # fmt: skip
    await engine.dispose()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.copy_records_to_table(
            "conversations", records=conversations(count), columns=list(COLUMNS["conversations"])
        )
        for table, rows in related(count, messages).items():
            await conn.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def naive(session: AsyncSession, since: datetime, until: datetime) -> dict[str, Any]:
    """Per queue and day: what one would write without GROUP BY (fetch, then add up)."""
    c = Conversation
    period = (c.created_at >= since, c.created_at < until)
    rows = await session.execute(
        select(c.id, c.required_skill, c.created_at, c.status).where(*period)
    )
    key: dict[int, tuple[Any, str]] = {}
    figures: dict[tuple[Any, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for cid, skill, created, status in rows:
        k = key[cid] = (created.date(), skill or "general")
        figures[k]["contacts"] += 1
        figures[k]["abandoned"] += status == "abandoned"
    answered: dict[int, datetime] = {}
    for cid, decided in await session.execute(
        select(Offer.conversation_id, Offer.decided_at)
        .join(c, c.id == Offer.conversation_id)
        .where(Offer.status == "accepted", *period)
    ):
        if decided is not None and (cid not in answered or decided < answered[cid]):
            answered[cid] = decided
    for cid in answered:
        figures[key[cid]]["answered"] += 1
    first_in: dict[int, datetime] = {}
    outgoing: dict[int, list[datetime]] = defaultdict(list)
    stream = await session.stream(
        select(Message.conversation_id, Message.direction, Message.created_at)
        .join(c, c.id == Message.conversation_id)
        .where(*period)
        .execution_options(yield_per=50_000)
    )
    async for cid, direction, at in stream:
        if direction == "incoming":
            if cid not in first_in or at < first_in[cid]:
                first_in[cid] = at
        elif direction == "outgoing":
            outgoing[cid].append(at)
    for cid, start in first_in.items():
        later = [t for t in outgoing.get(cid, ()) if t >= start]
        if later:
            figures[key[cid]]["first_responses"] += 1
            figures[key[cid]]["first_response_seconds"] += (min(later) - start).total_seconds()
    return figures


async def run(count: int, messages: int, with_baseline: bool = True) -> dict[str, Any]:
    async with scratch_database(POSTGRES) as url:
        started = time.perf_counter()
        await load(url, count, messages)
        loaded = time.perf_counter() - started
        print(f"loaded {count:,} conversations, {messages:,} messages in {loaded:.0f} s",
              flush=True)  # fmt: skip
        engine = open_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        until = NOW.replace(tzinfo=UTC)
        since = until - timedelta(days=90)
        timings: dict[str, float] = {}
        async with sessions() as session:
            for by, bucket in (("queue", "day"), ("agent", "week"), ("channel", "hour")):
                options = OpsOptions(since, until, by, bucket, "Europe/Berlin")  # type: ignore[arg-type]
                started = time.perf_counter()
                rows = await ops_report(session, options)
                timings[f"{by}/{bucket}"] = time.perf_counter() - started
                print(f"report by {by} per {bucket}: {len(rows):,} rows in "
                      f"{timings[f'{by}/{bucket}']:.2f} s", flush=True)  # fmt: skip
            utc_day = OpsOptions(since, until, "queue", "day", "UTC")
            rows = await ops_report(session, utc_day)
            started = time.perf_counter()
            baseline = await naive(session, since, until) if with_baseline else {}
            naive_seconds = time.perf_counter() - started
        await engine.dispose()
    measured = {"conversations": count, "messages": messages, "load_seconds": round(loaded, 1),
                "report_seconds": {k: round(v, 2) for k, v in timings.items()}}  # fmt: skip
    if not with_baseline:
        return measured
    in_db = {(r.bucket.date(), r.key): r for r in rows}
    for k, f in baseline.items():
        row = in_db[k]
        assert (row.contacts, row.answered, row.abandoned, row.first_responses) == (
            f["contacts"], f["answered"], f["abandoned"], f["first_responses"]
        ), (k, row, f)  # fmt: skip
        assert abs(row.first_response_seconds - f["first_response_seconds"]) < 1
    assert len(in_db) == len(baseline)
    queue_day = timings["queue/day"]
    result = {
        **measured,
        "naive_seconds": round(naive_seconds, 2),
        "naive_over_database": round(naive_seconds / queue_day, 1),
    }
    print(f"90 days per queue by day: {queue_day:.2f} s in the database, "
          f"{naive_seconds:.2f} s fetched and added up in Python (and counting less): "
          f"{naive_seconds / queue_day:.1f}x", flush=True)  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ops_report")
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--large", action="store_true", help="2M conversations, 10M messages")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="time the report only (the Python baseline over 10M messages takes many minutes)",
    )
    args = parser.parse_args(argv)
    if args.large:
        args.conversations, args.messages = 2_000_000, 10_000_000
    print(
        json.dumps(
            asyncio.run(run(args.conversations, args.messages, not args.no_baseline)), indent=2
        )
    )


if __name__ == "__main__":
    main()
