"""Throwaway storage for a benchmark run: a PostgreSQL database and a Redis key prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from redis.asyncio import Redis


@asynccontextmanager
async def scratch_database(postgres: str) -> AsyncIterator[str]:
    """A fresh database next to `postgres` (a postgresql:// URL), dropped afterwards;
    yields its SQLAlchemy (asyncpg) URL."""
    name = f"switchboard_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _admin(postgres, f'CREATE DATABASE "{name}"')
    base = postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        await _admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_prefix(redis_url: str) -> AsyncIterator[str]:
    """A Redis key prefix of the run's own; its keys are deleted afterwards."""
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    try:
        yield prefix
    finally:
        redis = Redis.from_url(redis_url)
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def _admin(postgres: str, statement: str) -> None:
    admin = await asyncpg.connect(postgres)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()
