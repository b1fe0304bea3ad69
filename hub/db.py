"""The database engine and session factory for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

Sessions = async_sessionmaker[AsyncSession]


def open_engine(url: str, timeout: float | None = None) -> AsyncEngine:
    """Create an engine; SQLite gets WAL, a busy timeout and one connection, so writers queue.

    `timeout` (seconds) bounds PostgreSQL's connecting, each statement and the wait for a
    pooled connection, so a database that froze fails calls instead of hanging them.
    """
    if url.startswith("sqlite"):
        # One connection: concurrent sessions wait their turn in the pool. With several,
        # a burst of writers stalled the event loop for the whole busy timeout and then
        # failed with "database is locked" (tests/hub/test_intake.py, bench/intake.py).
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if timeout is None:
        return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_timeout=timeout,
        connect_args={"timeout": timeout, "command_timeout": timeout},
    )


def session_factory(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
