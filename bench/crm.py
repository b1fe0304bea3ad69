"""CRM benchmark: customer search and the customer page on a large generated database.

    python -m bench.crm [--database postgres|sqlite] [--customers 1000000] [--queries 400]

Generates N customers (names with a realistic skew, phones, emails, external ids, a
conversation for a third of them), loads them in bulk, builds the identity index the
hub holds, then times `GET /api/customers?q=`'s code path (agent_console.customer_search
.find_customers) as an admin (no scope) and as an agent (scope by conversations), with
queries as agents type them: a phone number formatted, an email in capitals, an
external id, the start of a surname, a full name with a typo. Beside it, in the same run,
a naive search: ILIKE '%q%' over names, addresses and external ids. Then the customer
page (agent_console.customer_page.customer_record) of a customer with 10,000 events.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent_console.customer_page import customer_record
from agent_console.customer_search import SearchParams, find_customers
from agent_console.search import SearchQuery, find_messages
from bench._scratch import scratch_database
from bench.identity import Population, percentile
from hub.db import open_engine
from hub.migrate import upgrade
from hub.models import Agent, Customer
from hub.names import name_key, surname_key
from routing.identity.index import CustomerIndex
from routing.identity.profile import Profile

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
AGENTS = 50
PAGE_EVENTS = 10_000
CHANNELS = ("chat", "email", "sms", "voice")
NOW = datetime.now(UTC).replace(tzinfo=None)


def generate(
    count: int, messages_each: int, seed: int = 11
) -> tuple[list[Profile], dict[str, list[tuple[Any, ...]]]]:
    """Profiles for the index and rows for every table, ids from 1."""
    rng = random.Random(seed)
    people = Population(seed).people(count)
    rows: dict[str, list[tuple[Any, ...]]] = {
        "customers": [],
        "customer_addresses": [],
        "conversations": [],
    }
    address_id = conversation_id = message_id = 0
    rows["messages"] = []
    taken: set[str] = set()
    words = Vocabulary(seed)
    for n, p in enumerate(people, start=1):
        # an address belongs to one customer: a generated one already taken is dropped
        if p.email in taken or p.phone in taken:
            p = people[n - 1] = replace(
                p,
                email="" if p.email in taken else p.email,
                phone="" if p.phone in taken else p.phone,
            )
        taken.update(a for a in (p.email, p.phone) if a)
        name = f"{p.given_name.title()} {p.surname.title()}"
        segment = "vip" if rng.random() < 0.1 else "standard"
        created = NOW - timedelta(days=rng.randint(0, 900))
        rows["customers"].append(
            (
                n,
                name,
                segment,
                f"EXT-{n:07}",
                created,
                "{}",
                name_key(name),
                surname_key(name),
                "[]",
            )
        )
        if p.email:
            address_id += 1
            rows["customer_addresses"].append((address_id, n, "email", p.email, created))
        if p.phone:
            address_id += 1
            rows["customer_addresses"].append((address_id, n, "sms", p.phone, created))
        if n % 3 == 0:
            conversation_id += 1
            channel = CHANNELS[n % 4]
            at = NOW - timedelta(minutes=rng.randint(0, 90 * 24 * 60))
            rows["conversations"].append(
                (conversation_id, n, 1 + n % 4, channel, "closed", 1 + n % AGENTS, at, at, at)
                + ("en", 0, "")
            )
            for k in range(messages_each):
                message_id += 1
                direction = ("incoming", "outgoing", "note")[k % 3]
                rows["messages"].append(
                    (message_id, conversation_id, channel, direction, words.sentence())
                    + ("", at + timedelta(minutes=k), "[]", "received", "")
                )
    return people, rows


class Vocabulary:
    """Message text: words with a Zipf-like skew, as in real conversations."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
        found: set[str] = set()
        while len(found) < 20_000:
            found.add("".join(self.rng.choices(syllables, k=self.rng.randint(1, 4))))
        self.words = sorted(found)
        self.rng.shuffle(self.words)
        weights = [1 / (r + 1) for r in range(len(self.words))]
        self.pool = self.rng.choices(self.words, weights, k=200_000)

    def sentence(self) -> str:
        start = self.rng.randrange(len(self.pool) - 20)
        return " ".join(self.pool[start : start + self.rng.randint(6, 20)])


COLUMNS = {
    "customers": (
        "id",
        "name",
        "segment",
        "external_id",
        "created_at",
        "details",
        "name_key",
        "surname_key",
        "labels",
    ),
    "customer_addresses": ("id", "customer_id", "channel", "address", "created_at"),
    "conversations": (
        "id",
        "customer_id",
        "inbox_id",
        "channel",
        "status",
        "agent_id",
        "created_at",
        "updated_at",
        "closed_at",
        "language",
        "priority",
        "subject",
    ),
    "messages": (
        "id",
        "conversation_id",
        "channel",
        "direction",
        "text",
        "subject",
        "created_at",
        "attachments",
        "delivery_status",
        "sender",
    ),
}


def fixed_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Agents and inboxes the generated conversations point at."""
    return {
        "agents": [
            (i, f"agent{i}", f"Agent {i}", "x", "admin" if i == 1 else "agent", "offline", NOW)
            + ("[]", "{}")
            for i in range(1, AGENTS + 1)
        ],
        "inboxes": [(i, c, f"{c}-inbox", c, NOW) for i, c in enumerate(CHANNELS, start=1)],
    }


FIXED_COLUMNS = {
    "agents": (
        "id",
        "username",
        "display_name",
        "password_hash",
        "role",
        "status",
        "created_at",
        "languages",
        "capacities",
    ),
    "inboxes": ("id", "channel", "address", "name", "created_at"),
}


async def load_postgres(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for table, columns in {**FIXED_COLUMNS, **COLUMNS}.items():
            await conn.copy_records_to_table(table, records=rows[table], columns=list(columns))
        for table in (*FIXED_COLUMNS, *COLUMNS, "timeline_events"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def load_sqlite(path: Path, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    db = sqlite3.connect(path)
    try:
        for table, columns in {**FIXED_COLUMNS, **COLUMNS}.items():
            marks = ", ".join("?" for _ in columns)
            db.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [
                    tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in r)
                    for r in rows[table]
                ],
            )
        db.commit()
        db.execute("ANALYZE")
    finally:
        db.close()


def _sqlite(value: Any) -> Any:
    return value.isoformat(" ") if isinstance(value, datetime) else value


def queries(people: list[Profile], count: int, seed: int = 5) -> list[tuple[str, str, int]]:
    """(kind, what an agent types, the customer meant) in equal shares of five kinds."""
    rng = random.Random(seed)
    population = Population(seed)
    found: list[tuple[str, str, int]] = []
    while len(found) < count:
        n = rng.randrange(len(people))
        p, customer_id = people[n], n + 1
        kind = ("phone", "email", "external id", "surname start", "name with typo")[len(found) % 5]
        if kind == "phone" and p.phone:
            digits = p.phone[2:]
            found.append((kind, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", customer_id))
        elif kind == "email" and p.email:
            found.append((kind, p.email.upper(), customer_id))
        elif kind == "external id":
            found.append((kind, f"EXT-{customer_id:07}", customer_id))
        elif kind == "surname start":
            found.append((kind, p.surname[:4].title(), customer_id))
        elif kind == "name with typo":
            found.append(
                (kind, f"{p.given_name.title()} {population.typo(p.surname).title()}", customer_id)
            )
    return found


NAIVE = """
SELECT c.id FROM customers c
WHERE c.merged_into_id IS NULL AND (
    c.name {like} :pattern OR c.external_id {like} :pattern
    OR EXISTS (SELECT 1 FROM customer_addresses a
               WHERE a.customer_id = c.id AND a.address {like} :pattern))
ORDER BY c.id LIMIT 25
"""


@asynccontextmanager
async def database(kind: str) -> AsyncIterator[tuple[str, Path | None]]:
    if kind == "postgres":
        async with scratch_database(POSTGRES) as url:
            yield url, None
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "crm.db"
            yield f"sqlite+aiosqlite:///{path}", path


def ms(values: Sequence[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1)


async def run(kind: str, customers: int, count: int, messages_each: int) -> list[dict[str, Any]]:
    started = time.perf_counter()
    people, rows = generate(customers, messages_each)
    rows.update(fixed_rows())
    print(
        f"generated {customers:,} customers, {len(rows['messages']):,} messages"
        f" in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    report: list[dict[str, Any]] = []
    async with database(kind) as (url, path):
        engine = open_engine(url)
        await upgrade(engine)
        started = time.perf_counter()
        if path is None:
            await load_postgres(url, rows)
        else:
            await engine.dispose()
            load_sqlite(path, rows)
            engine = open_engine(url)
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
        index = CustomerIndex()
        index.add_many(enumerate(people, start=1))
        # As a served hub does: what lives as long as the process stays out of full
        # garbage collections, which would otherwise walk a million profiles each time.
        gc.collect()
        gc.freeze()
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        asked = queries(people, count)
        async with sessions() as session:
            admin = await session.get(Agent, 1)
            agent = await session.get(Agent, 2)
            assert admin is not None and agent is not None
            for viewer, label in ((admin, "admin"), (agent, "agent")):
                times: dict[str, list[float]] = {}
                found: dict[str, list[bool]] = {}
                for _what, typed, _meant in asked[:20]:  # warm caches and the connection
                    await find_customers(session, index, "US", viewer, SearchParams(q=typed))
                gc.collect()
                for what, typed, meant in asked:
                    t = time.perf_counter()
                    page = await find_customers(
                        session, index, "US", viewer, SearchParams(q=typed, limit=25)
                    )
                    times.setdefault(what, []).append(time.perf_counter() - t)
                    found.setdefault(what, []).append(any(c.id == meant for c in page.customers))
                every = [x for xs in times.values() for x in xs]
                report.append(
                    {
                        "task": f"customer search as {label}",
                        "p50_ms": ms(every, 0.5),
                        "p99_ms": ms(every, 0.99),
                        # how often the customer meant is on the first page (an agent
                        # sees few customers, so only the admin's figure says much)
                        "found_on_first_page": {
                            k: round(sum(v) / len(v), 3) for k, v in found.items()
                        },
                        "by_kind_p99_ms": {k: ms(v, 0.99) for k, v in times.items()},
                    }
                )
            like = "ILIKE" if kind == "postgres" else "LIKE"
            naive = text(NAIVE.format(like=like))
            naive_times = []
            for _what, typed, _meant in asked[: max(25, count // 8)]:
                t = time.perf_counter()
                await session.execute(naive, {"pattern": f"%{typed}%"})
                naive_times.append(time.perf_counter() - t)
            report.append(
                {
                    "task": f"naive {like} '%q%' scan",
                    "p50_ms": ms(naive_times, 0.5),
                    "p99_ms": ms(naive_times, 0.99),
                    "queries": len(naive_times),
                }
            )
        report += await conversation_search(sessions, kind, count)
        report.append(await customer_page(sessions, customers))
        await engine.dispose()
    return report


NAIVE_MESSAGES = """
SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE {where} ORDER BY m.created_at DESC, m.id DESC LIMIT 20
"""


async def conversation_search(sessions: Any, kind: str, count: int) -> list[dict[str, Any]]:
    """Words as agents search them: one rare, one common-ish, two together."""
    rng = random.Random(3)
    vocabulary = Vocabulary(11).words
    asked: list[tuple[str, str]] = []
    for n in range(count):
        middling = rng.choice(vocabulary[50:2000])
        if n % 3 == 0:
            asked.append(("rare word", rng.choice(vocabulary[2000:])))
        elif n % 3 == 1:
            asked.append(("two words", f"{middling} {rng.choice(vocabulary[50:2000])}"))
        else:
            asked.append(("common word", middling))
    report = []
    async with sessions() as session:
        for viewer_id, label in ((1, "admin"), (2, "agent")):
            viewer = await session.get(Agent, viewer_id)
            assert viewer is not None
            times: dict[str, list[float]] = {}
            for what, words in asked:
                t = time.perf_counter()
                await find_messages(session, viewer, SearchQuery(q=words))
                times.setdefault(what, []).append(time.perf_counter() - t)
            every = [x for xs in times.values() for x in xs]
            report.append(
                {
                    "task": f"conversation search as {label}",
                    "p50_ms": ms(every, 0.5),
                    "p99_ms": ms(every, 0.99),
                    "by_kind_p99_ms": {k: ms(v, 0.99) for k, v in times.items()},
                }
            )
        like = "ILIKE" if kind == "postgres" else "LIKE"
        naive_times = []
        for _what, words in asked[: max(20, count // 10)]:
            terms = words.split()
            where = " AND ".join(f"m.text {like} :w{i}" for i in range(len(terms)))
            t = time.perf_counter()
            await session.execute(
                text(NAIVE_MESSAGES.format(where=where)),
                {f"w{i}": f"%{w}%" for i, w in enumerate(terms)},
            )
            naive_times.append(time.perf_counter() - t)
        report.append(
            {
                "task": f"naive messages {like} '%word%' scan",
                "p50_ms": ms(naive_times, 0.5),
                "p99_ms": ms(naive_times, 0.99),
                "queries": len(naive_times),
            }
        )
    return report


async def customer_page(sessions: Any, customers: int) -> dict[str, Any]:
    """The page of a customer with 10,000 timeline events, newest 50 shown."""
    customer_id = customers // 2
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO timeline_events (customer_id, kind, summary, data, created_at)"
                " VALUES (:c, 'message.received', :s, '{}', :at)"
            ),
            [
                {"c": customer_id, "s": f"event {n}", "at": NOW - timedelta(minutes=n)}
                for n in range(PAGE_EVENTS)
            ],
        )
    times = []
    async with sessions() as session:
        for _ in range(200):
            session.expunge_all()
            t = time.perf_counter()
            customer = await session.get(Customer, customer_id)
            assert customer is not None
            record = await customer_record(session, customer)
            times.append(time.perf_counter() - t)
    assert len(record.timeline.events) == 50
    return {
        "task": f"customer page, {PAGE_EVENTS:,} timeline events",
        "p50_ms": ms(times, 0.5),
        "p99_ms": ms(times, 0.99),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.crm")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--messages-each", type=int, default=3, help="per conversation")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.database, args.customers, args.queries, args.messages_each))
    print(f"{args.database}, {args.customers:,} customers, {args.messages_each} messages each")
    for row in report:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
