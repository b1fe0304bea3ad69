"""Scale benchmark: one and two `switchboard serve` processes behind HAProxy.

The hubs run as separate OS processes on one PostgreSQL database and one Redis (a
scratch database and key prefix, dropped afterwards), behind the load balancer of
docker-compose.yml (deploy/haproxy.cfg, Debian's haproxy). A client process sends
Twilio-signed SMS webhooks to the balancer's public URL, as Twilio would. The same run
measures bare aiohttp processes (they read the form and answer empty TwiML, storing
nothing) behind the same balancer: the ceiling the balancer, aiohttp and this machine
set. For each count of processes it prints contacts per second, the ratio to bare, and
the hub processes' CPU per stored contact (from /proc, over everything they did while
the traffic ran, routing included).

    python -m bench.scale [--seconds 5] [--clients 32] [--postgres URL] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from aiohttp import web

from bench._scratch import scratch_database, scratch_prefix
from bench.channels import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, Target, bare_app, drive
from bench.console import POSTGRES, REDIS
from hub.db import open_engine
from hub.migrate import upgrade
from tests.servers import balancer, free_port, healthy, serve, stop

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Result:
    server: str
    processes: int
    sent: int
    failed: int
    seconds: float
    cpu_per_contact_ms: float | None = None

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes have used so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


@contextmanager
def balanced(hubs: list[tuple[int, int]], folder: Path) -> Iterator[str]:
    """The balancer in front of hubs given as (HTTP port, SMTP port); yields its URL."""
    http = free_port()
    process = balancer(
        f"127.0.0.1:{http}",
        f"127.0.0.1:{free_port()}",
        [(f"127.0.0.1:{h}", f"127.0.0.1:{s}") for h, s in hubs],
        folder / "balancer.log",
    )
    try:
        asyncio.run(healthy(http, limit=30))  # answered through the balancer
        yield f"http://127.0.0.1:{http}"
    finally:
        stop([process])


def bare_server(port: int) -> None:
    """A bare aiohttp process: the SMS webhook's shape, nothing stored (--bare PORT)."""
    app = bare_app()

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def measure(server: str, url: str, pids: list[int], args: argparse.Namespace) -> Result:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        before = cpu_seconds(pids)
        stored_before = asyncio.run(stored(args.database)) if server == "hub" else 0
        ok, failed, seconds = pool.submit(
            drive, "sms", Target(url, 0), args.clients, args.seconds
        ).result()
        spent = cpu_seconds(pids) - before
        cpu = None
        if server == "hub":
            contacts = asyncio.run(stored(args.database)) - stored_before
            cpu = 1000 * spent / contacts if contacts else None
    return Result(server, len(pids), ok, failed, seconds, cpu)


async def stored(database: str) -> int:
    connection = await asyncpg.connect(database.replace("+asyncpg", ""))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM messages"))
    finally:
        await connection.close()


def run_bare(processes: int, folder: Path, args: argparse.Namespace) -> Result:
    ports = [free_port() for _ in range(processes)]
    servers = [
        subprocess.Popen([sys.executable, "-m", "bench.scale", "--bare", str(port)])
        for port in ports
    ]
    try:
        for port in ports:
            asyncio.run(healthy(port, limit=30))
        with balanced([(port, free_port()) for port in ports], folder) as url:
            return measure("bare aiohttp", url, [s.pid for s in servers], args)
    finally:
        stop(servers)


def run_hubs(processes: int, folder: Path, args: argparse.Namespace) -> Result:
    hubs = [(free_port(), free_port()) for _ in range(processes)]
    settings = {
        "SWITCHBOARD_DATABASE_URL": args.database,
        "SWITCHBOARD_REDIS_URL": args.redis,
        "SWITCHBOARD_REDIS_PREFIX": args.prefix,
        "SWITCHBOARD_SECRET_KEY": "bench-scale-secret",
        "SWITCHBOARD_PUBLIC_URL": PUBLIC_URL,
        "SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SWITCHBOARD_TRUSTED_PROXIES": "127.0.0.1",
        "SWITCHBOARD_KNOWLEDGE_EMBEDDINGS": "false",
        "SWITCHBOARD_MIGRATE_ON_START": "false",
    }
    running = [
        serve(
            {**settings, "SWITCHBOARD_PORT": str(http), "SWITCHBOARD_SMTP_PORT": str(smtp)},
            folder / f"hub-{http}.log",
        )
        for http, smtp in hubs
    ]
    try:
        for http, _smtp in hubs:
            asyncio.run(healthy(http))
        with balanced(hubs, folder) as url:
            return measure("hub", url, [p.pid for p in running], args)
    finally:
        stop(running)


@asynccontextmanager
async def scratch(postgres: str, redis_url: str) -> AsyncIterator[tuple[str, str]]:
    async with scratch_database(postgres) as url, scratch_prefix(redis_url) as prefix:
        engine = open_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        yield url, prefix


def report(results: list[Result], args: argparse.Namespace) -> None:
    bare = {r.processes: r.rate for r in results if r.server != "hub"}
    one = next(r.cpu_per_contact_ms for r in results if r.server == "hub" and r.processes == 1)
    print(
        f"\nSMS webhooks through HAProxy, {args.clients} clients, {args.seconds:g} s each,"
        " PostgreSQL + Redis"
    )
    print(
        f"{'server':<14}{'processes':>10}{'per s':>10}{'failed':>8}{'vs bare':>9}"
        f"{'CPU ms/contact':>16}{'vs 1 process':>14}"
    )
    for r in results:
        ratio = f"{r.rate / bare[r.processes]:.3f}x" if r.server == "hub" else ""
        cpu = f"{r.cpu_per_contact_ms:.2f}" if r.cpu_per_contact_ms else ""
        grows = f"{r.cpu_per_contact_ms / one:.2f}x" if r.cpu_per_contact_ms and one else ""
        print(
            f"{r.server:<14}{r.processes:>10}{r.rate:>10.0f}{r.failed:>8}{ratio:>9}"
            f"{cpu:>16}{grows:>14}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--bare", type=int, help=argparse.SUPPRESS)  # a bare server's port
    args = parser.parse_args(argv)
    if args.bare:
        bare_server(args.bare)
        return

    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        for processes in (1, 2):
            results.append(run_bare(processes, Path(folder), args))

            async def hubs_on_scratch(count: int = processes) -> Result:
                async with scratch(args.postgres, args.redis) as (url, prefix):
                    args.database, args.prefix = url, prefix
                    return await asyncio.to_thread(run_hubs, count, Path(folder), args)

            results.append(asyncio.run(hubs_on_scratch()))
    report(results, args)


if __name__ == "__main__":
    main()
