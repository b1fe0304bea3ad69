"""The database as the `switchboard` command uses it: one, named by SWITCHBOARD_DATABASE_URL.

Commands that add data (`migrate`, `agent add`, `kb import`, `customers import`, `queue
set`) create the database or bring its schema up to date. Commands that read or change
what is there already (`report voc`, `queue list`, `customers dedupe|merge|unmerge`)
never create one: a missing database, or one without the current schema, is a one-line
error saying which database it is and what to run.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db import open_engine

__all__ = ["DatabaseError", "describe", "on_database"]

T = TypeVar("T")
DRIVERS = ("asyncpg", "aiosqlite", "sqlite3")
TO_START = "run `switchboard demo` for demo data or `switchboard migrate` for an empty hub"


class DatabaseError(ValueError):
    """The database cannot be used as asked; the message says which one and what to do."""


def describe(url: str) -> str:
    """The database as an operator knows it: a SQLite file's path, else the URL sans password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return repr(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database or ":memory:")
    return parsed.render_as_string(hide_password=True)


def on_database(url: str, work: Callable[[AsyncEngine], Awaitable[T]], *, create: bool) -> T:
    """Run `work` on the database at `url`: created or migrated first if `create`, else
    required to exist at the current schema. Problems come back as `DatabaseError`."""
    try:
        _require_file(url, create)
        return asyncio.run(_run(url, work, create))
    except ArgumentError as exc:
        raise DatabaseError(f"SWITCHBOARD_DATABASE_URL {url!r} cannot be used: {exc}") from None
    except DBAPIError as exc:
        reason = _first_line(exc.orig if exc.orig else exc)
        raise DatabaseError(f"cannot use the database {describe(url)}: {reason}") from None
    except (ConnectionError, socket.gaierror) as exc:
        raise DatabaseError(f"cannot reach the database {describe(url)}: {exc}") from None
    except Exception as exc:
        # The driver's own refusals on connecting (asyncpg: no such database, wrong
        # password) come through unwrapped.
        if type(exc).__module__.split(".")[0] not in DRIVERS:
            raise
        raise DatabaseError(
            f"cannot use the database {describe(url)}: {_first_line(exc)}"
        ) from None


async def _run(url: str, work: Callable[[AsyncEngine], Awaitable[T]], create: bool) -> T:
    engine = open_engine(url)
    try:
        if create:
            from hub.migrate import upgrade

            await upgrade(engine)
            return await work(engine)
        revision = await _revision(engine)
        if revision is None:
            where = describe(url)
            raise DatabaseError(f"the database {where} has no Switchboard tables: {TO_START}")
        try:
            return await work(engine)
        except DBAPIError:
            _require_head(url, revision)  # an older schema explains the failure best
            raise
    finally:
        await engine.dispose()


async def _revision(engine: AsyncEngine) -> str | None:
    """The schema revision the database records, read without loading Alembic (a
    read command then starts faster); None when it has no Switchboard tables."""

    def read(connection: Connection) -> str | None:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return str(found) if found else None

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def _require_file(url: str, create: bool) -> None:
    """Opening a SQLite file that is not there would create it, empty: only if `create`,
    and then in a folder that exists (the driver's own failure leaves a page of noise)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if parsed.query.get("uri") or path.exists():
        return
    if not create:
        raise DatabaseError(f"no database at {path}: {TO_START}")
    if not path.parent.is_dir():
        raise DatabaseError(f"cannot create the database {path}: no folder {path.parent}")


def _require_head(url: str, revision: str) -> None:
    from hub.migrate import head_revision

    head = head_revision()
    if revision != head:
        raise DatabaseError(
            f"the database {describe(url)} is at schema {revision}, not {head}:"
            " run `switchboard migrate` first"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
