"""Private Redis and PostgreSQL servers a fault test may stop, freeze, flush and restart,
and hub processes (`switchboard serve`) to run on them.

Never the machine's shared servers: each one here listens on a free port, keeps its data
in a temporary folder and is gone when the test ends.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(settings: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`switchboard serve` as its own OS process, configured by `settings` alone (the
    SWITCHBOARD_ variables of the test's own environment are left out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    with open(log, "ab") as output:  # the process has its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve"],
            env={**env, **settings},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
        )


def stop(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Ask each process to end, and kill the ones still there after ten seconds."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def balancer(
    http: str, smtp: str, hubs: list[tuple[str, str]], log: Path
) -> subprocess.Popen[bytes]:
    """HAProxy with deploy/haproxy.cfg, as docker-compose.yml runs it: the public HTTP and
    SMTP addresses in front of two hubs, each given as (HTTP address, SMTP address). One
    hub is both servers of the configuration's pair."""
    if len(hubs) == 1:
        hubs = hubs * 2
    env = {**os.environ, "BALANCER_HTTP": http, "BALANCER_SMTP": smtp}
    for number, (hub_http, hub_smtp) in enumerate(hubs, start=1):
        env[f"HUB{number}_HTTP"], env[f"HUB{number}_SMTP"] = hub_http, hub_smtp
    config = Path(__file__).resolve().parents[1] / "deploy" / "haproxy.cfg"
    with open(log, "ab") as output:
        return subprocess.Popen(
            ["haproxy", "-W", "-db", "-f", str(config)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
        )


async def healthy(port: int, limit: float = 60.0) -> None:
    """Wait until the hub on `port` answers /healthz with 200."""
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"hub on {port} never became healthy")


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class PrivateRedis:
    """A redis-server of our own: stop it, freeze it, restart it from its last snapshot."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port)

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return done.stdout.decode().strip()

    def snapshot(self) -> Path:
        """Save now (as a periodic save would); a copy of the file, to restart from later."""
        self.cli("SAVE")
        copy = self.folder / f"snapshot-{time.monotonic_ns()}.rdb"
        shutil.copy(self.folder / "dump.rdb", copy)
        return copy

    def shutdown(self, save: bool = True) -> None:
        self.cli("SHUTDOWN", "SAVE" if save else "NOSAVE")
        self._reap()

    def restart_from(self, snapshot: Path) -> None:
        """Stop without saving and come back with an older snapshot's data."""
        self.shutdown(save=False)
        shutil.copy(snapshot, self.folder / "dump.rdb")
        self.start()

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self._reap()

    def _reap(self) -> None:
        if self.process is not None:
            self.process.wait(timeout=30)
            self.process = None


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise FileNotFoundError(f"PostgreSQL's {name} is not installed")
    return found[-1]


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb on a free port): stop it hard and start it."""

    def __init__(self) -> None:
        # A folder of its own under the system's temporary folder: run as root, the
        # cluster runs as the postgres user, who cannot reach into pytest's folders.
        self.folder = Path(tempfile.mkdtemp(prefix="switchboard-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as_owner: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.folder, "postgres")
            self._as_owner = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._run(
            _postgres_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _postgres_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        """Stop the cluster if it runs, and delete it."""
        if self.running():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, *command: str) -> None:
        subprocess.run(
            [*self._as_owner, *command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
