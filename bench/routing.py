"""Routing benchmark: assignments per second and decision latency, beside a naive scan.

1,000 agents and 10,000 waiting contacts of mixed channels, skills, levels and
languages. Each assignment is one decision plus the atomic capacity reservation
on the queue backend (in memory, then on Redis). The naive baseline scans every
agent for every contact and sorts the eligible ones, in the same run. A second
part simulates a shift of equally skilled agents and reports how evenly work
and idle time are spread.

    python -m bench.routing [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid

from redis.asyncio import Redis

from hub.app import channel_registry
from hub.queue import ContactQueue, MemoryQueue, RedisQueue, WaitingContact
from routing.engine import plan
from routing.matching import AgentState, Matcher, RoutingPolicy, why_not

SKILLS = ["billing", "cards", "loans", "tech", "fraud", "mortgage", "savings", "travel"]
CHANNELS = ["chat", "email", "sms", "voice"]
NOW = 1_000_000.0
CHANNEL_TRAITS = channel_registry()
BATCH = 200  # contacts decided per round trip, as in one routing pass


def make_agents(count: int, rng: random.Random) -> list[AgentState]:
    return [
        AgentState(
            agent_id=i,
            skills={s: rng.randint(1, 10) for s in rng.sample(SKILLS, 3)},
            languages=frozenset(["en"] + (["es"] if rng.random() < 0.2 else [])),
            capacities={"chat": 3, "email": 5, "sms": 5, "voice": 1},
            idle_since=NOW - rng.uniform(0, 3600),
            channels=CHANNEL_TRAITS,
        )
        for i in range(1, count + 1)
    ]


def make_contacts(count: int, rng: random.Random) -> list[WaitingContact]:
    return [
        WaitingContact(
            conversation_id=i,
            channel=rng.choices(CHANNELS, weights=[5, 3, 3, 1])[0],
            required_skill=rng.choice(SKILLS),
            priority=rng.choice([0, 0, 0, 5]),
            enqueued_at=NOW - rng.uniform(0, 50),
            customer_id=i,
            language="es" if rng.random() < 0.05 else "en",
            min_level=rng.randint(1, 7),
        )
        for i in range(1, count + 1)
    ]


def fresh(agents: list[AgentState]) -> list[AgentState]:
    return [
        AgentState(
            a.agent_id,
            dict(a.skills),
            a.languages,
            dict(a.capacities),
            {},
            a.idle_since,
            channels=CHANNEL_TRAITS,
        )
        for a in agents
    ]


async def engine_run(
    agents: list[AgentState],
    contacts: list[WaitingContact],
    queue: ContactQueue,
    batch: int = BATCH,
) -> tuple[int, float, list[float]]:
    """What one routing pass does: decide in priority order, then reserve in one batch."""
    await queue.reset(contacts, {})
    ordered = await queue.waiting(limit=len(contacts))
    matcher = Matcher(fresh(agents), RoutingPolicy(), NOW)
    latencies: list[float] = []
    assigned = 0
    started = time.perf_counter()
    for first in range(0, len(ordered), batch):
        chunk = ordered[first : first + batch]
        begin = time.perf_counter()
        decided = plan(matcher, chunk, {})
        reservations = [
            (
                c.conversation_id,
                d.agent_id,
                c.channel,
                matcher.agents[d.agent_id].capacity(c.channel),
            )
            for c, d in decided
            if d.agent_id is not None
        ]
        assigned += sum(await queue.reserve_many(reservations))
        per_contact = (time.perf_counter() - begin) / len(chunk)
        latencies.extend([per_contact] * len(chunk))
    return assigned, time.perf_counter() - started, latencies


def naive_run(
    agents: list[AgentState], contacts: list[WaitingContact]
) -> tuple[int, float, list[float]]:
    """Every contact scans every agent, keeps the eligible and sorts them."""
    pool = fresh(agents)
    policy = RoutingPolicy()
    ordered = sorted(contacts, key=lambda c: (c.score, c.conversation_id))
    latencies: list[float] = []
    assigned = 0
    started = time.perf_counter()
    for contact in ordered:
        begin = time.perf_counter()
        level = policy.required_level(contact, policy.step(NOW - contact.enqueued_at))
        skill = contact.required_skill or ""
        eligible = [a for a in pool if why_not(contact, a, level) is None]
        if eligible:
            best = min(eligible, key=lambda a: (-a.skills.get(skill, 0), a.idle_since, a.agent_id))
            best.load[contact.channel] = best.load.get(contact.channel, 0) + 1
            best.idle_since = NOW
            assigned += 1
        latencies.append(time.perf_counter() - begin)
    return assigned, time.perf_counter() - started, latencies


def fairness(rng: random.Random, agents: int = 50, minutes: int = 480) -> dict[str, float]:
    """A simulated shift: equally skilled agents, Poisson arrivals, random handle times."""
    pool = [
        AgentState(
            i, {"support": 5}, frozenset(["en"]), {"chat": 1}, {}, 0.0, channels=CHANNEL_TRAITS
        )
        for i in range(1, agents + 1)
    ]
    busy_until: dict[int, float] = {}
    idle_total = {a.agent_id: 0.0 for a in pool}
    counts = {a.agent_id: 0 for a in pool}
    waiting: list[WaitingContact] = []
    next_id = 0
    for second in range(0, minutes * 60, 5):
        now = float(second)
        for agent in pool:
            if agent.agent_id in busy_until and busy_until[agent.agent_id] <= now:
                del busy_until[agent.agent_id]
                agent.load = {}
            if agent.agent_id not in busy_until:
                idle_total[agent.agent_id] += 5
        for _ in range(_poisson(rng, agents * 5 / 240 * 0.85)):
            next_id += 1
            waiting.append(WaitingContact(next_id, "chat", "support", 0, now, customer_id=next_id))
        matcher = Matcher(pool, RoutingPolicy(), now)
        still = []
        for contact in waiting:
            decision = matcher.choose(contact)
            if decision.agent_id is None:
                still.append(contact)
                continue
            matcher.assigned(decision.agent_id, "chat")
            counts[decision.agent_id] += 1
            busy_until[decision.agent_id] = now + rng.expovariate(1 / 240)
        waiting = still
    per_agent = list(counts.values())
    idle = [v / 60 for v in idle_total.values()]
    return {
        "assignments min": min(per_agent),
        "assignments max": max(per_agent),
        "assignments stdev": statistics.pstdev(per_agent),
        "idle minutes min": min(idle),
        "idle minutes max": max(idle),
        "idle minutes stdev": statistics.pstdev(idle),
    }


def _poisson(rng: random.Random, mean: float) -> int:
    count, limit, product = 0, pow(2.718281828459045, -mean), rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _row(name: str, assigned: int, seconds: float, latencies: list[float], base: float) -> str:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[int(len(ordered) * 0.99)] * 1000
    rate = assigned / seconds
    return f"{name:<28}{assigned:>9}{rate:>14,.0f}{p50:>10.3f}{p99:>10.3f}{rate / base:>10.1f}x"


async def run(redis_url: str | None, agents_count: int, contacts_count: int) -> None:
    rng = random.Random(42)
    agents = make_agents(agents_count, rng)
    contacts = make_contacts(contacts_count, rng)
    print(f"routing: {agents_count} agents, {contacts_count} waiting contacts")
    print(
        f"{'method':<28}{'assigned':>9}{'assign/s':>14}{'p50 ms':>10}{'p99 ms':>10}{'vs naive':>11}"
    )
    naive = naive_run(agents, contacts)
    base = naive[0] / naive[1]
    print(_row("naive scan (memory)", *naive, base))
    print(_row("engine, memory queue", *await engine_run(agents, contacts, MemoryQueue()), base))
    if redis_url:
        redis = Redis.from_url(redis_url)
        prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        try:
            result = await engine_run(agents, contacts, RedisQueue(redis, prefix))
            print(_row("engine, Redis queue", *result, base))
        finally:
            keys = [k async for k in redis.scan_iter(match=prefix + "*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    print("\nfairness: 50 equally skilled agents, one 8-hour shift at 85% load")
    for name, value in fairness(random.Random(1)).items():
        print(f"  {name:<22}{value:>8.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="'' to skip Redis")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=10_000)
    args = parser.parse_args(argv)
    asyncio.run(run(args.redis or None, args.agents, args.contacts))


if __name__ == "__main__":
    main()
