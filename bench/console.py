"""Console fan-out benchmark: a customer's chat message to the assigned agent's socket, p50/p99.

One hub process (the real app, on a loopback port) holds N agent console sockets
(default 1,000) and 50 supervisor sockets; each agent already holds one chat
conversation, set up through the database models, `Intake.accept` and the
OfferBook reserve/offer/accept flow. Customers on real /chat/ws websockets then
write at a fixed rate (default 200 messages/s), round-robin over the conversations,
and we time each message from the customer's send to the `message.received` event
on the assigned agent's socket. Every such event also goes to all 50 supervisors.

The baseline, in the same run and driven by the same client code, is a bare aiohttp
server speaking the same frames: it parses the customer's JSON, acks it and sends
an event of the same shape to the agent's socket and the 50 supervisor sockets,
with no storage, routing or bus. Clients run in two processes of their own (agents
and customers in one, supervisors in the other), so they do not share the hub's core.

    python -m bench.console [--agents 1000] [--supervisors 50] [--rate 200] [--seconds 15]
                            [--backend sqlite|redis] [--postgres URL] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from sqlalchemy import update

from agent_console.keys import OFFERS
from bench._scratch import scratch_database, scratch_prefix
from channels.webchat import DEFAULT_INBOX, VisitorTokens
from hub.app import create_app, freeze_at_start
from hub.auth import COOKIE_NAME, hash_password
from hub.contacts import InboundContact
from hub.keys import AGENT_SESSIONS, INTAKE, QUEUE, SESSIONS, SETTINGS
from hub.models import Agent
from hub.settings import Settings

POSTGRES = os.environ.get("SWITCHBOARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("SWITCHBOARD_TEST_REDIS", "redis://127.0.0.1:6379/0")
WARMUP = 2.0  # seconds of traffic before timing starts
DRAIN = 2.0  # seconds to wait for the last events after sending stops
CONNECT_AT_ONCE = 100
TEXT = "Hello, my parcel has not arrived yet; the tracking page says it left the depot."
TARGET_P99_MS = 100.0


@dataclass(frozen=True)
class Plan:
    """What the client processes connect to and who holds which conversation."""

    agent_urls: list[str]
    agent_headers: list[dict[str, str]]
    supervisor_urls: list[str]
    supervisor_headers: list[dict[str, str]]
    chat_urls: list[str]
    customers: list[tuple[str, int, int]]  # (chat token, conversation id, agent index)
    rate: float
    seconds: float


@dataclass
class Result:
    name: str
    sent: int = 0
    received: int = 0
    misrouted: int = 0
    supervisor_events: int = 0
    server_cpu_seconds: float = 0.0  # CPU the serving process spent while the clients ran
    latencies_ms: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raise_open_files() -> None:
    """Two sockets per connection on loopback: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the clients, in processes of their own ----------------------------------------


def drive(plan: Plan, supervisors_ready: Any, done: Any) -> Result:
    raise_open_files()
    return asyncio.run(_drive(plan, supervisors_ready, done))


def watch(plan: Plan, supervisors_ready: Any, done: Any) -> int:
    raise_open_files()
    return asyncio.run(_watch(plan, supervisors_ready, done))


Socket = aiohttp.ClientWebSocketResponse


async def _in_batches(
    calls: list[Callable[[], Awaitable[Socket]]],
    read: Callable[[int, Socket], Coroutine[Any, Any, None]],
) -> tuple[list[Socket], list[asyncio.Task[Any]]]:
    """Open sockets CONNECT_AT_ONCE at a time and read each as soon as it is open.

    On a loaded machine connecting a thousand sockets takes minutes: one left unread
    meanwhile answers none of the hub's heartbeat pings and is closed under the client.
    """
    readers: list[asyncio.Task[Any]] = []

    async def open_and_read(index: int, call: Callable[[], Awaitable[Socket]]) -> Socket:
        ws = await call()
        readers.append(asyncio.create_task(read(index, ws)))
        return ws

    sockets: list[Socket] = []
    for start in range(0, len(calls), CONNECT_AT_ONCE):
        batch = calls[start : start + CONNECT_AT_ONCE]
        sockets += await asyncio.gather(
            *(open_and_read(start + i, call) for i, call in enumerate(batch))
        )
    return sockets, readers


async def _open(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(url, headers=headers, heartbeat=None, max_msg_size=0)
    hello = await ws.receive_json(timeout=30)
    assert hello["type"] == "hello", hello
    return ws


async def _watch(plan: Plan, supervisors_ready: Any, done: Any) -> int:
    """Supervisors: connect, say so, then read every event until the run is over."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        counted = [0]

        async def read(_index: int, ws: Socket) -> None:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    counted[0] += 1

        sockets, readers = await _in_batches(
            [
                lambda u=u, h=h: _open(http, u, h)
                for u, h in zip(plan.supervisor_urls, plan.supervisor_headers, strict=True)
            ],
            read,
        )
        supervisors_ready.set()
        await asyncio.to_thread(done.wait)
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*readers, return_exceptions=True)
        return counted[0]


async def _drive(plan: Plan, supervisors_ready: Any, done: Any) -> Result:
    """Agents and customers: send at the planned rate, time each event to its agent."""
    result = Result("")
    # conversation -> (sent, counted) of its messages in flight, oldest first
    sent_at: dict[int, deque[tuple[float, bool]]] = defaultdict(deque)
    holder = {conversation: agent for _token, conversation, agent in plan.customers}
    timing = [False]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def read_agent(index: int, ws: Socket) -> None:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                now = time.perf_counter()
                event = json.loads(frame.data)
                if event.get("type") != "message.received":
                    continue
                conversation = event.get("conversation_id")
                in_flight = sent_at.get(conversation)
                started, counted = in_flight.popleft() if in_flight else (0.0, False)
                if holder.get(conversation) != index:
                    result.misrouted += 1
                elif counted:
                    result.received += 1
                    result.latencies_ms.append((now - started) * 1000)

        agents, agent_readers = await _in_batches(
            [
                lambda u=u, h=h: _open(http, u, h)
                for u, h in zip(plan.agent_urls, plan.agent_headers, strict=True)
            ],
            read_agent,
        )

        async def open_customer(url: str, token: str) -> aiohttp.ClientWebSocketResponse:
            ws = await http.ws_connect(url, heartbeat=None)
            await ws.send_json({"type": "hello", "token": token, "name": "Bench customer"})
            welcome = await ws.receive_json(timeout=30)
            while welcome["type"] == "presence":  # may come first: agents online or not
                welcome = await ws.receive_json(timeout=30)
            assert welcome["type"] == "welcome", welcome
            return ws

        async def drain_customer(_index: int, ws: Socket) -> None:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT and '"error"' in frame.data:
                    raise RuntimeError(frame.data)

        customers, customer_readers = await _in_batches(
            [
                lambda u=u, t=t: open_customer(u, t)
                for u, (t, _c, _a) in zip(plan.chat_urls, plan.customers, strict=True)
            ],
            drain_customer,
        )
        await asyncio.to_thread(supervisors_ready.wait)
        progress(f"{len(agents)} agents, {len(customers)} customers connected; sending")

        start = time.perf_counter()
        total = int((WARMUP + plan.seconds) * plan.rate)
        for n in range(total):
            delay = start + n / plan.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not timing[0] and n >= WARMUP * plan.rate:
                timing[0] = True
            index = n % len(customers)
            conversation = plan.customers[index][1]
            frame = json.dumps({"type": "message", "id": uuid.uuid4().hex, "text": TEXT})
            sent_at[conversation].append((time.perf_counter(), timing[0]))
            await customers[index].send_str(frame)
            if timing[0]:
                result.sent += 1
        await asyncio.sleep(DRAIN)
        done.set()
        for ws in customers + agents:
            await ws.close()
        await asyncio.gather(*agent_readers, *customer_readers, return_exceptions=True)
    return result


async def measure(name: str, plan: Plan) -> Result:
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(2, mp_context=spawn) as pool:
        ready, done = manager.Event(), manager.Event()
        loop = asyncio.get_running_loop()
        before = time.process_time()
        watching = loop.run_in_executor(pool, watch, plan, ready, done)
        try:
            result: Result = await loop.run_in_executor(pool, drive, plan, ready, done)
        finally:
            # Even when driving failed: let the supervisors close while this loop still
            # serves them, rather than leaving the pool's shutdown to wait on them.
            done.set()
            supervisor_events = await watching
        result.supervisor_events = supervisor_events
        result.server_cpu_seconds = time.process_time() - before
    result.name = name
    return result


# --- the baseline: bare aiohttp, the same frames, no hub ----------------------------------


@asynccontextmanager
async def listening(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"ws://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def bare_app(supervisors: int) -> web.Application:
    agents: dict[int, web.WebSocketResponse] = {}
    watchers: list[web.WebSocketResponse] = []
    hello = json.dumps({"type": "hello"})

    async def agent(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        index = int(request.match_info["index"])
        agents[index] = ws
        await ws.send_str(hello)
        async for _frame in ws:
            pass
        return ws

    async def supervisor(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        watchers.append(ws)
        await ws.send_str(hello)
        async for _frame in ws:
            pass
        return ws

    async def chat(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conversation = int(request.match_info["conversation"])
        index = int(request.match_info["index"])
        counter = 0
        async for frame in ws:
            data = json.loads(frame.data)
            if data["type"] == "hello":
                await ws.send_json({"type": "welcome", "token": "", "messages": []})
                continue
            counter += 1
            await ws.send_json({"type": "ack", "id": data["id"], "message_id": counter})
            event = json.dumps(
                {
                    "type": "message.received",
                    "ts": time.time(),
                    "message_id": counter,
                    "agent_id": index,
                    "conversation_id": conversation,
                    "customer_id": conversation,
                    "channel": "chat",
                }
            )
            for target in [agents[index], *watchers]:
                await target.send_str(event)
        return ws

    app = web.Application()
    app.router.add_get("/agent/{index}", agent)
    app.router.add_get("/supervisor", supervisor)
    app.router.add_get("/chat/{conversation}/{index}", chat)
    return app


async def run_bare(agents: int, supervisors: int, rate: float, seconds: float) -> Result:
    async with listening(bare_app(supervisors)) as base:
        plan = Plan(
            agent_urls=[f"{base}/agent/{i}" for i in range(agents)],
            agent_headers=[{}] * agents,
            supervisor_urls=[f"{base}/supervisor"] * supervisors,
            supervisor_headers=[{}] * supervisors,
            chat_urls=[f"{base}/chat/{i + 1}/{i}" for i in range(agents)],
            customers=[("", i + 1, i) for i in range(agents)],
            rate=rate,
            seconds=seconds,
        )
        return await measure("bare aiohttp ws fan-out", plan)


# --- the hub ------------------------------------------------------------------------


@asynccontextmanager
async def hub_settings(backend: str, postgres: str, redis_url: str) -> AsyncIterator[Settings]:
    with tempfile.TemporaryDirectory() as folder:
        common: dict[str, Any] = {
            "secret_key": "bench-" + uuid.uuid4().hex,
            "knowledge_embeddings": False,
            "smtp_port": 0,
            "attachments_dir": str(Path(folder) / "attachments"),
            # Every simulated customer comes from this one address, far faster than people.
            "chat_visitor_messages": 0,
            "chat_address_messages": 0,
            "chat_address_visitors": 0,
        }
        if backend == "sqlite":
            yield Settings.from_env(
                {}, database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", **common
            )
            return
        async with scratch_database(postgres) as url, scratch_prefix(redis_url) as prefix:
            yield Settings.from_env(
                {}, database_url=url, redis_url=redis_url, redis_prefix=prefix, **common
            )


async def staff(app: web.Application, agents: int, supervisors: int) -> tuple[list[int], list[int]]:
    """Agents (offline while work is handed out, so the router stays out) and supervisors."""
    password = hash_password(uuid.uuid4().hex)  # nobody signs in by password here
    async with app[SESSIONS]() as session, session.begin():
        rows = [
            Agent(username=f"agent{i}", display_name=f"Agent {i}", password_hash=password)
            for i in range(agents)
        ] + [
            Agent(
                username=f"supervisor{i}",
                display_name=f"Supervisor {i}",
                password_hash=password,
                role="supervisor",
            )
            for i in range(supervisors)
        ]
        for row in rows:
            row.status, row.languages, row.capacities = "offline", ["en"], {"chat": 3}
        session.add_all(rows)
        await session.flush()
        ids = [row.id for row in rows]
    return ids[:agents], ids[agents:]


async def hand_out(app: web.Application, agent_ids: list[int]) -> list[tuple[str, int, int]]:
    """One chat per agent: the customer's first message through intake, then offer and accept."""
    tokens = VisitorTokens(app[SETTINGS].secret_key)
    intake, queue, offers = app[INTAKE], app[QUEUE], app[OFFERS]
    customers: list[tuple[str, int, int]] = []
    for index in range(len(agent_ids)):
        visitor, token = tokens.issue()
        accepted = await intake.accept(
            InboundContact(
                channel="chat",
                inbox=DEFAULT_INBOX,
                external_id=f"{visitor}:first",
                sender=visitor,
                sender_name=f"Customer {index}",
                text="Hello, I need some help with my order.",
            )
        )
        customers.append((token, accepted.conversation_id, index))
    waiting = {w.conversation_id: w for w in await queue.waiting(limit=len(agent_ids) + 100)}

    async def assign(token: str, conversation_id: int, index: int) -> None:
        agent_id = agent_ids[index]
        contact = waiting[conversation_id]
        assert await queue.reserve(conversation_id, agent_id, "chat", 3)
        offer = await offers.create(contact, agent_id, {"reason": "bench set-up"})
        assert offer is not None
        assert await offers.accept(offer.offer_id, agent_id) == conversation_id

    for start in range(0, len(customers), CONNECT_AT_ONCE):
        await asyncio.gather(*(assign(*c) for c in customers[start : start + CONNECT_AT_ONCE]))
    async with app[SESSIONS]() as session, session.begin():
        await session.execute(
            update(Agent).where(Agent.id.in_(agent_ids)).values(status="available")
        )
    return customers


async def run_hub(
    backend: str,
    postgres: str,
    redis_url: str,
    agents: int,
    supervisors: int,
    rate: float,
    seconds: float,
) -> Result:
    async with hub_settings(backend, postgres, redis_url) as settings:
        app = create_app(settings)
        freeze_at_start(app)  # as `switchboard serve` does
        async with listening(app) as base:
            agent_ids, supervisor_ids = await staff(app, agents, supervisors)
            progress(f"hub ({backend}): handing out {agents} conversations")
            customers = await hand_out(app, agent_ids)
            progress("conversations assigned; connecting clients")
            signed_in = app[AGENT_SESSIONS]

            async def cookie(agent_id: int) -> dict[str, str]:
                return {"Cookie": f"{COOKIE_NAME}={await signed_in.start(agent_id)}"}

            plan = Plan(
                agent_urls=[f"{base}/console/ws"] * agents,
                agent_headers=[await cookie(a) for a in agent_ids],
                supervisor_urls=[f"{base}/console/ws"] * supervisors,
                supervisor_headers=[await cookie(s) for s in supervisor_ids],
                chat_urls=[f"{base}/chat/ws"] * agents,
                customers=customers,
                rate=rate,
                seconds=seconds,
            )
            name = "hub: SQLite + memory" if backend == "sqlite" else "hub: PostgreSQL + Redis"
            return await measure(name, plan)


def report(
    results: list[Result], agents: int, supervisors: int, rate: float, seconds: float
) -> None:
    print(
        f"console fan-out: {agents} agent + {supervisors} supervisor sockets, {rate:g} chat"
        f" messages/s for {seconds:g} s (after {WARMUP:g} s warm-up), loopback,"
        f" {os.cpu_count()} CPUs"
    )
    print(
        f"{'path':<28}{'sent':>7}{'received':>10}{'misrouted':>10}{'supervisor ev':>15}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'server CPU s':>14}"
    )
    for r in results:
        print(
            f"{r.name:<28}{r.sent:>7}{r.received:>10}{r.misrouted:>10}{r.supervisor_events:>15}"
            f"{r.percentile(50):>9.1f}{r.percentile(99):>9.1f}"
            f"{max(r.latencies_ms, default=float('nan')):>9.1f}{r.server_cpu_seconds:>14.1f}"
        )
    hub = results[-1]
    verdict = "met" if hub.percentile(99) < TARGET_P99_MS else "MISSED"
    print(
        f"target p99 < {TARGET_P99_MS:g} ms: {verdict}"
        f" (hub mean {statistics.fmean(hub.latencies_ms or [float('nan')]):.1f} ms)"
    )


async def run(args: argparse.Namespace) -> list[Result]:
    progress("baseline: bare aiohttp")
    bare = await run_bare(args.agents, args.supervisors, args.rate, args.seconds)
    hub = await run_hub(
        args.backend,
        args.postgres,
        args.redis,
        args.agents,
        args.supervisors,
        args.rate,
        args.seconds,
    )
    return [bare, hub]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--supervisors", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0, help="chat messages per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="timed traffic")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "redis"),
        default="sqlite",
        help="sqlite: SQLite + in-process queue/bus; redis: PostgreSQL + Redis",
    )
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--redis", default=REDIS)
    args = parser.parse_args(argv)
    raise_open_files()
    results = asyncio.run(run(args))
    report(results, args.agents, args.supervisors, args.rate, args.seconds)


if __name__ == "__main__":
    main()
