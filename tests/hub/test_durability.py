"""A hub killed mid-stream loses nothing it acknowledged, and picks the queue back up."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp
import websockets
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from hub.db import open_engine, session_factory
from hub.models import Message, QueueEntry


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(database: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
        "SWITCHBOARD_DATABASE_URL": database,
        "SWITCHBOARD_SECRET_KEY": "durability-test-secret",
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_SMTP_PORT": "0",
        # What is measured here is durability; loading a sentence model only slows start-up.
        "SWITCHBOARD_KNOWLEDGE_EMBEDDINGS": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_healthy(port: int) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("hub never became healthy")


async def test_kill_minus_nine_loses_no_acknowledged_message(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'durable.db'}"
    port = _free_port()
    process = _start(database, port)
    acked: list[str] = []
    try:
        await _wait_healthy(port)
        async with websockets.connect(f"ws://127.0.0.1:{port}/chat/ws") as ws:
            await ws.send(json.dumps({"type": "hello", "name": "Kim"}))
            welcome = json.loads(await ws.recv())
            assert welcome["type"] == "welcome"
            for index in range(200):
                client_id = uuid.uuid4().hex
                await ws.send(json.dumps({"type": "message", "id": client_id, "text": f"#{index}"}))
                if index == 150:
                    process.send_signal(signal.SIGKILL)
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                except (websockets.ConnectionClosed, TimeoutError):
                    break
                if frame["type"] == "ack":
                    acked.append(client_id)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert 0 < len(acked) < 200

    engine = open_engine(database)
    sessions = session_factory(engine)
    async with sessions() as session:
        stored = set(await session.scalars(select(Message.external_id)))
        waiting = await session.scalar(select(func.count()).select_from(QueueEntry))
    await engine.dispose()
    missing = [c for c in acked if not any(s and s.endswith(":" + c) for s in stored)]
    assert missing == []
    assert waiting == 1

    restarted = _start(database, port)
    try:
        await _wait_healthy(port)
        samples: dict[str, float] = {}
        async with aiohttp.ClientSession() as http:
            for _ in range(50):  # the first routing pass rebuilds the queue from the database
                async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                    samples = _samples(await response.text())
                if samples.get("switchboard_queue_waiting") == 1:
                    break
                await asyncio.sleep(0.1)
        assert samples.get("switchboard_queue_waiting") == 1
        # A served hub keeps what it started with out of full garbage collections.
        assert samples["switchboard_gc_frozen_objects"] > 10_000
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)


def _samples(body: str) -> dict[str, float]:
    """The value of each sample on /metrics by name (one process: its label is the same)."""
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
