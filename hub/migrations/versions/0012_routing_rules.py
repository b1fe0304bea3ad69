"""routing: requirements from keyword and segment rules, kept with the conversation

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("min_level", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("routing_rules", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("rules", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_column("rules")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("routing_rules")
        batch.drop_column("min_level")
