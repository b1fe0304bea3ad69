"""messages: full-text search (a GIN index on PostgreSQL, an FTS5 table on SQLite)

Revision ID: 0017
Revises: 0016
"""

from alembic import op

from hub.fulltext import create_statements, drop_statements

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
