"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from hub.db import open_engine
from hub.fulltext import include_name
from hub.migrate import upgrade
from hub.models import Base
from tests.conftest import empty_database


def _differences(connection: Connection) -> list[object]:
    # The full-text search index is built by its migration, outside the models.
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, Base.metadata))


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_migrations_match_the_models(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        await empty_database(url)
    engine = open_engine(url)
    try:
        await upgrade(engine)
        await upgrade(engine)  # running again is harmless
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()
