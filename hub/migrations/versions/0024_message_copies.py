"""messages: the CC and BCC addresses an agent's email also went to

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("cc", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("bcc", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("bcc")
        batch.drop_column("cc")
