"""Alembic environment: runs on the connection hub.migrate hands it."""

from alembic import context

from hub.fulltext import include_name
from hub.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    include_name=include_name,  # the full-text index lives outside the models
)
with context.begin_transaction():
    context.run_migrations()
