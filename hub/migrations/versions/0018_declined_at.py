"""routing: when a waiting contact was last declined, so it may come back after a cool-down

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("declined_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_column("declined_at")
